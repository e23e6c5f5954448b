import Foundation
import SheduPKI

/// Writes JSON text as UTF-8 bytes: compact, object keys sorted (so equal documents are equal
/// text, the form stored in the database), only `"`, `\` and control characters escaped.
///
/// Event payloads of several kilobytes are written inside the writer's transaction on every
/// enrollment; appending a `String` one scalar at a time cost a quarter of that transaction.
public struct JSONTextWriter {
    public private(set) var bytes: [UInt8] = []
    /// One bit per open object or array, innermost lowest: whether it has a member already.
    private var hasMembers: UInt64 = 0

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: writeASCII("null")
        case .bool(let flag): writeASCII(flag ? "true" : "false")
        case .int(let integer): writeInteger(integer)
        case .double(let number):
            if number.isFinite, number == number.rounded(), abs(number) < 1e15 {
                writeInteger(Int64(number))
            } else if number.isFinite {
                bytes.append(contentsOf: "\(number)".utf8)
            } else {
                writeASCII("null")
            }
        case .string(let string): writeString(string)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for key in members.keys.sorted() {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                writeString(key)
                bytes.append(UInt8(ascii: ":"))
                write(members[key]!)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// A string, quoted; runs of bytes that need no escape are copied at once.
    public mutating func writeString(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var start = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): writeASCII("\\\"")
                case UInt8(ascii: "\\"): writeASCII("\\\\")
                case 0x0A: writeASCII("\\n")
                case 0x0D: writeASCII("\\r")
                case 0x09: writeASCII("\\t")
                default:
                    writeASCII("\\u00")
                    bytes.append(Hex.digits[Int(byte >> 4)])
                    bytes.append(Hex.digits[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Text known to be JSON already (a document stored as text), written as it is.
    public mutating func writeRaw(_ json: String) {
        bytes.append(contentsOf: json.utf8)
    }

    /// UTF-8 bytes known to be JSON already, written as they are.
    public mutating func writeRaw(bytes json: some Sequence<UInt8>) {
        bytes.append(contentsOf: json)
    }

    public mutating func writeASCII(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func writeInteger(_ value: Int64) {
        guard value != 0 else { return bytes.append(UInt8(ascii: "0")) }
        var magnitude = value.magnitude
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        while magnitude > 0 {
            digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.append(contentsOf: digits.reversed())
    }

    // MARK: Objects and arrays written member by member

    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        hasMembers <<= 1
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        hasMembers >>= 1
    }

    public mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        hasMembers <<= 1
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        hasMembers >>= 1
    }

    /// Starts the next member of the innermost object with its name.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        writeASCII(name)
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    /// Starts the next member with a name known only at run time (escaped as needed).
    public mutating func key(_ name: String) {
        separate()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Starts the next element of the innermost array.
    public mutating func element() {
        separate()
    }

    private mutating func separate() {
        if hasMembers & 1 == 1 { bytes.append(UInt8(ascii: ",")) }
        hasMembers |= 1
    }

    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        writeString(value)
    }

    public mutating func field(_ name: StaticString, _ value: Int) {
        key(name)
        writeInteger(Int64(value))
    }

    public mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        writeASCII(value ? "true" : "false")
    }

    /// A time, as RFC 3339 text.
    public mutating func field(_ name: StaticString, _ value: Date) {
        key(name)
        writeString(RFC3339.format(value))
    }

    public mutating func field(_ name: StaticString, _ value: JSONValue) {
        key(name)
        write(value)
    }

    public mutating func field(_ name: StaticString, _ value: [String: JSONValue]) {
        key(name)
        write(.object(value))
    }

    public mutating func field(_ name: StaticString, _ values: [String]) {
        key(name)
        writeStrings(values)
    }

    public mutating func field(_ name: StaticString, _ value: some JSONWritable) {
        key(name)
        value.writeJSON(to: &self)
    }

    public mutating func fieldNull(_ name: StaticString) {
        key(name)
        writeASCII("null")
    }

    /// Any value in its API form, through its `Encodable` conformance. (A type that writes itself
    /// is picked by the overloads that take `some JSONWritable`, at compile time: a cast from a
    /// generic value to `any JSONWritable` corrupted the heap in debug builds of Swift 6.3.)
    public mutating func write(encodable value: some Encodable) throws {
        write(try JSONValueEncoder.encode(value))
    }

    public mutating func write(_ value: some JSONWritable) {
        value.writeJSON(to: &self)
    }

    public mutating func writeStrings(_ values: [String]) {
        beginArray()
        for value in values {
            element()
            writeString(value)
        }
        endArray()
    }
}

/// A type that writes its own JSON form: the one definition of that form, for API responses and
/// event payloads alike, written without Codable's containers (which cost more than the
/// signature on the issuance path). `Encodable` comes through it.
public protocol JSONWritable: Encodable {
    func writeJSON(to writer: inout JSONTextWriter)
}

extension JSONWritable {
    /// The JSON text.
    public var jsonText: String {
        var writer = JSONTextWriter(capacity: 1024)
        writeJSON(to: &writer)
        return writer.text
    }

    /// For the rare Codable consumer (a type that embeds this one): the written form, read back.
    public func encode(to encoder: any Encoder) throws {
        var writer = JSONTextWriter(capacity: 1024)
        writeJSON(to: &writer)
        try JSONValueParser.parse(utf8: writer.bytes).encode(to: encoder)
    }
}
