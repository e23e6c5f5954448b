/// Media types of `Content-Type` values.
enum MediaType {
    /// The type and subtype without parameters, trimmed and lowercased: `"application/pkcs10"`
    /// for `"Application/PKCS10 ; charset=utf-8"`, `""` for none. Byte work, not Foundation's
    /// trimming, which cost half a percent of every EST enrollment.
    static func essence(_ value: String?) -> String {
        guard let value else { return "" }
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var utf8 = Substring(value).utf8
        if let semicolon = utf8.firstIndex(of: UInt8(ascii: ";")) { utf8 = utf8[..<semicolon] }
        while let first = utf8.first, isBlank(first) { utf8.removeFirst() }
        while let last = utf8.last, isBlank(last) { utf8.removeLast() }
        let essence = String(Substring(utf8))
        return essence.utf8.contains(where: { (0x41...0x5A).contains($0) }) ? essence.lowercased() : essence
    }
}
