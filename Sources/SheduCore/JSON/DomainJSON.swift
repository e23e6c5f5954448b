import Foundation

/// The one JSON encoding of domain objects: what the API returns, what events carry and what the
/// database keeps. Times are RFC 3339 in UTC.
public enum DomainJSON {
    public static let encoder: JSONEncoder = makeEncoder()

    private static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }

    /// Stored form of a document: compact, keys sorted, so equal documents are equal text.
    public static func text(_ value: some Encodable) throws -> String {
        try JSONValueEncoder.encode(value).jsonText()
    }

    // The overloads below are picked at compile time for the documents every device and key
    // write stores; they write the text directly instead of building a document tree first.

    /// Stored form of a type that writes itself (its own form is its stored one).
    public static func text(_ value: some JSONWritable) -> String {
        value.jsonText
    }

    /// Stored form of an object (metadata and the like): keys sorted.
    public static func text(_ members: [String: JSONValue]) -> String {
        JSONValue.object(members).jsonText()
    }

    /// Stored form of a list of strings (tags, aliases), in its order.
    public static func text(_ strings: [String]) -> String {
        var writer = JSONTextWriter(capacity: 16 * strings.count + 2)
        writer.writeStrings(strings)
        return writer.text
    }

    /// A stored document or a request body, read by ``JSONValueDecoder``.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONValueDecoder.decode(type, utf8: Array(text.utf8))
    }

    /// A request body; a malformed one is a 400 that names the problem and the field.
    public static func decodeRequest<T: Decodable>(_ type: T.Type, utf8 bytes: [UInt8]) throws -> T {
        try refuseNUL(utf8: bytes)
        do {
            return try JSONValueDecoder.decode(type, utf8: bytes, maximumDepth: JSONValue.clientDepthLimit)
        } catch let error as DecodingError {
            throw SheduError.badRequest(error.fieldMessage)
        }
    }

    /// A request body may not hold a NUL character (`\u0000`) in any string: PostgreSQL stores
    /// none, and SQLite answers alike. (A raw NUL byte is not JSON and fails to parse.)
    public static func refuseNUL(utf8 bytes: [UInt8]) throws {
        let backslash = UInt8(ascii: "\\")
        var index = bytes.startIndex
        while let escape = bytes[index...].firstIndex(of: backslash) {
            let next = escape + 1
            guard next < bytes.endIndex else { return }
            if bytes[next] == UInt8(ascii: "u"), next + 4 < bytes.endIndex,
                bytes[(next + 1)...(next + 4)].allSatisfy({ $0 == UInt8(ascii: "0") })
            {
                throw SheduError.badRequest("a value contains the NUL character (U+0000), which cannot be stored")
            }
            index = next + 1  // past the escaped character, so "\\u0000" is text, not a NUL
        }
    }

    /// A value as a JSON document (for event payloads), built without going through text.
    public static func value(_ value: some Encodable) throws -> JSONValue {
        try JSONValueEncoder.encode(value)
    }

    /// A stored JSON object (metadata and the like).
    public static func object(from text: String) throws -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValueParser.parse(text)
        } catch {
            throw SheduError.internal("stored document is not valid JSON: \(error.reason) at offset \(error.offset)")
        }
        guard let object = value.objectValue else {
            throw SheduError.internal("stored document is a JSON \(value.typeName), not an object")
        }
        return object
    }
}
