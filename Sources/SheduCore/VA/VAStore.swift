import Foundation
import SheduPKI

/// A CA as the VA needs it: its current certificate and whether Shedu holds its key.
public struct VAAuthority: Sendable, Hashable {
    public var id: String
    public var certificateDER: [UInt8]
    /// Lowercase hex of the certificate's subject key identifier.
    public var subjectKeyID: String
    public var keyID: String?

    public init(id: String, certificateDER: [UInt8], subjectKeyID: String, keyID: String?) {
        self.id = id
        self.certificateDER = certificateDER
        self.subjectKeyID = subjectKeyID
        self.keyID = keyID
    }
}

/// What OCSP says about one certificate: who issued it and its status.
public struct CertificateState: Sendable, Hashable {
    public var serialNumber: String
    public var issuerCAID: String
    public var status: CertificateStatus
    public var revocationTime: Date?
    public var revocationReason: RevocationReason

    public init(
        serialNumber: String, issuerCAID: String, status: CertificateStatus, revocationTime: Date?,
        revocationReason: RevocationReason
    ) {
        self.serialNumber = serialNumber
        self.issuerCAID = issuerCAID
        self.status = status
        self.revocationTime = revocationTime
        self.revocationReason = revocationReason
    }
}

/// A signed CRL with its number and validity.
public struct IssuedCRL: Sendable, Hashable {
    public var summary: CRLSummary
    public var der: [UInt8]

    public init(summary: CRLSummary, der: [UInt8]) {
        self.summary = summary
        self.der = der
    }
}

/// What a CA's next CRL holds, handed out by ``VAStore/nextCRL(caSKI:issuedBy:defaults:)``.
public struct NextCRL: Sendable {
    public var number: UInt64
    /// The options of the CA's role when the number was taken.
    public var options: CRLOptions
    /// Every revoked certificate the CA issued.
    public var revoked: [RevokedCertificate]

    public init(number: UInt64, options: CRLOptions, revoked: [RevokedCertificate]) {
        self.number = number
        self.options = options
        self.revoked = revoked
    }
}

/// Where the VA reads certificate statuses and keeps its roles and CRLs.
///
/// CRL numbers come from the database, so they grow across restarts and across replicas.
public protocol VAStore: Sendable {
    /// Every CA, oldest first.
    func authorities() async throws -> [VAAuthority]
    /// The states of the certificates with these serial numbers (lowercase hex); unknown ones are left out.
    func certificateStates(serialNumbers: [String]) async throws -> [CertificateState]
    /// The role of the CA with this subject key identifier; nil when none was stored yet.
    func role(caSKI: String) async throws -> VARole?
    /// Stores a role's options (creating the role when missing), with their events.
    func saveOptions(_ options: CRLOptions, caSKI: String, events: [DomainEvent]) async throws
    /// Hands out the CA's next CRL number (1 for the first), creating its role with `defaults` when
    /// missing, with the role's options and every revoked certificate the CA issued (not its own
    /// certificate). Numbers follow contents: a CRL numbered higher lists every revocation that
    /// one numbered lower lists, also when several servers sign the CA's CRL at once.
    func nextCRL(caSKI: String, issuedBy caID: String, defaults: CRLOptions) async throws -> NextCRL
    /// Keeps `crl` as the CA's latest CRL unless one with a higher number is already stored.
    func saveCRL(_ crl: IssuedCRL, caSKI: String, events: [DomainEvent]) async throws
    /// The number of each CA's latest stored CRL, by the CA's subject key identifier.
    func latestCRLNumbers() async throws -> [String: UInt64]
    /// The CA's latest stored CRL with its role's options; nil when none is stored.
    func latestCRL(caSKI: String) async throws -> (crl: IssuedCRL, options: CRLOptions)?
}
