import Foundation

/// How long something issued stays valid: `{"type":"Duration","duration":"1y"}` or
/// `{"type":"Time","time":"2030-01-01T00:00:00Z"}`.
public enum Validity: Sendable, Hashable {
    case duration(TimeDuration)
    case time(Date)

    /// The instant at which something issued at `start` stops being valid.
    public func notAfter(from start: Date) -> Date {
        switch self {
        case .duration(let duration): start.addingTimeInterval(duration.timeInterval)
        case .time(let date): date
        }
    }
}

extension Validity: Codable {
    enum CodingKeys: String, CodingKey { case type, duration, time }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let field = decoder.codingPath.map(\.stringValue).joined(separator: ".")
        let type = try container.decodeIfPresent(String.self, forKey: .type) ?? ""
        switch type.lowercased() {
        case "duration":
            let duration = try container.decodeIfPresent(TimeDuration.self, forKey: .duration) ?? .zero
            guard duration.milliseconds > 0 else {
                throw SheduError.badRequest("\(field).duration must be a non-zero duration for type Duration")
            }
            self = .duration(duration)
        case "time":
            guard let text = try container.decodeIfPresent(String.self, forKey: .time),
                let date = RFC3339.parse(text)
            else {
                throw SheduError.badRequest("\(field).time must be an RFC 3339 time for type Time")
            }
            self = .time(date)
        default:
            throw SheduError.badRequest("\(field).type must be Duration or Time")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .duration(let duration):
            try container.encode("Duration", forKey: .type)
            try container.encode(duration, forKey: .duration)
        case .time(let date):
            try container.encode("Time", forKey: .type)
            try container.encode(RFC3339.format(date), forKey: .time)
        }
    }
}
