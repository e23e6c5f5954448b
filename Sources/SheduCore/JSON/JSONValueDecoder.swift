import Foundation

/// Decodes `Decodable` values from JSON read by ``JSONValueParser``: request bodies and stored
/// documents. Foundation's decoder took a seventh of a device registration's CPU; this one reads a
/// parsed tree, and hands a `JSONValue` (metadata) over as it is instead of guessing its type by trial.
///
/// It fails as Foundation's does: `DecodingError`s with the coding path, so messages name the
/// field (see `DecodingError.fieldMessage`); a time that is not RFC 3339 is a 400 naming it.
public enum JSONValueDecoder {
    /// Decodes a document given as UTF-8; text that is not JSON is `DecodingError.dataCorrupted`
    /// at the top level.
    /// - Parameter maximumDepth: how deeply the document may nest (nil: as deep as a stored one).
    public static func decode<T: Decodable>(_ type: T.Type, utf8 bytes: [UInt8], maximumDepth: Int? = nil) throws -> T {
        let value: JSONValue
        do {
            value = try JSONValueParser.parse(utf8: bytes, maximumDepth: maximumDepth ?? JSONValueParser.maximumDepth)
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "not valid JSON: \(error.reason) at offset \(error.offset)"))
        }
        return try decode(type, from: value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try ValueDecoder.unbox(value, as: type, codingPath: [])
    }
}

private struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw Self.mismatch([String: JSONValue].self, value, codingPath)
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw Self.mismatch([JSONValue].self, value, codingPath) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath)
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        if case .null = value {
            return .valueNotFound(type, .init(codingPath: path, debugDescription: "found null"))
        }
        return .typeMismatch(type, .init(codingPath: path, debugDescription: "found a JSON \(value.typeName)"))
    }

    /// The one place a value becomes a `T`: scalars and documents directly, the rest through `T(from:)`.
    static func unbox<T: Decodable>(_ value: JSONValue, as type: T.Type, codingPath: [any CodingKey]) throws -> T {
        if T.self == String.self {
            guard case .string(let text) = value else { throw mismatch(T.self, value, codingPath) }
            return text as! T
        }
        if T.self == JSONValue.self { return value as! T }
        if T.self == [String: JSONValue].self {
            guard case .object(let members) = value else { throw mismatch(T.self, value, codingPath) }
            return members as! T
        }
        if T.self == Date.self { return try date(value, codingPath: codingPath) as! T }
        if T.self == Bool.self {
            guard case .bool(let flag) = value else { throw mismatch(T.self, value, codingPath) }
            return flag as! T
        }
        if T.self == Int.self { return try integer(value, as: Int.self, codingPath: codingPath) as! T }
        if T.self == Int64.self { return try integer(value, as: Int64.self, codingPath: codingPath) as! T }
        if T.self == Double.self { return try number(value, codingPath: codingPath) as! T }
        return try T(from: ValueDecoder(value: value, codingPath: codingPath))
    }

    static func integer<T: FixedWidthInteger>(_ value: JSONValue, as type: T.Type, codingPath: [any CodingKey]) throws -> T {
        switch value {
        case .int(let integer):
            guard let exact = T(exactly: integer) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "number \(integer) does not fit in \(T.self)"))
            }
            return exact
        case .double(let number):
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "number \(number) is not an integer"))
        default:
            throw mismatch(T.self, value, codingPath)
        }
    }

    static func number(_ value: JSONValue, codingPath: [any CodingKey]) throws -> Double {
        guard let number = value.numberValue else { throw mismatch(Double.self, value, codingPath) }
        return number
    }

    /// Times are RFC 3339 text in the API and in stored documents alike.
    static func date(_ value: JSONValue, codingPath: [any CodingKey]) throws -> Date {
        guard case .string(let text) = value else { throw mismatch(String.self, value, codingPath) }
        guard let date = RFC3339.parse(text) else {
            throw SheduError.badRequest("\(codingPath.map(\.stringValue).joined(separator: ".")) must be an RFC 3339 time")
        }
        return date
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no member '\(key.stringValue)'"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try member(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try ValueDecoder.unbox(try member(key), as: type, codingPath: codingPath + [key])
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = members[key.stringValue] else { return nil }
        if case .null = value { return nil }
        return try ValueDecoder.unbox(value, as: type, codingPath: codingPath + [key])
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        Float(try ValueDecoder.number(try member(key), codingPath: codingPath + [key]))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(type, key) }

    private func decode<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
        try ValueDecoder.unbox(try member(key), as: type, codingPath: codingPath + [key])
    }

    private func integer<T: FixedWidthInteger>(_ type: T.Type, _ key: Key) throws -> T {
        try ValueDecoder.integer(try member(key), as: type, codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try ValueDecoder(value: try member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: members["super"] ?? .null, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private var elementPath: [any CodingKey] { codingPath + [IndexKey(intValue: currentIndex)] }

    private func next(_ type: Any.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: elementPath, debugDescription: "the array has no more elements"))
        }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard case .null = try next(JSONValue.self) else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoded = try ValueDecoder.unbox(try next(type), as: type, codingPath: elementPath)
        currentIndex += 1
        return decoded
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let container = try ValueDecoder(value: try next([String: JSONValue].self), codingPath: elementPath).container(keyedBy: type)
        currentIndex += 1
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let container = try ValueDecoder(value: try next([JSONValue].self), codingPath: elementPath).unkeyedContainer()
        currentIndex += 1
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let decoder = ValueDecoder(value: try next(JSONValue.self), codingPath: elementPath)
        currentIndex += 1
        return decoder
    }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try ValueDecoder.unbox(value, as: type, codingPath: codingPath)
    }

    func decode(_ type: Bool.Type) throws -> Bool { try ValueDecoder.unbox(value, as: type, codingPath: codingPath) }
    func decode(_ type: String.Type) throws -> String { try ValueDecoder.unbox(value, as: type, codingPath: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try ValueDecoder.number(value, codingPath: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try ValueDecoder.number(value, codingPath: codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try ValueDecoder.integer(value, as: type, codingPath: codingPath) }
}
