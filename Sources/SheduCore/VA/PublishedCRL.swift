import Foundation

/// A CA's CRL as the VA serves it: the DER signed once, and when it is to be replaced.
public struct PublishedCRL: Sendable, Hashable {
    public var der: [UInt8]
    public var summary: CRLSummary
    /// thisUpdate + refresh_interval: from then on the next download (or the refresh) signs a new one.
    public var refreshAt: Date
    /// The subject key identifier of the CA that signed it. A CA id deleted and made again names
    /// another key: the CRL kept under that id is not the new CA's.
    var issuerKeyID: String
    var regenerateOnRevoke: Bool
    /// The change counts of the CA's slot when the CRL was built (see ``CRLPublications``).
    var builtFrom: CRLPublications.Changes

    /// A quoted HTTP entity tag: the CRL number names the CRL's content.
    public var entityTag: String { "\"crl-\(summary.number)\"" }
}
