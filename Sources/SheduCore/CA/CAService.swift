import Foundation
import SheduPKI
import Synchronization
import X509

/// Certificate authorities and the certificates they issue (API.md §2).
///
/// The signing path keeps each CA's certificate and unsealed key in memory; every change of a CA
/// goes through ``invalidate(caID:)``, the one place that drops that state.
public final class CAService: Sendable {
    let store: any CAStore
    let profiles: IssuanceProfileService
    let kms: KMSService
    let clock: any WallClock
    /// Base of the CRL and OCSP URLs written into certificates (`--public-url`).
    let publicURL: String
    /// CAs named by `--api-client-ca`; see ``APIClientCertificates``.
    public let apiClientCAIDs: [String]

    struct IssuerContext: Sendable {
        var ca: CertificateAuthority
        var issuer: Issuer
        /// What it signs authenticates API callers (``issuesAPICredentials(_:)``).
        var issuesAPICredentials: Bool
    }

    private let issuers = DroppableCache<String, IssuerContext>()
    /// CA certificates parsed, for the chains EST verifies against them.
    private let caCertificates = DroppableCache<String, Certificate>()

    public init(
        store: any CAStore, profiles: IssuanceProfileService, kms: KMSService, clock: any WallClock, publicURL: String,
        apiClientCAIDs: [String] = []
    ) {
        self.store = store
        self.profiles = profiles
        self.kms = kms
        self.clock = clock
        self.publicURL = publicURL
        self.apiClientCAIDs = apiClientCAIDs
    }

    // MARK: Shared helpers

    func notFound(ca id: String) -> SheduError { .notFound("CA '\(id)' not found") }

    public func ca(id: String) async throws -> CertificateAuthority {
        guard let ca = try await store.ca(id: id) else { throw notFound(ca: id) }
        return ca
    }

    public func listCAs(_ query: ListQuery) async throws -> Page<CertificateAuthority> {
        try await store.listCAs(query)
    }

    /// Drops what the signing path keeps about CAs: all of them, since a change can cascade down
    /// the tree (CA changes are rare; issuance is not).
    public func invalidate() {
        issuers.removeAll()
        caCertificates.removeAll()
    }

    /// A CA's current certificate, parsed and kept in memory; nil when there is no such CA.
    public func caCertificate(id: String) async throws -> Certificate? {
        try await caCertificates.value(id) {
            try await store.ca(id: id).map { try $0.certificate.certificate() }
        }
    }

    /// A certificate's encoding and status, when Shedu knows it.
    public func knownCertificate(serialNumber: String) async throws -> KnownCertificate? {
        try await store.knownCertificate(serialNumber: Self.normalizedSerial(serialNumber))
    }

    /// The URLs a CA's certificates carry: its CRL and the OCSP responder.
    func issuerURLs(keyIdentifier: [UInt8]) -> (crl: String, ocsp: String) {
        ("\(publicURL)/api/va/crl/\(Hex.encode(keyIdentifier))", "\(publicURL)/api/va/ocsp")
    }

    /// The CA ready to sign: certificate, key and URLs, kept in memory.
    func issuerContext(_ caID: String) async throws -> IssuerContext {
        // Never nil: a missing CA throws.
        try await issuers.value(caID) { try await loadIssuerContext(caID) }!
    }

    private func loadIssuerContext(_ caID: String) async throws -> IssuerContext {
        let ca = try await ca(id: caID)
        guard let keyID = ca.keyID else {
            throw SheduError.conflict("CA '\(caID)' has no private key in Shedu (it was imported without one)")
        }
        let key = try await kms.signingKey(keyID: keyID)
        let certificate = try ca.certificate.certificate()
        let keyIdentifier = certificate.subjectKeyIdentifierBytes ?? certificate.publicKey.keyIdentifier
        let urls = issuerURLs(keyIdentifier: keyIdentifier)
        return IssuerContext(
            ca: ca, issuer: try Issuer(certificate: certificate, key: key, crlURL: urls.crl, ocspURL: urls.ocsp),
            issuesAPICredentials: try await issuesAPICredentials(caID))
    }

    /// An ACTIVE CA that holds its key, ready to sign for this caller.
    func activeIssuer(_ caID: String) async throws -> IssuerContext {
        let context = try await issuerContext(caID)
        if let refusal = Self.signingRefusal(context.ca, at: clock.now()) { throw refusal }
        if context.issuesAPICredentials { try Self.requireAdmin(toSignWith: caID) }
        return context
    }

    // MARK: API credentials

    /// Whether `ca` authenticates API callers: named by `--api-client-ca`, or flagged in its metadata.
    public func isAPIClientCA(_ ca: CertificateAuthority) -> Bool {
        apiClientCAIDs.contains(ca.id) || ca.metadata[APIClientCertificates.metadataKey] == .bool(true)
    }

    /// Whether what `caID` signs is an API credential: it, or a CA above it, is an API client CA.
    func issuesAPICredentials(_ caID: String) async throws -> Bool {
        try await chain(of: caID).contains(where: isAPIClientCA)
    }

    /// Only an admin signs with a CA whose certificates are API credentials, or makes a CA one: an
    /// operator could otherwise give itself an admin certificate. Devices over EST (no caller)
    /// sign through a DMS, which only an admin points at such a CA.
    static func requireAdmin(toSignWith caID: String) throws {
        guard let role = Caller.role, role < .admin else { return }
        throw SheduError.forbidden(
            "CA '\(caID)' issues API client certificates (it or a CA above it authenticates API callers); only an admin may sign with it")
    }

    /// ``requireAdmin(toSignWith:)`` for a CA by id, when it issues API credentials.
    public func requireAdminForAPICredentials(of caID: String) async throws {
        guard let role = Caller.role, role < .admin else { return }
        if try await issuesAPICredentials(caID) { try Self.requireAdmin(toSignWith: caID) }
    }

