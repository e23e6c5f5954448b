import Foundation

/// One `filter=<field>[<op>]<value>` of a list request, checked against the resource's fields.
public struct Filter: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case string(String)
        case strings([String])
        /// A time and how long the written value spans: a day for `YYYY-MM-DD`, else a second.
        case date(Date, spanMilliseconds: Int64 = 1_000)
        case number(Double)
        case jsonPath(JSONPathPredicate)
    }

    /// Conditions one query may combine (its filters, with a device group's and its ancestors'
    /// criteria), and values one `in` filter may list: far above real use, and below what the
    /// databases refuse (SQLite's expression depth of 1,000, their bound-parameter limits).
    public static let maximumCombined = 100
    public static let maximumListedValues = 1_000

    public var field: FieldDefinition
    public var op: FilterOperator
    public var value: Value
    /// The filter as the client wrote it, kept for bookmarks.
    public var text: String

    /// How long a written time spans, for equality: a day for a date alone, else its last written
    /// digit (a second, or 100, 10 or 1 ms with fractions).
    static func span(ofTime text: String) -> Int64 {
        if text.utf8.count == 10 { return 86_400_000 }
        guard let dot = text.firstIndex(of: ".") else { return 1_000 }
        let digits = text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }.count
        return digits >= 3 ? 1 : [1_000, 100, 10][digits]
    }

    /// Parses `field[op]value` (a `=` right after `]` is also accepted: `status[eq]=ACTIVE`).
    public init(parsing text: String, fields: FieldSet) throws {
        // As on PostgreSQL, which holds no NUL in text: both stores answer alike.
        guard !text.unicodeScalars.contains("\u{0}") else {
            throw SheduError.badRequest("filter '\(text.replacingOccurrences(of: "\u{0}", with: "%00"))' contains the NUL character (U+0000)")
        }
        guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else {
            throw SheduError.badRequest("filter '\(text)' must look like field[operator]value, e.g. status[eq]ACTIVE")
        }
        let fieldName = String(text[..<open])
        let operatorName = String(text[text.index(after: open)..<close])
        var rawValue = text[text.index(after: close)...]
        if rawValue.hasPrefix("=") { rawValue = rawValue.dropFirst() }

        guard let field = fields[fieldName] else {
            throw SheduError.badRequest(
                "filter field '\(fieldName)' is not filterable; use one of: \(fields.names.joined(separator: ", "))")
        }
        guard let op = FilterOperator(name: operatorName), field.type.operators.contains(op) else {
            throw SheduError.badRequest(
                "filter operator '\(operatorName)' does not apply to field '\(fieldName)' of type \(field.type.name); "
                    + "use one of: \(field.type.operators.map(\.rawValue).joined(separator: ", "))")
        }
        self.field = field
        self.op = op
        self.text = text
        self.value = try Self.parseValue(String(rawValue), op: op, field: field)
    }

    private static func parseValue(_ raw: String, op: FilterOperator, field: FieldDefinition) throws -> Value {
        switch field.type {
        case .string, .stringArray:
            if op.takesList {
                return .strings(raw.split(separator: ",").map(String.init).filter { !$0.isEmpty })
            }
            return .string(raw)
        case .enumeration(let allowed):
            let values = op.takesList ? raw.split(separator: ",").map(String.init).filter { !$0.isEmpty } : [raw]
            for value in values where !allowed.isEmpty && !allowed.contains(value) {
                throw SheduError.badRequest(
                    "filter value '\(value)' for field '\(field.name)' must be one of: \(allowed.joined(separator: ", "))")
            }
            return op.takesList ? .strings(values) : .string(raw)
        case .date:
            guard let date = RFC3339.parse(raw, allowDateOnly: true) else {
                throw SheduError.badRequest(
                    "filter value '\(raw)' for field '\(field.name)' must be an RFC 3339 time or YYYY-MM-DD")
            }
            return .date(date, spanMilliseconds: Self.span(ofTime: raw))
        case .number:
            guard let number = Double(raw), number.isFinite else {
                throw SheduError.badRequest("filter value '\(raw)' for field '\(field.name)' must be a number")
            }
            return .number(number)
        case .json:
            return .jsonPath(try JSONPathPredicate(parsing: raw))
        }
    }
}
