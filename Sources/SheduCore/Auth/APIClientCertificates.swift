import Foundation
import SheduPKI
import Synchronization
import X509

/// Machine clients of the API authenticated by a client certificate (a factory line, an MES,
/// another PKI), next to bearer tokens.
///
/// A certificate counts when it chains to an *API client CA*: a CA named in the configuration
/// (`--api-client-ca`) or one whose metadata sets `shedu.io/api-client-ca` to `true` (so an admin
/// can designate one at run time through `PUT /api/ca/v1/cas/{id}/metadata`). The caller is the
/// certificate's subject CN; its role is the highest `urn:shedu:role:<role>` URI in its subject
/// alternative names (as for a token's roles), else its OU when that is a role name, else `viewer`. A certificate that
/// chains to no API client CA authenticates nothing — it may be a device's EST certificate.
public final class APIClientCertificates: Sendable {
    public static let metadataKey = "shedu.io/api-client-ca"
    public static let roleURIPrefix = "urn:shedu:role:"
    /// How long the set of API client CAs is reused before it is read again.
    public static let anchorLifetime: TimeInterval = 2

    let ca: CAService
    let clock: any WallClock
    private let anchors = Mutex<(certificates: [Certificate], until: Date)?>(nil)
    private let verifiedChains = VerifiedChainCache()

    public init(ca: CAService, clock: any WallClock) {
        self.ca = ca
        self.clock = clock
    }

    /// The caller a presented chain stands for; nil when it does not chain to an API client CA.
    /// Throws 401 for one that does but is expired or revoked.
    public func principal(for chain: [Certificate]) async throws -> Principal? {
        guard let leaf = chain.first else { return nil }
        let anchors = try await currentAnchors()
        guard !anchors.isEmpty else { return nil }
        let now = clock.now()
        let validated: [Certificate]
        do {
            // Expiry is judged below, so that an expired client certificate is told why.
            validated = try await verifiedChains.verify(
                presented: chain, anchors: anchors, at: now, allowExpiredLeaf: true)
        } catch {
            return nil
        }
        let name = Subject(leaf.subject).commonName
        guard leaf.notValidAfter > now else {
            throw SheduError.unauthorized("the client certificate '\(name)' expired at \(RFC3339.format(leaf.notValidAfter))")
        }
        // RFC 5280 §4.2.1.12: a certificate with extended key usages serves those purposes only.
        if let usages = try? leaf.extensions.extendedKeyUsage, !usages.contains(.clientAuth), !usages.contains(.any) {
            throw SheduError.unauthorized(
                "the client certificate '\(name)' is not for client authentication: its extended key usage lacks clientAuth")
        }
        for certificate in validated.dropLast() {
            let serial = certificate.serialNumber.hexString
            guard let known = try? await ca.certificate(serialNumber: serial), known.der == certificate.derBytes else { continue }
            guard known.status == .active else {
                throw SheduError.unauthorized(
                    "the client certificate chain includes certificate \(serial) ('\(known.info.subject.commonName)'), which is \(known.status.rawValue)")
            }
        }
        return Principal(subject: name.isEmpty ? leaf.serialNumber.hexString : name, role: Self.role(of: leaf), method: .clientCertificate)
    }

    /// The role a certificate carries (see the type's documentation).
    public static func role(of certificate: Certificate) -> Role {
        let names = (try? certificate.extensions.subjectAlternativeNames).map(Array.init) ?? []
        let roles = names.compactMap { name -> Role? in
            guard case .uniformResourceIdentifier(let uri) = name, uri.lowercased().hasPrefix(roleURIPrefix) else { return nil }
            return Role(claimValue: String(uri.dropFirst(roleURIPrefix.count)))
        }
        // The highest it names, as for a token's roles.
        return roles.max() ?? Role(claimValue: Subject(certificate.subject).organizationUnit) ?? .viewer
    }

    /// The certificates of the API client CAs, read again every ``anchorLifetime``.
    func currentAnchors() async throws -> [Certificate] {
        let now = clock.now()
        if let cached = anchors.withLock({ $0 }), cached.until > now { return cached.certificates }
        var ids = Set(ca.apiClientCAIDs)
        let flagged = try ListQuery(
            filters: ["metadata[jsonpath]$['\(Self.metadataKey)'] == true"], sortBy: nil, sortMode: nil,
            pageSize: String(ListQuery.maximumPageSize), bookmark: nil, fields: CertificateAuthority.fields)
        var certificates: [Certificate] = []
        for authority in try await ca.listCAs(flagged).items {
            ids.remove(authority.id)
            certificates.append(try authority.certificate.certificate())
        }
        for id in ids {
            if let authority = try? await ca.ca(id: id) { certificates.append(try authority.certificate.certificate()) }
        }
        anchors.withLock { $0 = (certificates, now.addingTimeInterval(Self.anchorLifetime)) }
        return certificates
    }
}
