import Foundation
import X509

extension Certificate.PublicKey {
    /// Whether `signature` over the to-be-signed bytes `bytes` verifies with this key under
    /// `algorithm`; false for an algorithm Shedu does not know or that does not fit the key.
    public func isValidSignature(
        _ signature: [UInt8], overToBeSigned bytes: [UInt8], algorithm: SignatureAlgorithmIdentifier
    ) -> Bool {
        guard let scheme = algorithm.signatureScheme else { return false }
        return (try? isValidSignature(Data(signature), for: .message(Data(bytes)), scheme: scheme)) ?? false
    }
}
