import Foundation

/// A JSON document of any shape: metadata, settings, patch values.
///
/// Integers are kept apart from doubles so that `1` stays `1` through a round trip.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public static let emptyObject = JSONValue.object([:])

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The number as a double, for integers and doubles alike.
    public var numberValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The member at `key` of an object (nil for other values).
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// The value at a dotted path of object keys, such as `realm_access.roles`.
    public func value(atDottedPath path: String) -> JSONValue? {
        var current: JSONValue? = self
        for key in path.split(separator: ".") {
            current = current?[String(key)]
        }
        return current
    }

    /// The JSON type's name, as used in error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Each wrong guess costs a thrown error, so the likeliest kinds of metadata come first.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue {
    /// How deeply what a client stores (a request body, metadata after a patch) may nest: far
    /// below what the stored documents are read back with (``JSONValueParser/maximumDepth``),
    /// which also wrap it.
    public static let clientDepthLimit = 64
    /// How long, as JSON text, a document built from a client's patches may grow: the request
    /// body limit.
    public static let clientTextLimit = 1 << 20

    /// Why a client may not store this document, or nil: it nests deeper than ``clientDepthLimit``
    /// or its text would pass ``clientTextLimit`` (counted without escapes, so a little short).
    /// The walk stops at the first limit passed: a document grown by repeated copies shares its
    /// storage, but its text would not fit in memory.
    public var clientLimitProblem: String? {
        var budget = Self.clientTextLimit
        func exceeds(_ value: JSONValue, depth: Int) -> String? {
            switch value {
            case .null, .bool: budget -= 5
            case .int, .double: budget -= 8
            case .string(let text): budget -= text.utf8.count + 2
            case .array(let items):
                guard depth < Self.clientDepthLimit else { return "nests deeper than \(Self.clientDepthLimit) levels" }
                budget -= 2
                for item in items {
                    if let problem = exceeds(item, depth: depth + 1) { return problem }
                    budget -= 1
                }
            case .object(let members):
                guard depth < Self.clientDepthLimit else { return "nests deeper than \(Self.clientDepthLimit) levels" }
                budget -= 2
                for (key, member) in members {
                    budget -= key.utf8.count + 4
                    if let problem = exceeds(member, depth: depth + 1) { return problem }
                }
            }
            return budget < 0 ? "would be longer than \(Self.clientTextLimit >> 20) MiB of JSON" : nil
        }
        return exceeds(self, depth: 0)
    }

    /// Compact JSON text with sorted keys, the form stored in the database.
    public func jsonText() -> String {
        var writer = JSONTextWriter()
        writer.write(self)
        return writer.text
    }

    /// Parses JSON text; throws a `SheduError.badRequest` naming `field` when it is not JSON.
    public static func parse(_ text: String, field: String) throws -> JSONValue {
        do {
            return try JSONValueParser.parse(text)
        } catch {
            throw SheduError.badRequest("\(field) is not valid JSON: \(error.reason) at offset \(error.offset)")
        }
    }

    /// Appends `value` as a quoted JSON string.
    public static func writeString(_ value: String, to output: inout String) {
        var writer = JSONTextWriter(capacity: value.utf8.count + 2)
        writer.writeString(value)
        output += writer.text
    }
}
