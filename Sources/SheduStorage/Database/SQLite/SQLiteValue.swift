import Foundation
import SQLKit

/// A value as SQLite stores it.
enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The value a bound parameter of SQLKit's (`\(bind: ...)`) becomes.
    init(binding value: any Encodable) throws {
        // One conformance lookup for the common types rather than a chain of casts per bind.
        if let bindable = value as? any SQLiteBindable {
            self = bindable.sqliteValue
        } else if let raw = value as? any RawRepresentable, let rawValue = raw.rawValue as? any Encodable {
            self = try SQLiteValue(binding: rawValue)
        } else if let optional = value as? any OptionalBinding {
            self = try optional.wrappedBinding.map(SQLiteValue.init(binding:)) ?? .null
        } else {
            throw SQLiteBindingError(type: type(of: value))
        }
    }
}

/// A Swift value SQLite stores as it is.
protocol SQLiteBindable {
    var sqliteValue: SQLiteValue { get }
}

extension String: SQLiteBindable { var sqliteValue: SQLiteValue { .text(self) } }
extension Substring: SQLiteBindable { var sqliteValue: SQLiteValue { .text(String(self)) } }
extension Int: SQLiteBindable { var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Int64: SQLiteBindable { var sqliteValue: SQLiteValue { .integer(self) } }
extension Int32: SQLiteBindable { var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension UInt32: SQLiteBindable { var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Bool: SQLiteBindable { var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) } }
extension Double: SQLiteBindable { var sqliteValue: SQLiteValue { .real(self) } }
extension Data: SQLiteBindable { var sqliteValue: SQLiteValue { .blob(Array(self)) } }
extension Array: SQLiteBindable where Element == UInt8 { var sqliteValue: SQLiteValue { .blob(self) } }
extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
    var sqliteValue: SQLiteValue { self?.sqliteValue ?? .null }
}

/// An optional of another type (a raw-value enum), so that `nil` binds as NULL.
private protocol OptionalBinding {
    var wrappedBinding: (any Encodable)? { get }
}

extension Optional: OptionalBinding where Wrapped: Encodable {
    fileprivate var wrappedBinding: (any Encodable)? { self }
}

struct SQLiteBindingError: Error, CustomStringConvertible {
    let type: Any.Type
    var description: String { "a \(type) cannot be bound to a SQLite statement" }
}

/// The column names of a statement's results, shared by all its rows.
final class SQLiteColumns: Sendable {
    let names: [String]
    private let indexes: [String: Int]

    init(_ names: [String]) {
        self.names = names
        // The first of equal names wins, as in a SELECT that repeats one.
        indexes = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func index(of name: String) -> Int? { indexes[name] }
}

/// One result row.
struct SQLiteResultRow: SQLRow {
    let columns: SQLiteColumns
    let values: [SQLiteValue]

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.index(of: column) != nil }

    func decodeNil(column: String) throws -> Bool {
        try value(column) == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        let value = try value(column)
        // The types the stores read, without a Decoder in between.
        if D.self == String.self { return try value.text(column) as! D }
        if D.self == Int64.self { return try value.integer(column) as! D }
        if D.self == Int.self { return Int(try value.integer(column)) as! D }
        if D.self == Bool.self { return try value.bool(column) as! D }
        if D.self == Data.self { return Data(try value.bytes(column)) as! D }
        if D.self == String?.self { return (value == .null ? nil : try value.text(column)) as! D }
        if D.self == Int64?.self { return (value == .null ? nil : try value.integer(column)) as! D }
        if D.self == Int?.self { return (value == .null ? nil : Int(try value.integer(column))) as! D }
        return try D(from: SQLiteValueDecoder(value: value, column: column))
    }

    private func value(_ column: String) throws -> SQLiteValue {
        guard let index = columns.index(of: column) else {
            throw DecodingError.keyNotFound(
                SQLiteValueDecoder.Key(stringValue: column),
                .init(codingPath: [], debugDescription: "no column '\(column)' in the result"))
        }
        return values[index]
    }
}

extension SQLiteValue {
    /// Conversions as SQLite's own affinities make them.
    func text(_ column: String) throws -> String {
        switch self {
        case .text(let text): return text
        case .integer(let integer): return String(integer)
        case .real(let real): return String(real)
        case .blob, .null: throw mismatch(String.self, column)
        }
    }

    func integer(_ column: String) throws -> Int64 {
        switch self {
        case .integer(let integer): return integer
        case .real(let real) where real == real.rounded() && abs(real) < 9.2e18: return Int64(real)
        case .text(let text): if let integer = Int64(text) { return integer }
        default: break
        }
        throw mismatch(Int64.self, column)
    }

    func real(_ column: String) throws -> Double {
        switch self {
        case .real(let real): return real
        case .integer(let integer): return Double(integer)
        case .text(let text): if let real = Double(text) { return real }
        default: break
        }
        throw mismatch(Double.self, column)
    }

    func bool(_ column: String) throws -> Bool {
        switch try integer(column) {
        case 0: return false
        case 1: return true
        default: throw mismatch(Bool.self, column)
        }
    }

    func bytes(_ column: String) throws -> [UInt8] {
        switch self {
        case .blob(let bytes): return bytes
        case .text(let text): return Array(text.utf8)
        default: throw mismatch(Data.self, column)
        }
    }

    private func mismatch(_ type: Any.Type, _ column: String) -> DecodingError {
        DecodingError.typeMismatch(
            type, .init(codingPath: [SQLiteValueDecoder.Key(stringValue: column)], debugDescription: "column '\(column)' holds \(self)"))
    }
}

/// Decodes one column's value into any single-value `Decodable` (optionals, raw-value enums, ...).
struct SQLiteValueDecoder: Decoder, SingleValueDecodingContainer {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    let value: SQLiteValue
    let column: String

    var codingPath: [any CodingKey] { [Key(stringValue: column)] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<K: CodingKey>(keyedBy type: K.Type) throws -> KeyedDecodingContainer<K> {
        throw DecodingError.typeMismatch(
            [String: Any].self, .init(codingPath: codingPath, debugDescription: "column '\(column)' is a single value"))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(
            [Any].self, .init(codingPath: codingPath, debugDescription: "column '\(column)' is a single value"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try value.bool(column) }
    func decode(_ type: String.Type) throws -> String { try value.text(column) }
    func decode(_ type: Double.Type) throws -> Double { try value.real(column) }
    func decode(_ type: Float.Type) throws -> Float { Float(try value.real(column)) }
    func decode(_ type: Int.Type) throws -> Int { try exact(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try exact(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try exact(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try exact(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try value.integer(column) }
    func decode(_ type: UInt.Type) throws -> UInt { try exact(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try exact(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try exact(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try exact(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try exact(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == Data.self { return Data(try value.bytes(column)) as! T }
        if T.self == [UInt8].self { return try value.bytes(column) as! T }
        return try T(from: self)
    }

    private func exact<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard let exact = T(exactly: try value.integer(column)) else {
            throw DecodingError.typeMismatch(
                type, .init(codingPath: codingPath, debugDescription: "column '\(column)' holds \(value), out of range"))
        }
        return exact
    }
}
