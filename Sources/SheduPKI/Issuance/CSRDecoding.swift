import Foundation
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
            throw PKIError.invalidInput("csr is not a PKCS#10 certificate request")
        }
    }

    /// Whether the request is signed by the key it carries (proof of possession).
    public var hasValidSignature: Bool {
        publicKey.isValidSignature(signature, for: self)
    }

    /// The extensions the requester asked for, if any.
    public var requestedExtensions: Certificate.Extensions? {
        try? attributes.extensionRequest?.extensions
    }
}