    /// A new CA with this id and metadata would be an API client CA: only for an admin.
    func requireAdminToCreate(_ id: String, metadata: [String: JSONValue]?) throws {
        if apiClientCAIDs.contains(id) || metadata?[APIClientCertificates.metadataKey] == .bool(true) {
            try Self.requireAdmin(toDesignateAPIClientCA: id)
        }
    }

    /// Only an admin makes a CA an API client CA (creating one `--api-client-ca` names, or
    /// flagging one in its metadata) or unmakes one.
    /// - Parameter role: the caller's, read on the request's task (a store's write runs on another).
    static func requireAdmin(toDesignateAPIClientCA id: String, role: Role? = Caller.role) throws {
        guard let role, role < .admin else { return }
        throw SheduError.forbidden(
            "CA '\(id)' authenticates API callers (--api-client-ca or metadata \(APIClientCertificates.metadataKey)); only an admin may create it or change that")
    }

    /// Why a CA does not sign, if it does not: it is not ACTIVE (a hold says what lifts it), or
    /// its validity ended before the expiry monitor marked it.
    static func signingRefusal(_ ca: CertificateAuthority, at now: Date) -> SheduError? {
        if ca.status == .active, ca.certificate.info.notAfter <= now {
            return .conflict("CA '\(ca.id)' expired at \(RFC3339.format(ca.certificate.info.notAfter)) and cannot sign")
        }
        // An imported CA may start later: what it signed now would not verify before then.
        if ca.status == .active, ca.certificate.info.notBefore > now {
            return .conflict("CA '\(ca.id)' is not valid before \(RFC3339.format(ca.certificate.info.notBefore)) and cannot sign yet")
        }
        guard ca.status != .active else { return nil }
        guard ca.status == .revoked, ca.certificate.revocationReason == .certificateHold else {
            return .conflict("CA '\(ca.id)' is \(ca.status.rawValue) and cannot sign")
        }
        let holder = ca.certificate.heldByCA.map { "CA '\($0)' above it is released" } ?? "it is released (status ACTIVE)"
        return .conflict("CA '\(ca.id)' is on hold (REVOKED, CertificateHold) and cannot sign until \(holder)")
    }

    /// Refuses a CA certificate that `caID` would issue past a pathLenConstraint on its chain
    /// (RFC 5280 §4.2.1.9): no path through the new CA could be valid.
    func requireRoomForSubordinate(of caID: String) async throws {
        for (distance, ca) in try await chain(of: caID).enumerated() {
            guard case .isCertificateAuthority(let maxPathLength?) = try? ca.certificate.certificate().extensions.basicConstraints,
                maxPathLength <= distance
            else { continue }
            throw SheduError.badRequest(
                "a CA certificate issued by '\(caID)' would exceed the pathLenConstraint (\(maxPathLength)) of CA '\(ca.id)'")
        }
    }

    /// Profile precedence of API.md §2: inline, then `profile_id`, then the CA's default.
    /// - Parameter inlineField: names an inline profile that came with this request, to check it;
    ///   nil for one stored with a DMS, checked when the DMS was written.
    func resolveProfile(
        inline: IssuanceProfile?, id: String?, caDefault: String?, caID: String, inlineField: String?
    ) async throws -> IssuanceProfile {
        if let inline {
            if let inlineField { try inline.checkRules(field: inlineField) }
            return inline
        }
        if let id, !id.isEmpty { return try await profiles.profile(id: id) }
        if let caDefault, !caDefault.isEmpty { return try await profiles.profile(id: caDefault) }
        throw Self.noProfile(caID: caID)
    }

    static func noProfile(caID: String) -> SheduError {
        .badRequest("no issuance profile: pass profile_id or profile, or give CA '\(caID)' a default profile")
    }

    /// Builds and signs a certificate, mapping the PKI's refusals to 400.
    func build(
        _ subject: CertificateBuilder.Subject, policy: IssuancePolicy, issuer: Issuer?, selfSigningKey: SigningKey? = nil,
        serialNumber: Certificate.SerialNumber = .generate(), now: Date
    ) throws -> Certificate {
        try Self.build(subject, policy: policy, issuer: issuer, selfSigningKey: selfSigningKey, serialNumber: serialNumber, now: now)
    }

    static func build(
        _ subject: CertificateBuilder.Subject, policy: IssuancePolicy, issuer: Issuer?, selfSigningKey: SigningKey? = nil,
        serialNumber: Certificate.SerialNumber = .generate(), now: Date
    ) throws -> Certificate {
        do {
            return try CertificateBuilder.issue(
                subject, policy: policy, issuer: issuer, selfSigningKey: selfSigningKey, serialNumber: serialNumber, now: now)
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
    }

    func event(_ type: String, ca: CertificateAuthority) throws -> DomainEvent {
        try DomainEvent(type: type, service: "ca", subject: "ca/\(ca.id)", time: clock.now(), object: ca)
    }

    func event(_ type: String, certificate: CertificateRecord) throws -> DomainEvent {
        try DomainEvent(
            type: type, service: "ca", subject: "certificate/\(certificate.serialNumber)", time: clock.now(),
            object: certificate)
    }

    /// Runs `body` again with a new serial number when the one it was given is already taken.
    func withFreshSerial<T>(_ body: (Certificate.SerialNumber) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body(.generate())
            } catch is SerialNumberTaken where attempt < 3 {
                attempt += 1
            }
        }
    }
}

/// A store's answer when a certificate's serial number is already taken.
public struct SerialNumberTaken: Error, Sendable {
    public let serialNumber: String
    public init(serialNumber: String) { self.serialNumber = serialNumber }
}
