import SwiftASN1

/// Why a certificate was revoked: the RFC 5280 §5.3.1 `CRLReason` codes (7 is not used).
///
/// CRL entries and OCSP `RevokedInfo` carry it; ``unspecified`` is written by leaving the reason
/// out, as RFC 5280 recommends.
public enum CRLReason: Int, Hashable, Sendable, CaseIterable, Codable {
    case unspecified = 0
    case keyCompromise = 1
    case cACompromise = 2
    case affiliationChanged = 3
    case superseded = 4
    case cessationOfOperation = 5
    case certificateHold = 6
    case removeFromCRL = 8
    case privilegeWithdrawn = 9
    case aACompromise = 10
}

extension CRLReason: DERImplicitlyTaggable {
    /// `CRLReason ::= ENUMERATED`.
    public static var defaultIdentifier: ASN1Identifier { .enumerated }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let code = try Int(derEncoded: rootNode, withIdentifier: identifier)
        guard let reason = CRLReason(rawValue: code) else {
            throw ASN1Error.invalidASN1Object(reason: "unknown CRLReason \(code)")
        }
        self = reason
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try rawValue.serialize(into: &coder, withIdentifier: identifier)
    }
}
