import Foundation

/// The instants at which a bound certificate moves its device into each window (API.md §4),
/// kept with the device so that time passing is a range query, not a scan.
public struct StatusWindows: Sendable, Hashable {
    /// Enters RENEWAL_WINDOW (`valid_to` − `preventive_delta`).
    public var preventiveAt: Date
    /// Enters ABOUT_TO_EXPIRE (`valid_to` − `critical_delta`).
    public var criticalAt: Date
    /// Enters EXPIRED (`valid_to`).
    public var expiresAt: Date

    public init(expiresAt: Date, preventiveDelta: TimeDuration, criticalDelta: TimeDuration) {
        self.expiresAt = expiresAt
        preventiveAt = expiresAt.addingTimeInterval(-preventiveDelta.timeInterval)
        criticalAt = expiresAt.addingTimeInterval(-criticalDelta.timeInterval)
    }

    public init(preventiveAt: Date, criticalAt: Date, expiresAt: Date) {
        self.preventiveAt = preventiveAt
        self.criticalAt = criticalAt
        self.expiresAt = expiresAt
    }
}

/// The device's x509 identity: every certificate it has had, and which is current.
public struct IdentitySlot: Sendable, Hashable {
    public var activeVersion: Int
    /// Version number → certificate serial number.
    public var versions: [Int: String]
    public var expirationDate: Date?
    public var events: DeviceHistory

    public init(activeVersion: Int, versions: [Int: String], expirationDate: Date?, events: DeviceHistory = .init()) {
        self.activeVersion = activeVersion
        self.versions = versions
        self.expirationDate = expirationDate
        self.events = events
    }

    public var activeSerialNumber: String? { versions[activeVersion] }
}

extension IdentitySlot: Codable {
    enum CodingKeys: String, CodingKey {
        case activeVersion = "active_version", versions, expirationDate = "expiration_date", events
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        activeVersion = try container.decode(.activeVersion, default: 0)
        let versionTexts: [String: String] = try container.decode(.versions, default: [:])
        versions = Dictionary(uniqueKeysWithValues: versionTexts.compactMap { key, value in Int(key).map { ($0, value) } })
        expirationDate = try container.decodeIfPresent(Date.self, forKey: .expirationDate)
        events = try container.decode(.events, default: .init())
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(activeVersion, forKey: .activeVersion)
        try container.encode(OrderedVersions(versions), forKey: .versions)
        try container.encodeIfPresent(expirationDate, forKey: .expirationDate)
        try container.encode(events, forKey: .events)
    }

    /// `{"0": "<serial>", "1": ...}` in version order.
    struct OrderedVersions: Encodable {
        var versions: [Int: String]
        init(_ versions: [Int: String]) { self.versions = versions }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: DeviceHistory.Key.self)
            for version in versions.keys.sorted() {
                try container.encode(versions[version], forKey: .init(stringValue: String(version)))
            }
        }
    }
}

/// A device of the inventory (API.md §4).
public struct Device: Sendable, Hashable {
    public var id: String
    public var dmsOwner: String
    public var status: DeviceStatus
    public var tags: [String]
    public var metadata: [String: JSONValue]
    public var icon: String
    public var iconColor: String
    public var creationDate: Date
    public var identity: IdentitySlot?
    public var events: DeviceHistory
    /// The windows of the active certificate; nil without one.
    public var windows: StatusWindows?

    public init(
        id: String, dmsOwner: String, status: DeviceStatus = .noIdentity, tags: [String] = [],
        metadata: [String: JSONValue] = [:], icon: String = "", iconColor: String = "", creationDate: Date,
        identity: IdentitySlot? = nil, events: DeviceHistory = .init(), windows: StatusWindows? = nil
    ) {
        self.id = id
        self.dmsOwner = dmsOwner
        self.status = status
        self.tags = tags
        self.metadata = metadata
        self.icon = icon
        self.iconColor = iconColor
        self.creationDate = creationDate
        self.identity = identity
        self.events = events
        self.windows = windows
    }

    public var activeSerialNumber: String? { identity?.activeSerialNumber }

    /// Filterable fields of device lists (Lamassu's).
    public static let fields = FieldSet(
        [
            FieldDefinition("id", .string), FieldDefinition("dms_owner", .string),
            FieldDefinition("status", .enumeration(DeviceStatus.allCases.map(\.rawValue))),
            FieldDefinition("tags", .stringArray), FieldDefinition("metadata", .json),
            FieldDefinition("creation_timestamp", .date), FieldDefinition("identity_slot", .json),
        ], defaultSort: "creation_timestamp")
}

extension Device: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, dmsOwner = "dms_owner", status, tags, metadata, icon, iconColor = "icon_color"
        case creationDate = "creation_timestamp", identity = "identity_slot", events
    }

    /// The slot as the API shows it, with the status of the identity itself.
    struct SlotView: Encodable {
        var slot: IdentitySlot
        var status: String
        enum CodingKeys: String, CodingKey { case status, activeVersion = "active_version", type, versions, expirationDate = "expiration_date", events }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(status, forKey: .status)
            try container.encode(slot.activeVersion, forKey: .activeVersion)
            try container.encode("x509", forKey: .type)
            try container.encode(IdentitySlot.OrderedVersions(slot.versions), forKey: .versions)
            try container.encodeIfPresent(slot.expirationDate, forKey: .expirationDate)
            try container.encode(slot.events, forKey: .events)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(dmsOwner, forKey: .dmsOwner)
        try container.encode(status, forKey: .status)
        try container.encode(creationDate, forKey: .creationDate)
        try container.encode(tags, forKey: .tags)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(icon, forKey: .icon)
        try container.encode(iconColor, forKey: .iconColor)
        if let identity {
            // A decommissioned device's identity was revoked with it.
            let slotStatus = status == .decommissioned ? DeviceStatus.revoked.rawValue : status.rawValue
            try container.encode(SlotView(slot: identity, status: slotStatus), forKey: .identity)
        } else {
            try container.encodeNil(forKey: .identity)
        }
        try container.encode(events, forKey: .events)
    }
}

/// The body of `POST /devices`.
public struct RegisterDeviceRequest: Sendable, Decodable {
    public var id: String?
    public var dmsID: String?
    public var tags: [String]?
    public var metadata: [String: JSONValue]?
    public var icon: String?
    public var iconColor: String?

    public init(id: String?, dmsID: String?, tags: [String]? = nil, metadata: [String: JSONValue]? = nil, icon: String? = nil, iconColor: String? = nil) {
        self.id = id
        self.dmsID = dmsID
        self.tags = tags
        self.metadata = metadata
        self.icon = icon
        self.iconColor = iconColor
    }

    enum CodingKeys: String, CodingKey { case id, dmsID = "dms_id", tags, metadata, icon, iconColor = "icon_color" }
}
