import Foundation

/// Which certificates a list covers, beside its filters.
public enum CertificateScope: Sendable, Hashable {
    case all
    /// Certificates a CA issued (not its own).
    case issuedBy(caID: String)
    /// Live certificates (not REVOKED or EXPIRED), for the expiration window; the window itself
    /// comes as `valid_to` filters, so that bookmarks carry it.
    case expiring
}

/// Certificate counts by status.
public typealias StatusCounts = [CertificateStatus: Int]

public struct CAStats: Sendable, Hashable {
    public var caCount: Int
    public var caEngines: [String: Int]
    public var caStatuses: StatusCounts
    public var certificateCount: Int
    public var certificateStatuses: StatusCounts

    public init(caCount: Int, caEngines: [String: Int], caStatuses: StatusCounts, certificateCount: Int, certificateStatuses: StatusCounts) {
        self.caCount = caCount
        self.caEngines = caEngines
        self.caStatuses = caStatuses
        self.certificateCount = certificateCount
        self.certificateStatuses = certificateStatuses
    }
}

/// A certificate's encoding and status, as a revocation check reads them.
public struct KnownCertificate: Sendable, Hashable {
    public var der: [UInt8]
    public var status: CertificateStatus
    public var revocationReason: RevocationReason
    public var commonName: String

    public init(der: [UInt8], status: CertificateStatus, revocationReason: RevocationReason, commonName: String) {
        self.der = der
        self.status = status
        self.revocationReason = revocationReason
        self.commonName = commonName
    }
}

/// Where CAs and certificates are kept. Changes and their events are written in one transaction.
public protocol CAStore: Sendable {
    /// Adds a CA with its certificate, and its new KMS key if it has one. `requireActiveParent`
    /// names a CA that must still be ACTIVE when the transaction commits. `reparent` lists CAs
    /// that become children of this one, with the levels below recomputed. `adopt` lists
    /// certificates it issued whose issuer was deleted (``orphanCertificates(authorityKeyID:caID:)``);
    /// any other certificate still naming a deleted CA of the same id no longer names it.
    func insertCA(
        _ ca: CertificateAuthority, newKey: StoredKey?, requireActiveParent: String?, reparent: [String],
        adopt: [String], events: [DomainEvent]
    ) async throws
    /// End-entity certificates whose issuing CA no longer exists, that name `caID` as their
    /// issuer or (when given) `authorityKeyID` as their authority key id, or that carry none:
    /// serial number and DER (the caller checks issuer name and signature).
    func orphanCertificates(authorityKeyID: String?, caID: String) async throws -> [(serialNumber: String, der: [UInt8])]
    func ca(id: String) async throws -> CertificateAuthority?
    func listCAs(_ query: ListQuery) async throws -> Page<CertificateAuthority>
    /// CAs whose certificate has this subject key id, or else this subject common name.
    func caCandidates(subjectKeyID: String?, commonName: String) async throws -> [CertificateAuthority]
    /// The id of a CA whose key this is, if any.
    func caID(usingKey keyID: String) async throws -> String?
    /// CAs whose certificate names this authority key id, or none (possible children of a CA
    /// being imported; the caller checks issuer name and signature).
    func casCertified(byAuthorityKeyID: String) async throws -> [CertificateAuthority]
    /// Reads, changes and writes a CA's own fields (metadata, profile) in one transaction.
    func updateCA(id: String, _ change: @escaping @Sendable (inout CertificateAuthority) throws -> [DomainEvent]) async throws
        -> CertificateAuthority?
    /// Makes `certificate` the CA's current certificate; the previous one stays, marked as replaced.
    func replaceCACertificate(id: String, with certificate: CertificateRecord, requireActiveParent: String?, events: [DomainEvent])
        async throws
    /// Applies a status transition to a CA's certificate and everything below it (see ``CAService``).
    func changeCAStatus(id: String, transition: StatusChange.Transition, at time: Date, events: [DomainEvent]) async throws
    /// Removes a CA (its certificates stay); what it certified that is still live is revoked
    /// (CessationOfOperation) at `time`. Its key goes too when no other CA uses it.
    func deleteCA(id: String, deleteKey: Bool, at time: Date, events: [DomainEvent]) async throws

    /// Adds a certificate issued elsewhere; below a revoked CA it comes in revoked as the cascade
    /// would have left it. Returns it as stored; `events` are made from that.
    func importCertificate(
        _ certificate: CertificateRecord, at now: Date, events: @escaping @Sendable (CertificateRecord) throws -> [DomainEvent]
    ) async throws -> CertificateRecord
    /// Adds a certificate; when `requireActiveCA` is given, only if that CA is still ACTIVE.
    func insertCertificate(_ certificate: CertificateRecord, newKey: StoredKey?, requireActiveCA: String?, events: [DomainEvent])
        async throws
    func certificate(serialNumber: String) async throws -> CertificateRecord?
    /// What a revocation check needs of a certificate, without reading its documents.
    func knownCertificate(serialNumber: String) async throws -> KnownCertificate?
    func listCertificates(_ query: ListQuery, scope: CertificateScope) async throws -> Page<CertificateRecord>
    /// Reads, changes and writes a certificate in one transaction; nil when there is none. A
    /// device bound to it follows a change of its status (at `now`) in the same transaction.
    func updateCertificate(
        serialNumber: String, now: Date, _ change: @escaping @Sendable (inout CertificateRecord) throws -> [DomainEvent]
    ) async throws -> CertificateRecord?
    /// Removes a certificate; refused while its issuing CA exists. False when there was none.
    func deleteCertificate(serialNumber: String, events: [DomainEvent]) async throws -> Bool
    /// Counts of the CAs and certificates that pass their filters (AND-ed; none: all).
    func stats(caFilters: [Filter], certificateFilters: [Filter]) async throws -> CAStats
    func certificateStatuses(issuedBy caID: String, filters: [Filter]) async throws -> StatusCounts
    /// Marks live certificates and CAs whose validity ended before `now` EXPIRED, at most `limit`
    /// per call, with their events; returns how many changed.
    func expireCertificates(before now: Date, limit: Int) async throws -> Int
}
