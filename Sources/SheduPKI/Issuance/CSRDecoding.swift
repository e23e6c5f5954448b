import Foundation
import SwiftASN1
import X509

extension CertificateSigningRequest {
    /// Reads a CSR given as base64 of DER (as the seeds send it), base64 of PEM, or PEM text.
    /// Throws ``PKIError/invalidInput(_:)`` for anything that is not a PKCS#10 request.
    public init(apiText text: String) throws {
        let der = try PEMText.derBytes(
            from: text, expecting: ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"], field: "csr")
        do {
            try self.init(derEncoded: der)
        } catch {
            throw PKIError.invalidInput(Self.unsupportedKey(der).map { "csr: \($0)" } ?? "csr is not a PKCS#10 certificate request")
        }
    }

    /// Why a request that is shaped as PKCS#10 does not decode: its key is of a kind Shedu does
    /// not handle. Nil when it is not a PKCS#10 request at all.
    public static func unsupportedKey(_ der: [UInt8]) -> String? {
        // CertificationRequest ::= SEQUENCE { certificationRequestInfo SEQUENCE { version,
        //   subject, subjectPKInfo SEQUENCE { algorithm SEQUENCE { OID, parameters }, ... }, ... }, ... }
        func children(_ node: ASN1Node?) -> [ASN1Node]? {
            guard let node, case .constructed(let nodes) = node.content else { return nil }
            return Array(nodes)
        }
        guard let root = try? DER.parse(der), let request = children(root), let info = children(request.first),
            info.count >= 3, let keyInfo = children(info[2]), let algorithm = children(keyInfo.first),
            let first = algorithm.first, let oid = try? ASN1ObjectIdentifier(derEncoded: first)
        else { return nil }
        var kind = "algorithm \(oid)"
        if algorithm.count > 1, let curve = try? ASN1ObjectIdentifier(derEncoded: algorithm[1]) { kind += ", curve \(curve)" }
        if oid == .AlgorithmIdentifier.rsaEncryption { kind = "RSA" }
        return "its public key (\(kind)) is not one Shedu signs for: RSA of 2048, 3072 or 4096 bits, ECDSA on P-256, P-384 or P-521, or Ed25519"
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
