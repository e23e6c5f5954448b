/// What a caller may do. Roles are ordered: each includes the ones below it.
public enum Role: String, Sendable, Hashable, Comparable, CaseIterable, Codable {
    /// Read-only.
    case viewer
    /// Everything but deleting CAs and keys.
    case `operator`
    /// Everything.
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    /// Reads a role name from a token or certificate; Lamassu's Keycloak role `pki-admin` is admin.
    public init?(claimValue: String) {
        switch claimValue.lowercased() {
        case "admin", "pki-admin": self = .admin
        case "operator": self = .operator
        case "viewer": self = .viewer
        default: return nil
        }
    }
}

/// The role of the API caller the current task serves; nil for a device over EST or a background
/// job. Routes check roles themselves; this serves the few checks that depend on what a request
/// touches (a CA whose certificates are API credentials, ``CAService``).
public enum Caller {
    @TaskLocal public static var role: Role?
}

/// Who is calling, once authenticated.
public struct Principal: Sendable, Hashable {
    public enum Method: String, Sendable, Hashable {
        case localToken = "token"
        case oidcToken = "oidc"
        case clientCertificate = "certificate"
    }

    public var subject: String
    public var role: Role
    public var method: Method

    public init(subject: String, role: Role, method: Method) {
        self.subject = subject
        self.role = role
        self.method = method
    }
}
