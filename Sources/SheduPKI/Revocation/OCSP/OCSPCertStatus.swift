import Foundation

/// What a responder says about one certificate (RFC 6960 §4.2.1 `CertStatus`).
public enum OCSPCertStatus: Hashable, Sendable {
    case good
    /// Revoked at `time`; the revocationReason is left out for ``CRLReason/unspecified``.
    case revoked(time: Date, reason: CRLReason)
    /// The responder knows nothing of the certificate (not one of its CAs' serials).
    case unknown
}
