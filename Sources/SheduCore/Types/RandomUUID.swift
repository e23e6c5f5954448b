import SheduPKI

/// Random (version 4) UUIDs in the lowercase form ids take on the wire.
public enum RandomUUID {
    /// From ``PublicRandom``: Foundation's `UUID()` opens and reads `/dev/urandom` on every call
    /// here, which every event of every write paid for.
    public static func lowercased() -> String {
        var bytes: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &bytes) { PublicRandom.fill($0) }
        return withUnsafeBytes(of: &bytes) { random in
            String(unsafeUninitializedCapacity: 36) { text in
                var position = 0
                for index in 0..<16 {
                    var byte = random[index]
                    if index == 6 { byte = byte & 0x0F | 0x40 }  // version 4
                    if index == 8 { byte = byte & 0x3F | 0x80 }  // RFC 9562 variant
                    if index == 4 || index == 6 || index == 8 || index == 10 {  // 8-4-4-4-12
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    text[position] = Hex.digits[Int(byte >> 4)]
                    text[position + 1] = Hex.digits[Int(byte & 0x0F)]
                    position += 2
                }
                return position
            }
        }
    }
}
