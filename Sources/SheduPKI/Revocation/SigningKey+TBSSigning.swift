import Foundation
import SwiftASN1
import X509

extension SigningKey {
    /// The AlgorithmIdentifier of the signatures this key puts on CRLs and OCSP responses, the
    /// same algorithm its certificates are signed with.
    public var signatureAlgorithmIdentifier: SignatureAlgorithmIdentifier {
        SignatureAlgorithmIdentifier(for: spec)
    }

    /// Signs the DER of a to-be-signed structure (a TBSCertList, an OCSP ResponseData) with the
    /// scheme of ``signatureAlgorithmIdentifier``; the result is what goes into the signature BIT
    /// STRING (DER `Ecdsa-Sig-Value` for ECDSA, as X.509 wants it).
    public func signToBeSigned(_ bytes: [UInt8]) throws -> [UInt8] {
        // Every algorithm ``SignatureAlgorithmIdentifier/init(for:)`` returns has a scheme.
        let scheme = signatureAlgorithmIdentifier.signatureScheme!
        return Array(try sign(.message(Data(bytes)), scheme: scheme))
    }
}
