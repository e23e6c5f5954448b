import Foundation

/// Fast RFC 3339 formatting and parsing in UTC, without a `DateFormatter`.
public enum RFC3339 {
    /// `2026-03-09T10:00:00Z`, or with milliseconds (`...:00.250Z`) when the instant has them.
    public static func format(_ date: Date) -> String {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        return format(epochMilliseconds: totalMilliseconds)
    }

    public static func format(epochMilliseconds: Int64) -> String {
        let milliseconds = Int(((epochMilliseconds % 1000) + 1000) % 1000)
        return text(epochMilliseconds: epochMilliseconds, fraction: milliseconds, digits: milliseconds == 0 ? 0 : 3)
    }

    /// A fixed-width form with nine fractional digits, the last six a sequence number, so keys made
    /// at the same millisecond stay distinct and sort in time order as text (device histories).
    public static func sequencedKey(epochMilliseconds: Int64, sequence: Int) -> String {
        let milliseconds = Int(((epochMilliseconds % 1000) + 1000) % 1000)
        return text(epochMilliseconds: epochMilliseconds, fraction: milliseconds * 1_000_000 + sequence % 1_000_000, digits: 9)
    }

    /// `YYYY-MM-DDTHH:MM:SS`, then `.` and `fraction` in `digits` digits unless `digits` is 0, then
    /// `Z`; written into the string's own storage (this runs for every timestamp of every event).
    private static func text(epochMilliseconds: Int64, fraction: Int, digits: Int) -> String {
        let millisecondsPerDay: Int64 = 86_400_000
        var days = epochMilliseconds / millisecondsPerDay
        var rest = epochMilliseconds % millisecondsPerDay
        if rest < 0 {
            rest += millisecondsPerDay
            days -= 1
        }
        let (year, month, day) = civilDate(fromDays: days)
        let seconds = Int(rest / 1000)
        let fields = [(year, 4), (month, 2), (day, 2), (seconds / 3600, 2), (seconds / 60 % 60, 2), (seconds % 60, 2)]
        guard (0...9999).contains(year) else {
            // Outside four-digit years: rare enough for plain string work.
            let separators = ["", "-", "-", "T", ":", ":"]
            var text = zip(separators, fields).map { $0 + pad($1.0, $1.1) }.joined()
            if digits > 0 { text += "." + pad(fraction, digits) }
            return text + "Z"
        }
        let separators: [UInt8] = [0, UInt8(ascii: "-"), UInt8(ascii: "-"), UInt8(ascii: "T"), UInt8(ascii: ":"), UInt8(ascii: ":")]
        let length = 20 + (digits > 0 ? digits + 1 : 0)
        return String(unsafeUninitializedCapacity: length) { buffer in
            var index = 0
            func put(_ value: Int, width: Int) {
                var remaining = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                    remaining /= 10
                }
                index += width
            }
            for (separator, field) in zip(separators, fields) {
                if separator != 0 {
                    buffer[index] = separator
                    index += 1
                }
                put(field.0, width: field.1)
            }
            if digits > 0 {
                buffer[index] = UInt8(ascii: ".")
                index += 1
                put(fraction, width: digits)
            }
            buffer[index] = UInt8(ascii: "Z")
            return index + 1
        }
    }

    /// Accepts `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, lowercase `t`/`z` or a space as separator,
    /// and with `allowDateOnly` a bare `YYYY-MM-DD` (midnight UTC).
    public static func parse(_ text: String, allowDateOnly: Bool = false) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<(start + count)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 10, let year = number(0, 4), bytes[4] == UInt8(ascii: "-"), let month = number(5, 2),
            bytes[7] == UInt8(ascii: "-"), let day = number(8, 2), (1...12).contains(month),
            (1...daysInMonth(year: year, month: month)).contains(day)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        if bytes.count == 10 {
            return allowDateOnly ? Date(timeIntervalSince1970: Double(days) * 86_400) : nil
        }
        guard bytes.count >= 20, [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[10]),
            let hour = number(11, 2), bytes[13] == UInt8(ascii: ":"), let minute = number(14, 2),
            bytes[16] == UInt8(ascii: ":"), let second = number(17, 2), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        var offsetSeconds = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, let offsetHours = number(index + 1, 2), bytes[index + 3] == UInt8(ascii: ":"),
                let offsetMinutes = number(index + 4, 2), offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        let seconds = Double(days) * 86_400 + Double(hour * 3600 + minute * 60 + min(second, 59) - offsetSeconds)
        return Date(timeIntervalSince1970: seconds + fraction)
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * monthIndex + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilDate(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

extension Date {
    /// Whole milliseconds since 1970, the form instants take in the database.
    public var epochMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    public init(epochMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(epochMilliseconds) / 1000)
    }
}
