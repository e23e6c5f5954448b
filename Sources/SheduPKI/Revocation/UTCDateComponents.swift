import Foundation

/// A `Date` as UTC calendar fields at whole seconds, computed arithmetically (proleptic
/// Gregorian calendar, no leap seconds) so that encoding 100,000 CRL entries stays cheap.
struct UTCDateComponents: Hashable, Sendable {
    var year: Int
    var month: Int
    var day: Int
    var hours: Int
    var minutes: Int
    var seconds: Int

    /// The fields of `date`, its fraction of a second dropped; throws for a date outside years 0–9999.
    init(_ date: Date) throws {
        let interval = date.timeIntervalSince1970.rounded(.down)
        // Years 0 and 9999 bound what ASN.1 times can hold; this also keeps `Int(_:)` from trapping.
        guard interval.isFinite, interval >= -62_167_219_200, interval < 253_402_300_800 else {
            throw PKIError.invalidInput("the date \(date) is outside the years 0 to 9999")
        }
        let total = Int(interval)
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secondOfDay = total - days * 86_400
        (year, month, day) = Self.civil(fromDaysSince1970: days)
        hours = secondOfDay / 3600
        minutes = secondOfDay % 3600 / 60
        seconds = secondOfDay % 60
    }

    init(year: Int, month: Int, day: Int, hours: Int, minutes: Int, seconds: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hours = hours
        self.minutes = minutes
        self.seconds = seconds
    }

    /// The instant these fields name in UTC.
    var date: Date {
        let days = Self.daysSince1970(year: year, month: month, day: day)
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hours * 3600 + minutes * 60 + seconds))
    }

    // Howard Hinnant's `civil_from_days` and `days_from_civil`
    // (https://howardhinnant.github.io/date_algorithms.html).
    static func civil(fromDaysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
