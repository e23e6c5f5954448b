import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

extension CertificateSigningRequest {
    /// Reads a CSR given as base64 of DER (as the seeds send it), base64 of PEM, or PEM text.
    /// Throws ``PKIError/invalidInput(_:)`` for anything that is not a PKCS#10 request.
    public init(apiText text: String) throws {
        try self.init(apiDER: try Self.der(apiText: text))
    }

    /// The DER of a CSR given as ``init(apiText:)`` takes it.
    public static func der(apiText text: String) throws -> [UInt8] {
        try PEMText.derBytes(from: text, expecting: ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"], field: "csr")
    }

    /// Reads a CSR's DER; throws ``PKIError/invalidInput(_:)`` naming why it is not one Shedu takes.
    public init(apiDER der: [UInt8]) throws {
        do {
            try self.init(derEncoded: der)
        } catch {
            throw PKIError.invalidInput(Self.unsupportedKey(der).map { "csr: \($0)" } ?? "csr is not a PKCS#10 certificate request")
        }
    }

    /// The fields of a constructed DER node; nil for a primitive one or none.
    private static func children(_ node: ASN1Node?) -> [ASN1Node]? {
        guard let node, case .constructed(let nodes) = node.content else { return nil }
        return Array(nodes)
    }

    /// A request's DER read as far as its key: CertificationRequest ::= SEQUENCE {
    /// certificationRequestInfo SEQUENCE { version, subject, subjectPKInfo, ... },
    /// signatureAlgorithm SEQUENCE { OID, ... }, ... }. Nil when it is not shaped so.
    private static func fields(of der: [UInt8]) -> (request: [ASN1Node], keyInfo: ASN1Node)? {
        guard let root = try? DER.parse(der), let request = children(root), let info = children(request.first), info.count >= 3
        else { return nil }
        return (request, info[2])
    }

    /// Why a request that is shaped as PKCS#10 does not decode: its key is of a kind Shedu does
    /// not handle, or, for a key it does, its signature's algorithm. Nil when it is not a PKCS#10
    /// request at all.
    public static func unsupportedKey(_ der: [UInt8]) -> String? {
        // subjectPKInfo ::= SEQUENCE { algorithm SEQUENCE { OID, parameters }, subjectPublicKey }
        guard let (request, keyInfoNode) = fields(of: der), let keyInfo = children(keyInfoNode),
            let algorithm = children(keyInfo.first), let first = algorithm.first, let oid = try? ASN1ObjectIdentifier(derEncoded: first)
        else { return nil }
        let curve = algorithm.count > 1 ? try? ASN1ObjectIdentifier(derEncoded: algorithm[1]) : nil
        var kind = "algorithm \(oid)" + (curve.map { ", curve \($0)" } ?? "")
        var isCertified = oid == ed25519Key || (oid == .AlgorithmIdentifier.idEcPublicKey && curve.map(certifiedCurves.contains) == true)
        if oid == .AlgorithmIdentifier.rsaEncryption {
            guard let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: Array(keyInfoNode.encodedBytes)) else {
                return "its RSA public key does not decode"
            }
            kind = "RSA of \(key.keySizeInBits) bits"
            isCertified = key.keySizeInBits >= 2048
        }
        guard !isCertified else {
            // A kind of key Shedu certifies: either the signature's algorithm is one it does not
            // verify, or the key itself is written in a form it does not read.
            let signedWith = request.count > 1 ? children(request[1])?.first.flatMap { try? ASN1ObjectIdentifier(derEncoded: $0) } : nil
            if let signedWith, verifiedSignatureAlgorithms.contains(signedWith) {
                return "its public key (\(kind)) does not decode: Shedu reads a named curve with an uncompressed point, an RSA key with NULL parameters, or an Ed25519 key without parameters"
            }
            let name = signedWith.map { Self.signatureAlgorithmNames[$0] ?? "algorithm \($0)" } ?? "an unreadable algorithm"
            return "it is signed with \(name), which Shedu does not verify: sign it with SHA-256, SHA-384 or SHA-512 (ECDSA, or RSA with PKCS#1 v1.5 padding), or with Ed25519"
        }
        return "its public key (\(kind)) is not one Shedu signs for: RSA of at least 2048 bits, ECDSA on P-256, P-384 or P-521, or Ed25519"
    }

