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

/// Where the VA reads certificate statuses and keeps its roles and CRLs.
///
/// CRL numbers come from the database, so they grow across restarts and across replicas.
public protocol VAStore: Sendable {
    /// Every CA, oldest first.
    func authorities() async throws -> [VAAuthority]
    /// The states of the certificates with these serial numbers (lowercase hex); unknown ones are left out.
    func certificateStates(serialNumbers: [String]) async throws -> [CertificateState]
    /// Every revoked certificate the CA issued (not its own certificate), for its CRL.
    func revokedCertificates(issuedBy caID: String) async throws -> [RevokedCertificate]
    /// The role of the CA with this subject key identifier; nil when none was stored yet.
    func role(caSKI: String) async throws -> VARole?
    /// Stores a role's options (creating the role when missing), with their events.
    func saveOptions(_ options: CRLOptions, caSKI: String, events: [DomainEvent]) async throws
    /// Hands out the CA's next CRL number (1 for the first), creating its role with `defaults` when
    /// missing, and returns it with the role's options.
    func nextCRLNumber(caSKI: String, defaults: CRLOptions) async throws -> (number: UInt64, options: CRLOptions)
    /// Keeps `crl` as the CA's latest CRL unless one with a higher number is already stored.
    func saveCRL(_ crl: IssuedCRL, caSKI: String, events: [DomainEvent]) async throws
}
