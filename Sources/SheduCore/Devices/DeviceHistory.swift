import Foundation

/// One entry of a device's history.
public struct DeviceEvent: Sendable, Hashable, Codable {
    public var type: String
    public var description: String

    public init(_ type: DeviceEventType, _ description: String = "") {
        self.type = type.rawValue
        self.description = description
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: "")
        description = try container.decode(.description, default: "")
    }
}

/// A device's history as Lamassu shows it: an object keyed by RFC 3339 timestamps, oldest first.
///
/// Keys carry nine fractional digits, so events of one instant keep distinct keys and text
/// order is time order.
public struct DeviceHistory: Sendable, Hashable {
    public private(set) var entries: [String: DeviceEvent]

    public init(entries: [String: DeviceEvent] = [:]) {
        self.entries = entries
    }

    /// Adds an event at `time`, after any already recorded at the same instant.
    public mutating func append(_ event: DeviceEvent, at time: Date) {
        var sequence = 0
        var key = Self.key(time, sequence: sequence)
        while entries[key] != nil {
            sequence += 1
            key = Self.key(time, sequence: sequence)
        }
        entries[key] = event
    }

    /// The key of the `sequence`th event at `time`.
    public static func key(_ time: Date, sequence: Int) -> String {
        RFC3339.sequencedKey(epochMilliseconds: time.epochMilliseconds, sequence: sequence)
    }

    public var sortedKeys: [String] { entries.keys.sorted() }
}

extension DeviceHistory: Decodable, JSONWritable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: MemberKey.self)
        var entries: [String: DeviceEvent] = [:]
        for key in container.allKeys { entries[key.stringValue] = try container.decode(DeviceEvent.self, forKey: key) }
        self.entries = entries
    }

    /// Oldest first: keys sort in time order.
    public func writeJSON(to writer: inout JSONTextWriter) {
        writer.beginObject()
        for key in sortedKeys {
            let event = entries[key]!
            writer.key(key)
            writer.beginObject()
            writer.field("type", event.type)
            writer.field("description", event.description)
            writer.endObject()
        }
        writer.endObject()
    }
}
