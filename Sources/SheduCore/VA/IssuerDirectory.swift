import SheduPKI
import X509

/// Shedu's CAs as OCSP and CRL requests name them: by the issuer hashes of a CertID, and by
/// subject key identifier. Built once from the store and replaced when a CA changes.
struct IssuerDirectory: Sendable {
    struct Authority: Sendable {
        var id: String
        var certificate: Certificate
        /// Lowercase hex of the subject key identifier: the `{ca_ski}` of its CRL.
        var subjectKeyID: String
        var keyID: String?
        var hashes: [OCSPHashAlgorithm: OCSPIssuerHashes]

        var canSign: Bool { keyID != nil }
    }

    /// A CertID's issuer part.
    private struct HashKey: Hashable {
        var algorithm: OCSPHashAlgorithm
        var nameHash: [UInt8]
        var keyHash: [UInt8]
    }

    private(set) var authorities: [String: Authority] = [:]
    private var idsByHashes: [HashKey: [String]] = [:]
    private var idsBySKI: [String: String] = [:]

    init(_ rows: [VAAuthority]) {
        for row in rows {
            // A CA whose certificate does not parse cannot be answered for.
            guard let certificate = try? Certificate(derEncoded: row.certificateDER) else { continue }
            var hashes: [OCSPHashAlgorithm: OCSPIssuerHashes] = [:]
            for algorithm in OCSPHashAlgorithm.allCases {
                guard let issuerHashes = try? OCSPIssuerHashes(issuer: certificate, hashAlgorithm: algorithm) else { continue }
                hashes[algorithm] = issuerHashes
                idsByHashes[HashKey(algorithm: algorithm, nameHash: issuerHashes.nameHash, keyHash: issuerHashes.keyHash), default: []]
                    .append(row.id)
            }
            let authority = Authority(
                id: row.id, certificate: certificate, subjectKeyID: row.subjectKeyID, keyID: row.keyID, hashes: hashes)
            authorities[row.id] = authority
            // Two CAs may share a key (and so a CRL URL): the oldest that can sign publishes it.
            if let holder = idsBySKI[row.subjectKeyID], authorities[holder]?.canSign == true || !authority.canSign { continue }
            idsBySKI[row.subjectKeyID] = row.id
        }
    }

    /// The CAs whose name and key hash to the CertID's issuer hashes (usually one).
    func authorities(matching certID: OCSPCertID) -> [Authority] {
        let key = HashKey(algorithm: certID.hashAlgorithm, nameHash: certID.issuerNameHash, keyHash: certID.issuerKeyHash)
        return idsByHashes[key]?.compactMap { authorities[$0] } ?? []
    }

    /// The CA that publishes the CRL of this subject key identifier.
    func authority(subjectKeyID: String) -> Authority? {
        idsBySKI[subjectKeyID].flatMap { authorities[$0] }
    }

    /// One CA per subject key identifier: those that publish a CRL.
    var crlPublishers: [Authority] {
        idsBySKI.values.compactMap { authorities[$0] }.filter(\.canSign)
    }
}
