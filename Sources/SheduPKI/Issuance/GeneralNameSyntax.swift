/// The syntax RFC 5280 §4.2.1.6 asks of the names a subject alternative name carries, so that a
/// CA does not certify what relying parties cannot match.
enum GeneralNameSyntax {
    /// A domain name in the preferred name syntax (RFC 1034 §3.5, as RFC 1123 relaxes it): labels
    /// of letters, digits and inner hyphens, at most 63 characters each and 253 in all. A leading
    /// `*` label (a wildcard, RFC 6125) is allowed where `wildcard` says so; inner underscores are
    /// allowed, as pkilint allows them.
    static func isDomainName(_ text: String, wildcard: Bool) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        var labels = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)[...]
        if wildcard, labels.count > 1, labels.first?.elementsEqual("*".utf8) == true { labels = labels.dropFirst() }
        return labels.allSatisfy { label in
            guard (1...63).contains(label.count), let first = label.first, let last = label.last,
                isLetterOrDigit(first), isLetterOrDigit(last)
            else { return false }
            return label.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        }
    }

    /// An RFC 5321 mailbox (RFC 5280 §4.2.1.6: `local-part@domain`): a local part that is a
    /// dot-string of atext (`a.b+tag`) or a quoted string (`"a b"`), and a domain name.
    static func isMailbox(_ text: String) -> Bool {
        guard let at = text.utf8.lastIndex(of: UInt8(ascii: "@")) else { return false }
        let local = text.utf8[..<at]
        let domain = String(decoding: text.utf8[text.utf8.index(after: at)...], as: UTF8.self)
        guard (1...64).contains(local.count), isDomainName(domain, wildcard: false) else { return false }
        let quote = UInt8(ascii: "\"")
        if local.first == quote {
            // Printable ASCII inside, a quote or backslash only after a backslash.
            guard local.count >= 2, local.last == quote else { return false }
            var escaped = false
            for byte in local.dropFirst().dropLast() {
                guard (0x20...0x7E).contains(byte) else { return false }
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == quote { return false }
            }
            return !escaped
        }
        return local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { atom in
            !atom.isEmpty && atom.allSatisfy { isLetterOrDigit($0) || mailboxAtomSymbols.contains($0) }
        }
    }

    private static let mailboxAtomSymbols = Set("!#$%&'*+-/=?^_`{|}~".utf8)

    /// A URI with a scheme (RFC 3986 §3.1) and no spaces or control characters.
    static func isURI(_ text: String) -> Bool {
        guard let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")), let first = text.utf8.first, isLetter(first) else { return false }
        let scheme = text.utf8[..<colon]
        let schemeOK = scheme.allSatisfy {
            isLetterOrDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
        return schemeOK && text.utf8.count > scheme.count + 1 && text.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
