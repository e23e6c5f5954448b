/// Writes JSON text as UTF-8 bytes: compact, object keys sorted (so equal documents are equal
/// text, the form stored in the database), only `"`, `\` and control characters escaped.
///
/// Event payloads of several kilobytes are written inside the writer's transaction on every
/// enrollment; appending a `String` one scalar at a time cost a quarter of that transaction.
public struct JSONTextWriter {
    public private(set) var bytes: [UInt8] = []

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
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0x0F)])
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

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
