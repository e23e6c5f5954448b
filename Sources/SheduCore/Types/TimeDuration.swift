import Foundation

/// A length of time written as Lamassu writes it: `"1y"`, `"4w2d"`, `"90d"`, `"1h30m"`, `"1s500ms"`.
///
/// Units: `ns us µs ms s m h d w y`, where `d` = 24h, `w` = 7d and `y` = 364 days (52 weeks), as in
/// Lamassu. Fractions (`"1.5h"`) and `"0"` are accepted; negative durations are not.
/// Kept in whole milliseconds.
public struct TimeDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// `duration` in whole milliseconds, rounded down.
    public init(_ duration: Duration) {
        milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    public static func seconds(_ value: Int64) -> TimeDuration { .init(milliseconds: value * 1000) }
    public static func days(_ value: Int64) -> TimeDuration { .init(milliseconds: value * 86_400_000) }
    public static let zero = TimeDuration(milliseconds: 0)

    public var timeInterval: TimeInterval { Double(milliseconds) / 1000 }

    public static func < (lhs: TimeDuration, rhs: TimeDuration) -> Bool { lhs.milliseconds < rhs.milliseconds }

    private static let units: [(name: String, milliseconds: Double)] = [
        ("ns", 1e-6), ("us", 1e-3), ("µs", 1e-3), ("μs", 1e-3), ("ms", 1), ("s", 1000), ("m", 60_000),
        ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000), ("y", 31_449_600_000),
    ]

    /// Parses the text; the error names `field` and says what is wrong.
    public init(parsing text: String, field: String = "duration") throws {
        let invalid = SheduError.badRequest(
            "\(field) '\(text)' is not a duration (use units ms s m h d w y, e.g. \"1y\", \"4w2d\", \"90d\")")
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest == "0" {
            milliseconds = 0
            return
        }
        if rest.hasPrefix("-") {
            throw SheduError.badRequest("\(field) '\(text)' must not be negative")
        }
        if rest.hasPrefix("+") { rest = rest.dropFirst() }
        guard !rest.isEmpty else { throw invalid }
        var total = 0.0
        while !rest.isEmpty {
            let numberText = rest.prefix { $0.isASCIIDigit || $0 == "." }
            guard !numberText.isEmpty, numberText != ".", let value = Double(numberText) else { throw invalid }
            rest = rest.dropFirst(numberText.count)
            let unitText = rest.prefix { !$0.isASCIIDigit && $0 != "." }
            guard let unit = Self.units.first(where: { $0.name == unitText }) else { throw invalid }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.milliseconds
        }
        guard total < 9e15 else { throw SheduError.badRequest("\(field) '\(text)' is too long") }
        milliseconds = Int64(total.rounded())
    }

    /// Largest units first, zero parts omitted: 30 days → `"4w2d"`, 364 days → `"1y"`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds
        var text = ""
        for (name, size) in [
            ("y", 31_449_600_000 as Int64), ("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000),
            ("s", 1000), ("ms", 1),
        ] {
            let count = rest / size
            if count > 0 {
                text += "\(count)\(name)"
                rest -= count * size
            }
        }
        return text
    }
}

extension TimeDuration: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let field = decoder.codingPath.isEmpty ? "duration" : decoder.codingPath.map(\.stringValue).joined(separator: ".")
        try self.init(parsing: try container.decode(String.self), field: field)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
