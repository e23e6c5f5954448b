/// Which certificate statuses a committed write changed, as the store reports it after COMMIT.
///
/// Caches of status (pre-signed OCSP responses, CRL encodings) are invalidated from it; the same
/// value could later arrive from another replica.
public enum CertificateStatusChange: Sendable, Hashable {
    /// These certificates changed status.
    case certificates([ChangedCertificate])
    /// A CA was reissued, deleted or changed status (cascades included): any certificate, and
    /// what is known about any CA, may have changed.
    case authorities
    /// A CA was added (created or imported, taking over the CAs it certified): the CAs changed,
    /// but no certificate's status and no other CA's CRL did.
    case authorityAdded
}

/// A certificate whose status changed, with the CA that issued it (whose CRL lists it).
public struct ChangedCertificate: Sendable, Hashable {
    public var serialNumber: String
    public var issuerCAID: String

    public init(serialNumber: String, issuerCAID: String) {
        self.serialNumber = serialNumber
        self.issuerCAID = issuerCAID
    }

    public init(_ record: CertificateRecord) {
        self.init(serialNumber: record.serialNumber, issuerCAID: record.issuer.id)
    }
}
