import Foundation
import SwiftASN1

extension GeneralizedTime {
    /// The UTC GeneralizedTime of `date` at whole seconds (`YYYYMMDDHHMMSSZ`), the form RFC 5280
    /// §4.1.2.5.2 and RFC 6960 want; the fraction of a second is dropped.
    public init(_ date: Date) throws {
        let fields = try UTCDateComponents(date)
        try self.init(
            year: fields.year, month: fields.month, day: fields.day, hours: fields.hours, minutes: fields.minutes,
            seconds: fields.seconds, fractionalSeconds: 0)
    }

    /// The instant this time names (GeneralizedTime in DER is always UTC).
    public var date: Date {
        let whole = UTCDateComponents(
            year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: seconds)
        return whole.date.addingTimeInterval(fractionalSeconds)
    }
}
