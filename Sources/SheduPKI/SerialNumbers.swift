import Crypto
import X509

extension Certificate.SerialNumber {
    /// A random positive serial of exactly 16 bytes (the first byte is 0x01...0x7F, so DER keeps
    /// all 16 and the number is positive): 127 bits of entropy, above CA/B Forum's 64.
    public static func random() -> Certificate.SerialNumber {
        // BoringSSL's CSPRNG (through a random key): one call, where a byte at a time from the
        // system generator is a system call each.
        var bytes = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }
        bytes[0] = bytes[0] & 0x7F
        if bytes[0] == 0 { bytes[0] = 1 }
        return Certificate.SerialNumber(bytes: bytes)
    }

    /// Lowercase hex of the number's magnitude, even length, no separators; `"00"` for zero.
    ///
    /// (`description` drops leading zeros per byte, so it is not used.)
    public var hexString: String {
        var magnitude = Array(bytes.drop { $0 == 0 })
        if magnitude.isEmpty { magnitude = [0] }
        return Hex.encode(magnitude)
    }

    /// Parses the hex form back; nil for text that is not hex of at most 20 bytes.
    public init?(hexString: String) {
        let text = hexString.count % 2 == 1 ? "0" + hexString : hexString
        guard !text.isEmpty, let bytes = Hex.decode(text), bytes.count <= 20 else { return nil }
        var magnitude = Array(bytes.drop { $0 == 0 })
        if magnitude.isEmpty { magnitude = [0] }
        self.init(bytes: magnitude)
    }
}
