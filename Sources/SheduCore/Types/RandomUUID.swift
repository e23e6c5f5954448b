import SheduPKI

/// Random (version 4) UUIDs in the lowercase form ids take on the wire.
public enum RandomUUID {
    /// From the system's generator: Foundation's `UUID()` opens and reads `/dev/urandom` on every
    /// call here, which every event of every write paid for.
    public static func lowercased() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = withUnsafeBytes(of: (generator.next() as UInt64, generator.next() as UInt64)) { Array($0) }
        bytes[6] = bytes[6] & 0x0F | 0x40  // version 4
        bytes[8] = bytes[8] & 0x3F | 0x80  // RFC 9562 variant
        var text = Hex.encode(bytes)
        // 8-4-4-4-12, from the end so that earlier offsets stay put.
        for offset in [20, 16, 12, 8] {
            text.insert("-", at: text.index(text.startIndex, offsetBy: offset))
        }
        return text
    }
}
