/// An RFC 6901 JSON Pointer such as `/lamassu.io~1ca~1expiration-deltas/0`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    public let tokens: [String]
    public let description: String

    public init(_ text: String) throws {
        guard text.isEmpty || text.hasPrefix("/") else {
            throw SheduError.badRequest("JSON pointer '\(text)' must be empty or start with '/'")
        }
        // RFC 6901 §3: '~' only begins "~0" or "~1".
        let utf8 = Array(text.utf8)
        for (index, byte) in utf8.enumerated() where byte == UInt8(ascii: "~") {
            guard index + 1 < utf8.count, utf8[index + 1] == UInt8(ascii: "0") || utf8[index + 1] == UInt8(ascii: "1") else {
                throw SheduError.badRequest("JSON pointer '\(text)' has a '~' that is not ~0 (for '~') or ~1 (for '/')")
            }
        }
        description = text
        tokens = text.isEmpty
            ? []
            : text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
                $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            }
    }

    public init(tokens: [String]) {
        self.tokens = tokens
        description = tokens.map {
            "/" + $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
        }.joined()
    }

    public var isRoot: Bool { tokens.isEmpty }

    /// The value this pointer designates in `document`, or nil when it does not exist.
    public func resolve(in document: JSONValue) -> JSONValue? {
        var current = document
        for token in tokens {
            switch current {
            case .object(let members):
                guard let next = members[token] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Self.arrayIndex(token), index < elements.count else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    /// A strict array index: digits only, no leading zeros.
    static func arrayIndex(_ token: String) -> Int? {
        guard !token.isEmpty, token.allSatisfy(\.isASCIIDigit), token == "0" || !token.hasPrefix("0") else {
            return nil
        }
        return Int(token)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