    private static let ed25519Key: ASN1ObjectIdentifier = [1, 3, 101, 112]
    /// ECDSA with SHA-256/384/512, RSA PKCS#1 v1.5 with SHA-1/256/384/512, Ed25519.
    private static let verifiedSignatureAlgorithms: Set<ASN1ObjectIdentifier> = [
        [1, 2, 840, 10045, 4, 3, 2], [1, 2, 840, 10045, 4, 3, 3], [1, 2, 840, 10045, 4, 3, 4],
        [1, 2, 840, 113549, 1, 1, 5], [1, 2, 840, 113549, 1, 1, 11], [1, 2, 840, 113549, 1, 1, 12],
        [1, 2, 840, 113549, 1, 1, 13], ed25519Key,
    ]
    private static let certifiedCurves: Set<ASN1ObjectIdentifier> = [
        ASN1ObjectIdentifier.NamedCurves.secp256r1, ASN1ObjectIdentifier.NamedCurves.secp384r1,
        ASN1ObjectIdentifier.NamedCurves.secp521r1,
    ]

    static let signatureAlgorithmNames: [ASN1ObjectIdentifier: String] = [
        [1, 2, 840, 113549, 1, 1, 10]: "RSASSA-PSS", [1, 2, 840, 113549, 1, 1, 4]: "MD5 with RSA",
        [1, 2, 840, 113549, 1, 1, 5]: "SHA-1 with RSA", [1, 2, 840, 113549, 1, 1, 14]: "SHA-224 with RSA",
        [1, 2, 840, 10045, 4, 1]: "ECDSA with SHA-1", [1, 2, 840, 10045, 4, 3, 1]: "ECDSA with SHA-224",
    ]

    /// The SHA-256 key identifier of the request's key (``Certificate/PublicKey/keyIdentifier``),
    /// hashed from the request's own SubjectPublicKeyInfo when that is already the encoding a
    /// certificate carries: an EC key as an uncompressed point. Re-encoding an EC key from its
    /// parsed form costs a field inversion, nearly half as much as signing. `der` is the request's DER.
    public func keyIdentifier(der: [UInt8]) -> [UInt8] {
        Self.certifiedKeyInfo(in: der, of: publicKey).map { Array(SHA256.hash(data: $0)) } ?? publicKey.keyIdentifier
    }

    /// The SubjectPublicKeyInfo of the request `der`, if re-encoding `key` gives these same bytes.
    /// The key decoded from it, so its algorithm identifier is the curve's own and its point is
    /// valid; what remains to check is that the point is uncompressed, with no unused bits.
    static func certifiedKeyInfo(in der: [UInt8], of key: Certificate.PublicKey) -> ArraySlice<UInt8>? {
        guard let spec = KeySpec(of: key), spec.algorithm == .ecdsa, let (_, keyInfo) = fields(of: der),
            let keyFields = children(keyInfo), keyFields.count == 2,
            keyFields[1].identifier == .bitString, case .primitive(let content) = keyFields[1].content
        else { return nil }
        let coordinateBytes = (spec.bits + 7) / 8
        // BIT STRING content: 0 unused bits, then 04 || X || Y.
        guard content.count == 2 + 2 * coordinateBytes, content.first == 0, content.dropFirst().first == 4 else { return nil }
        return keyInfo.encodedBytes
    }

    /// Whether the request is signed by the key it carries (proof of possession).
    public var hasValidSignature: Bool {
        publicKey.isValidSignature(signature, for: self)
    }

    /// The extensions the requester asked for, if any; an extension request that does not decode
    /// (an extension listed twice, say) is refused rather than ignored, which dropped its names.
    public func requestedExtensions() throws -> Certificate.Extensions? {
        do {
            return try attributes.extensionRequest?.extensions
        } catch {
            throw PKIError.invalidInput(
                "the CSR's extension request does not decode; each extension may appear once (RFC 5280 §4.2)")
        }
    }
}
