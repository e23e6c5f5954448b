import Foundation

/// The one JSON encoding of domain objects: what the API returns, what events carry and what the
/// database keeps. Times are RFC 3339 in UTC.
public enum DomainJSON {
    public static let encoder: JSONEncoder = makeEncoder()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw SheduError.badRequest(
                    "\(decoder.codingPath.map(\.stringValue).joined(separator: ".")) must be an RFC 3339 time")
            }
            return date
        }
        return decoder
    }()

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

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decoder.decode(type, from: Data(text.utf8))
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
