import SwiftASN1
import X509

/// The CSR attributes EST's `/csrattrs` returns (RFC 7030 §4.5.2, RFC 9908): what a device should
/// put in its CSR for the issuance profile to accept it.
///
/// `CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID`, `AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER,
/// attribute Attribute }`: for each key type the profile accepts, an attribute naming the key
/// algorithm with its curves or sizes, then the signature algorithm the CA itself uses.
public enum CSRAttributes {
    static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
    static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 1, 1]
    static let curves: [Int: ASN1ObjectIdentifier] = [256: [1, 2, 840, 10045, 3, 1, 7], 384: [1, 3, 132, 0, 34], 521: [1, 3, 132, 0, 35]]

    /// The DER of the attributes for `policy`; empty (`SEQUENCE {}`) when the profile accepts any key.
    public static func encode(for policy: KeyPolicy, caSignatureAlgorithm: SignatureAlgorithmIdentifier?) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { attributes in
            guard policy.enabled else { return }
            if policy.allowECDSA, !policy.ecdsaSizes.isEmpty {
                try attributes.appendConstructedNode(identifier: .sequence) { attribute in
                    try attribute.serialize(ecPublicKey)
                    try attribute.serializeSetOf(policy.ecdsaSizes.sorted().compactMap { curves[$0] })
                }
            }
            if policy.allowRSA, !policy.rsaSizes.isEmpty {
                try attributes.appendConstructedNode(identifier: .sequence) { attribute in
                    try attribute.serialize(rsaEncryption)
                    try attribute.serializeSetOf(policy.rsaSizes.sorted())
                }
            }
            if policy.allowEd25519 {
                try attributes.serialize(SignatureAlgorithmIdentifier.ed25519.algorithm)
            }
            if let caSignatureAlgorithm, caSignatureAlgorithm != .ed25519 || !policy.allowEd25519 {
                try attributes.serialize(caSignatureAlgorithm.algorithm)
            }
        }
        return serializer.serializedBytes
    }
}
