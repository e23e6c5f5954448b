import Crypto

enum P256PublicKeyPEM {
    /// The public half of a PEM P-256 private key, as PEM.
    static func fromPrivateKeyPEM(_ pem: String) throws -> String {
        try P256.Signing.PrivateKey(pemRepresentation: pem).publicKey.pemRepresentation
    }
}
