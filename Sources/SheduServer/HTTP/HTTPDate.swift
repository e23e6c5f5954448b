import Foundation
import Synchronization

/// HTTP dates (RFC 9110 §5.6.7 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) without a
/// `DateFormatter`.
enum HTTPDate {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The `Date` header of an answer sent now (RFC 9110 §6.6.1), formatted once a second.
    static func now() -> String {
        let second = time(nil)
        return current.withLock { cached in
            if cached.second != second { cached = (second, format(Date(timeIntervalSince1970: TimeInterval(second)))) }
            return cached.text
        }
    }

    private static let current = Mutex<(second: time_t, text: String)>((0, ""))

    static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var fields = tm()
        gmtime_r(&seconds, &fields)
        func pad(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[Int(fields.tm_wday)]), \(pad(fields.tm_mday)) \(months[Int(fields.tm_mon)]) \(fields.tm_year + 1900) "
            + "\(pad(fields.tm_hour)):\(pad(fields.tm_min)):\(pad(fields.tm_sec)) GMT"
    }

    /// An IMF-fixdate; nil for anything else (the obsolete forms too: a conditional request whose
    /// date cannot be read is answered in full, which is always allowed).
    static func parse(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int32(parts[1]), let year = Int32(parts[3]),
            let month = months.firstIndex(of: String(parts[2]))
        else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int32($0) }
        guard time.count == 3 else { return nil }
        var fields = tm()
        fields.tm_year = year - 1900
        fields.tm_mon = Int32(month)
        fields.tm_mday = day
        fields.tm_hour = time[0]
        fields.tm_min = time[1]
        fields.tm_sec = time[2]
        return Date(timeIntervalSince1970: TimeInterval(timegm(&fields)))
    }
}
