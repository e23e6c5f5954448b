import Foundation

/// Builds a `JSONValue` straight from an `Encodable`, with the conventions of `DomainJSON.encoder`
/// (RFC 3339 times, base64 data). Event payloads are built on every issuance and enrollment; going
/// through JSON text and back cost a fifth of an enrollment's CPU.
///
/// The result equals what decoding `DomainJSON.encoder`'s output gives: integral numbers are `.int`.
public enum JSONValueEncoder {
    public static func encode(_ value: some Encodable) throws -> JSONValue {
        try Slot.make(value, codingPath: []).resolved
    }
}

/// What one level of the encoding holds; containers are reference boxes so that nested containers
/// can keep writing after they are handed out, as `Encoder` requires.
private enum Slot {
    case value(JSONValue)
    case array(ArrayBox)
    case object(ObjectBox)
    /// A `superEncoder`'s result, known once the caller has finished with it.
    case encoder(ValueEncoder)

    var resolved: JSONValue {
        switch self {
        case .value(let value): value
        case .array(let box): .array(box.items.map(\.resolved))
        case .object(let box): .object(box.members.mapValues(\.resolved))
        case .encoder(let encoder): encoder.slot?.resolved ?? .emptyObject
        }
    }

    static func make<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> Slot {
        switch value {
        case let json as JSONValue: return .value(json)
        case let date as Date: return .value(.string(RFC3339.format(date)))
        case let data as Data: return .value(.string(data.base64EncodedString()))
        case let url as URL: return .value(.string(url.absoluteString))
        case let string as String: return .value(.string(string))
        case let bool as Bool: return .value(.bool(bool))
        case let double as Double: return .value(try number(double, codingPath: codingPath))
        default:
            let encoder = ValueEncoder(codingPath: codingPath)
            try value.encode(to: encoder)
            return encoder.slot ?? .value(.emptyObject)
        }
    }

    static func number(_ value: Double, codingPath: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, EncodingError.Context(codingPath: codingPath, debugDescription: "\(value) is not a JSON number"))
        }
        if value == value.rounded(), abs(value) < 9.2e18 { return .int(Int64(value)) }
        return .double(value)
    }

    static func integer(_ value: some BinaryInteger) -> JSONValue {
        if let exact = Int64(exactly: value) { return .int(exact) }
        return .double(Double(value))
    }
}

private final class ArrayBox {
    var items: [Slot] = []
}

private final class ObjectBox {
    var members: [String: Slot] = [:]
}

private final class ValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var slot: Slot?

    init(codingPath: [any CodingKey]) {
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let box: ObjectBox
        if case .object(let existing)? = slot {
            box = existing
        } else {
            box = ObjectBox()
            slot = .object(box)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let box: ArrayBox
        if case .array(let existing)? = slot {
            box = existing
        } else {
            box = ArrayBox()
            slot = .array(box)
        }
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(encoder: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: ObjectBox
    let codingPath: [any CodingKey]

    private func set(_ slot: Slot, _ key: Key) {
        box.members[key.stringValue] = slot
    }

    mutating func encodeNil(forKey key: Key) throws { set(.value(.null), key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.value(.bool(value)), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.value(.string(value)), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(.value(try Slot.number(value, codingPath: codingPath + [key])), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(.value(try Slot.number(Double(value), codingPath: codingPath + [key])), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(.value(Slot.integer(value)), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try Slot.make(value, codingPath: codingPath + [key]), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = ObjectBox()
        set(.object(nested), key)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        set(.array(nested), key)
        return UnkeyedContainer(box: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        superEncoder(named: "super")
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        superEncoder(named: key.stringValue)
    }

    private func superEncoder(named name: String) -> any Encoder {
        let encoder = ValueEncoder(codingPath: codingPath + [IndexKey(stringValue: name)])
        box.members[name] = .encoder(encoder)
        return encoder
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let box: ArrayBox
    let codingPath: [any CodingKey]
    var count: Int { box.items.count }

    private var nextPath: [any CodingKey] { codingPath + [IndexKey(intValue: box.items.count)] }

    mutating func encodeNil() throws { box.items.append(.value(.null)) }
    mutating func encode(_ value: Bool) throws { box.items.append(.value(.bool(value))) }
    mutating func encode(_ value: String) throws { box.items.append(.value(.string(value))) }
    mutating func encode(_ value: Double) throws { box.items.append(.value(try Slot.number(value, codingPath: nextPath))) }
    mutating func encode(_ value: Float) throws {
        box.items.append(.value(try Slot.number(Double(value), codingPath: nextPath)))
    }
    mutating func encode(_ value: Int) throws { box.items.append(.value(Slot.integer(value))) }
    mutating func encode(_ value: Int8) throws { box.items.append(.value(Slot.integer(value))) }
    mutating func encode(_ value: Int16) throws { box.items.append(.value(Slot.integer(value))) }
    mutating func encode(_ value: Int32) throws { box.items.append(.value(Slot.integer(value))) }
    mutating func encode(_ value: Int64) throws { box.items.append(.value(Slot.integer(value))) }
    mutating func encode(_ value: UInt) throws { box.items.append(.value(Slot.integer(value))) }
    mutating func encode(_ value: UInt8) throws { box.items.append(.value(Slot.integer(value))) }
    mutating func encode(_ value: UInt16) throws { box.items.append(.value(Slot.integer(value))) }
    mutating func encode(_ value: UInt32) throws { box.items.append(.value(Slot.integer(value))) }
    mutating func encode(_ value: UInt64) throws { box.items.append(.value(Slot.integer(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        box.items.append(try Slot.make(value, codingPath: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let path = nextPath
        let nested = ObjectBox()
        box.items.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        let nested = ArrayBox()
        box.items.append(.array(nested))
        return UnkeyedContainer(box: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = ValueEncoder(codingPath: nextPath)
        box.items.append(.encoder(encoder))
        return encoder
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ value: JSONValue) { encoder.slot = .value(value) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try Slot.number(value, codingPath: codingPath)) }
    mutating func encode(_ value: Float) throws { set(try Slot.number(Double(value), codingPath: codingPath)) }
    mutating func encode(_ value: Int) throws { set(Slot.integer(value)) }
    mutating func encode(_ value: Int8) throws { set(Slot.integer(value)) }
    mutating func encode(_ value: Int16) throws { set(Slot.integer(value)) }
    mutating func encode(_ value: Int32) throws { set(Slot.integer(value)) }
    mutating func encode(_ value: Int64) throws { set(Slot.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(Slot.integer(value)) }
    mutating func encode(_ value: UInt8) throws { set(Slot.integer(value)) }
    mutating func encode(_ value: UInt16) throws { set(Slot.integer(value)) }
    mutating func encode(_ value: UInt32) throws { set(Slot.integer(value)) }
    mutating func encode(_ value: UInt64) throws { set(Slot.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        encoder.slot = try Slot.make(value, codingPath: codingPath)
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
    }

    init(intValue: Int) {
        stringValue = "Index \(intValue)"
        self.intValue = intValue
    }
}
