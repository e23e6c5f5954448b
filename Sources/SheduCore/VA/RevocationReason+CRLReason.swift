import SheduPKI

extension RevocationReason {
    /// The same reason as CRL entries and OCSP answers encode it.
    public var crlReason: CRLReason {
        // Every RevocationReason code is an RFC 5280 code.
        CRLReason(rawValue: code) ?? .unspecified
    }
}
