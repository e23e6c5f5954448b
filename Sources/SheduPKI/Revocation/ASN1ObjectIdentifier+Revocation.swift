import SwiftASN1

extension ASN1ObjectIdentifier {
    /// Object identifiers of CRLs (RFC 5280 §5) and OCSP (RFC 6960) that swift-certificates does not export.
    enum Revocation {
        static let cRLNumber: ASN1ObjectIdentifier = [2, 5, 29, 20]
        static let reasonCode: ASN1ObjectIdentifier = [2, 5, 29, 21]
        static let issuingDistributionPoint: ASN1ObjectIdentifier = [2, 5, 29, 28]
        static let authorityKeyIdentifier: ASN1ObjectIdentifier = [2, 5, 29, 35]
        static let ocspBasicResponse: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 1]
        static let ocspNonce: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 2]
        static let ocspAcceptableResponses: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 4]
    }
}
