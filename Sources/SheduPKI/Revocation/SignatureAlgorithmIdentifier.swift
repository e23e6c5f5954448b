import SwiftASN1

/// The AlgorithmIdentifier of a signature (RFC 5280 §4.1.1.2), as the CRLs and OCSP responses
/// Shedu writes carry it.
///
/// swift-certificates' `Certificate.SignatureAlgorithm` has no public OID and cannot be serialized
/// on its own, so the structures written here with `DER.Serializer` use this type. For a
/// ``KeySpec`` it names the same algorithm as ``KeySpec/certificateSignatureAlgorithm``.
public struct SignatureAlgorithmIdentifier: Hashable, Sendable, CustomStringConvertible {
    public var algorithm: ASN1ObjectIdentifier
    /// Whether the parameters are an explicit NULL (RSA PKCS#1 v1.5, RFC 4055) rather than
    /// absent (ECDSA, RFC 5758; Ed25519, RFC 8410).
    public var hasNullParameters: Bool

    public init(algorithm: ASN1ObjectIdentifier, hasNullParameters: Bool) {
        self.algorithm = algorithm
        self.hasNullParameters = hasNullParameters
    }

    public static let ecdsaWithSHA256 = Self(algorithm: [1, 2, 840, 10045, 4, 3, 2], hasNullParameters: false)
    public static let ecdsaWithSHA384 = Self(algorithm: [1, 2, 840, 10045, 4, 3, 3], hasNullParameters: false)
    public static let ecdsaWithSHA512 = Self(algorithm: [1, 2, 840, 10045, 4, 3, 4], hasNullParameters: false)
    public static let sha256WithRSAEncryption = Self(algorithm: [1, 2, 840, 113_549, 1, 1, 11], hasNullParameters: true)
    public static let sha384WithRSAEncryption = Self(algorithm: [1, 2, 840, 113_549, 1, 1, 12], hasNullParameters: true)
    public static let sha512WithRSAEncryption = Self(algorithm: [1, 2, 840, 113_549, 1, 1, 13], hasNullParameters: true)
    public static let ed25519 = Self(algorithm: [1, 3, 101, 112], hasNullParameters: false)

    /// The algorithm a key of `spec` signs with: the one its CA certificates use.
    public init(for spec: KeySpec) {
        switch (spec.algorithm, spec.bits) {
        case (.ecdsa, 384): self = .ecdsaWithSHA384
        case (.ecdsa, 521): self = .ecdsaWithSHA512
        case (.ecdsa, _): self = .ecdsaWithSHA256
        case (.rsa, _): self = .sha256WithRSAEncryption
        case (.ed25519, _): self = .ed25519
        }
    }

    /// The scheme that makes and checks signatures of this algorithm; nil for one Shedu does not know.
    public var signatureScheme: SignatureScheme? {
        switch self {
        case .ecdsaWithSHA256: .ecdsaSHA256
        case .ecdsaWithSHA384: .ecdsaSHA384
        case .ecdsaWithSHA512: .ecdsaSHA512
        case .sha256WithRSAEncryption: .rsaPKCS1SHA256
        case .sha384WithRSAEncryption: .rsaPKCS1SHA384
        case .sha512WithRSAEncryption: .rsaPKCS1SHA512
        case .ed25519: .ed25519
        default: nil
        }
    }

    public var description: String { algorithm.description }
}

extension SignatureAlgorithmIdentifier: DERImplicitlyTaggable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    /// Reads `SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }`, accepting only
    /// absent or NULL parameters.
    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let algorithm = try ASN1ObjectIdentifier(derEncoded: &nodes)
            guard let parameters = nodes.next() else {
                return Self(algorithm: algorithm, hasNullParameters: false)
            }
            _ = try ASN1Null(derEncoded: parameters)
            return Self(algorithm: algorithm, hasNullParameters: true)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { sequence in
            try sequence.serialize(algorithm)
            if hasNullParameters {
                try sequence.serialize(ASN1Null())
            }
        }
    }
}
