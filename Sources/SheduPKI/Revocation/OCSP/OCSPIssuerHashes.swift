import SwiftASN1
import X509

/// A CA's issuerNameHash and issuerKeyHash for one hash algorithm (RFC 6960 §4.1.1): what
/// identifies it in the CertIDs of OCSP requests.
///
/// The VA computes them once per CA and algorithm (SHA-1 and SHA-256 cover real clients) and
/// matches each request's CertIDs against them.
public struct OCSPIssuerHashes: Hashable, Sendable {
    public var hashAlgorithm: OCSPHashAlgorithm
    /// The hash of the DER of the CA certificate's subject name.
    public var nameHash: [UInt8]
    /// The hash of the CA's subjectPublicKey BIT STRING contents (no tag, length or unused-bits byte).
    public var keyHash: [UInt8]

    public init(issuer: Certificate, hashAlgorithm: OCSPHashAlgorithm) throws {
        var name = DER.Serializer()
        try name.serialize(issuer.subject)
        self.hashAlgorithm = hashAlgorithm
        nameHash = hashAlgorithm.hash(name.serializedBytes)
        keyHash = hashAlgorithm.hash(issuer.publicKey.subjectPublicKeyInfoBytes)
    }

    /// Whether `certID` names a certificate of this CA (its serial number is not looked at).
    public func matches(_ certID: OCSPCertID) -> Bool {
        certID.hashAlgorithm == hashAlgorithm && certID.issuerNameHash == nameHash && certID.issuerKeyHash == keyHash
    }
}
