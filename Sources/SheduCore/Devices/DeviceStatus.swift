import SheduPKI

/// Where a device's identity stands (API.md §4). It follows the bound certificate: its
/// revocation, its expiry, and the DMS windows before the expiry.
public enum DeviceStatus: String, NamedCase, Codable {
    case noIdentity = "NO_IDENTITY"
    case active = "ACTIVE"
    case renewalWindow = "RENEWAL_WINDOW"
    case aboutToExpire = "ABOUT_TO_EXPIRE"
    case expired = "EXPIRED"
    case revoked = "REVOKED"
    case decommissioned = "DECOMMISSIONED"

    /// Statuses with a certificate that still works: the device must be decommissioned before
    /// it is deleted.
    public var hasLiveIdentity: Bool { self == .active || self == .renewalWindow || self == .aboutToExpire }
}

/// What a device's history records (Lamassu's event types).
public enum DeviceEventType: String, NamedCase, Codable {
    case created = "CREATED"
    case provisioned = "PROVISIONED"
    case reprovisioned = "RE-PROVISIONED"
    case renewed = "RENEWED"
    case statusUpdated = "STATUS-UPDATED"
    case decommissioned = "DECOMMISSIONED"
}
