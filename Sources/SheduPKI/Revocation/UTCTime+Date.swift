import Foundation
import SwiftASN1

extension UTCTime {
    /// The UTCTime of `date` at whole seconds (`YYMMDDHHMMSSZ`); throws outside 1950–2049, the
    /// years a UTCTime can name (RFC 5280 §4.1.2.5.1).
    public init(_ date: Date) throws {
        let fields = try UTCDateComponents(date)
        guard (1950...2049).contains(fields.year) else {
            throw PKIError.invalidInput("a UTCTime cannot hold the year \(fields.year)")
        }
        try self.init(
            year: fields.year, month: fields.month, day: fields.day, hours: fields.hours, minutes: fields.minutes,
            seconds: fields.seconds)
    }

    /// The instant this time names.
    public var date: Date {
        UTCDateComponents(year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: seconds).date
    }
}
