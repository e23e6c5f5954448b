import Foundation
import SheduPKI

/// The status of a certificate or CA (API.md §2).
public enum CertificateStatus: String, Hashable, Codable, NamedCase {
    case active = "ACTIVE"
    case expired = "EXPIRED"
    case revoked = "REVOKED"
    case inactive = "INACTIVE"
}

/// RFC 5280 revocation reasons, by Lamassu's names.
public enum RevocationReason: String, Hashable, Codable, NamedCase {
    case unspecified = "Unspecified"
    case keyCompromise = "KeyCompromise"
    case caCompromise = "CACompromise"
    case affiliationChanged = "AffiliationChanged"
    case superseded = "Superseded"
    case cessationOfOperation = "CessationOfOperation"
    case certificateHold = "CertificateHold"
    case removeFromCRL = "RemoveFromCRL"
    case privilegeWithdrawn = "PrivilegeWithdrawn"
    case aaCompromise = "AACompromise"

    /// The CRLReason code of RFC 5280 §5.3.1.
    public var code: Int {
        switch self {
        case .unspecified: 0
        case .keyCompromise: 1
        case .caCompromise: 2
        case .affiliationChanged: 3
        case .superseded: 4
        case .cessationOfOperation: 5
        case .certificateHold: 6
        case .removeFromCRL: 8
        case .privilegeWithdrawn: 9
        case .aaCompromise: 10
        }
    }
}

/// Where a certificate's private key is: made and kept by Shedu, imported with it, or unknown.
public enum CertificateType: String, Hashable, Codable, NamedCase {
    case managed = "MANAGED"
    case importedWithKey = "IMPORTED_WITH_KEY"
    case importedWithoutKey = "IMPORTED_WITHOUT_KEY"
}

/// A request to change a status: `{"status": "REVOKED", "revocation_reason": "KeyCompromise"}`.
public struct StatusChange: Sendable, Hashable, Decodable {
    public var status: CertificateStatus
    public var revocationReason: RevocationReason

    public init(status: CertificateStatus, revocationReason: RevocationReason = .unspecified) {
        self.status = status
        self.revocationReason = revocationReason
    }

    enum CodingKeys: String, CodingKey {
        case status, revocationReason = "revocation_reason"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let statusName = try container.decode(String.self, forKey: .status)
        guard let status = CertificateStatus(name: statusName) else {
            throw SheduError.badRequest("status '\(statusName)' is not one of \(CertificateStatus.allNames)")
        }
        self.status = status
        let reasonName = try container.decodeIfPresent(String.self, forKey: .revocationReason) ?? ""
        if reasonName.isEmpty {
            revocationReason = .unspecified
        } else if let reason = RevocationReason(name: reasonName) {
            revocationReason = reason
        } else {
            throw SheduError.badRequest("revocation_reason '\(reasonName)' is not one of \(RevocationReason.allNames)")
        }
    }

    /// Checks the change against the rules of API.md §2 and says what it does.
    ///
    /// EXPIRED is final and set only by the expiry monitor; a revocation is final unless its
    /// reason is `CertificateHold`, which may be released (back to ACTIVE) or made final.
    public func transition(from status: CertificateStatus, reason: RevocationReason, subject: String) throws -> Transition {
        if self.status == .revoked, revocationReason == .removeFromCRL {
            throw SheduError.badRequest("RemoveFromCRL is not a revocation reason; set status ACTIVE to release a hold")
        }
        if self.status == .expired {
            throw SheduError.badRequest("status EXPIRED is set by the expiry monitor when valid_to passes")
        }
        switch status {
        case .expired:
            throw SheduError.conflict("\(subject) is EXPIRED, which is final")
        case .revoked where reason != .certificateHold:
            throw SheduError.conflict("\(subject) is REVOKED (\(reason.rawValue)), which is final")
        case .revoked:
            switch self.status {
            case .active: return .release
            case .revoked: return revocationReason == .certificateHold ? .none : .revoke(revocationReason)
            default: throw SheduError.conflict("\(subject) is on hold: release it (ACTIVE) or revoke it")
            }
        case .active, .inactive:
            switch self.status {
            case .revoked: return .revoke(revocationReason)
            case status: return .none
            default: return .setStatus(self.status)
            }
        }
    }

    public enum Transition: Sendable, Hashable {
        /// Nothing changes.
        case none
        /// ACTIVE ↔ INACTIVE.
        case setStatus(CertificateStatus)
        case revoke(RevocationReason)
        /// Out of `CertificateHold`: ACTIVE again (EXPIRED if it expired meanwhile).
        case release
    }
}
