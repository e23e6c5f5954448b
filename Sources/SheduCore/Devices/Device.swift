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
    /// The status the identity kept when its device was decommissioned, where that was not
    /// revoked with it: an expired certificate stays EXPIRED.
    public var statusAtDecommission: DeviceStatus?

    public init(activeVersion: Int, versions: [Int: String], expirationDate: Date?, events: DeviceHistory = .init()) {
        self.activeVersion = activeVersion
        self.versions = versions
        self.expirationDate = expirationDate
        self.events = events
    }

    public var activeSerialNumber: String? { versions[activeVersion] }
}

extension IdentitySlot: Decodable {
    enum CodingKeys: String, CodingKey {
        case activeVersion = "active_version", versions, expirationDate = "expiration_date", events
        case statusAtDecommission = "status_at_decommission"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        activeVersion = try container.decode(.activeVersion, default: 0)
        let versionTexts: [String: String] = try container.decode(.versions, default: [:])
        versions = Dictionary(uniqueKeysWithValues: versionTexts.compactMap { key, value in Int(key).map { ($0, value) } })
        expirationDate = try container.decodeIfPresent(Date.self, forKey: .expirationDate)
        events = try container.decode(.events, default: .init())
        statusAtDecommission = try container.decodeIfPresent(DeviceStatus.self, forKey: .statusAtDecommission)
    }
}

/// The stored form; the API shows the slot inside its device (``Device``).
extension IdentitySlot: JSONWritable {
    public func writeJSON(to writer: inout JSONTextWriter) {
        writer.beginObject()
        writer.field("active_version", activeVersion)
        writer.key("versions")
        writer.write(versions: versions)
        if let expirationDate { writer.field("expiration_date", expirationDate) }
        writer.field("events", events)
        if let statusAtDecommission { writer.field("status_at_decommission", statusAtDecommission.rawValue) }
        writer.endObject()
    }
}

/// A device of the inventory (API.md §4).
public struct Device: Sendable, Hashable {
    public static let maximumIDLength = 256
    /// Tags a device carries at most, as a list filter's `in` takes at most 1,000 values.
    public static let maximumTagCount = 1000

    /// Refuses more than ``maximumTagCount`` distinct tags (400 naming `field`).
    public static func checkTags(_ tags: [String], field: String) throws {
        for tag in tags { try IndexedText.check(tag, field: "a tag of \(field)") }
        let count = Set(tags).count
        guard count > maximumTagCount else { return }
        throw SheduError.badRequest("\(field) holds \(count) distinct tags; a device carries at most \(maximumTagCount)")
    }

    /// Whether `id` can name a device (``ResourceID``; spaces inside allowed).
    public static func canBeID(_ id: String) -> Bool {
        ResourceID.isValid(id, maximumLength: maximumIDLength, spaces: .inside)
    }

    /// What a new device may not be called (`GET /devices/dms/{dms_id}`). A device of that name
    /// enrolled before the rule keeps working.
    public static let routeSegments: Set<String> = ["dms"]

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

extension Device: JSONWritable {
    public func writeJSON(to writer: inout JSONTextWriter) {
        writer.beginObject()
        writer.field("id", id)
        writer.field("dms_owner", dmsOwner)
        writer.field("status", status.rawValue)
        writer.field("creation_timestamp", creationDate)
        writer.field("tags", tags)
        writer.field("metadata", metadata)
        writer.field("icon", icon)
        writer.field("icon_color", iconColor)
        if let identity {
            // The slot as the API shows it, with the status of the identity itself: a
            // decommissioned device's identity was revoked with it, unless it had expired.
            writer.key("identity_slot")
            writer.beginObject()
            let identityStatus = status == .decommissioned ? identity.statusAtDecommission ?? .revoked : status
            writer.field("status", identityStatus.rawValue)
            writer.field("active_version", identity.activeVersion)
            writer.field("type", "x509")
            writer.key("versions")
            writer.write(versions: identity.versions)
            if let expirationDate = identity.expirationDate { writer.field("expiration_date", expirationDate) }
            writer.field("events", identity.events)
            writer.endObject()
        } else {
            writer.fieldNull("identity_slot")
        }
        writer.field("events", events)
        writer.endObject()
    }
}

extension JSONTextWriter {
    /// `{"0": "<serial>", "1": ...}` in version order.
    mutating func write(versions: [Int: String]) {
        beginObject()
        for version in versions.keys.sorted() {
            key(String(version))
            writeString(versions[version]!)
        }
        endObject()
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
