/// Random (version 4) UUIDs in the lowercase form ids take on the wire.
public enum RandomUUID {
    private static let digits = Array("0123456789abcdef".utf8)

    /// From the system's generator: Foundation's `UUID()` opens and reads `/dev/urandom` on every
    /// call here, which every event of every write paid for.
    public static func lowercased() -> String {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0xC000 << 48)) | (0x8000 << 48)  // RFC 9562 variant
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            func write(_ value: UInt64, nibbles: ClosedRange<Int>) {
                for nibble in nibbles.reversed() {
                    if index == 8 || index == 13 || index == 18 || index == 23 {
                        buffer[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    buffer[index] = digits[Int((value >> UInt64(nibble * 4)) & 0xF)]
                    index += 1
                }
            }
            write(high, nibbles: 0...15)
            write(low, nibbles: 0...15)
            return index
        }
    }
}
