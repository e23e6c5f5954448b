import Crypto
import SwiftASN1
import X509

extension Certificate.PublicKey {
    /// The DER SubjectPublicKeyInfo of the key.
    public var spkiDER: [UInt8] {
        var serializer = DER.Serializer()
        // Serializing a parsed public key cannot fail.
        try! serializer.serialize(self)
        return serializer.serializedBytes
    }

    /// SHA-256 over the DER SubjectPublicKeyInfo: the key id of the KMS, and the subject key
    /// identifier of every certificate Shedu issues (as Lamassu does).
    public var keyIdentifier: [UInt8] {
        Array(SHA256.hash(data: spkiDER))
    }

    /// ``keyIdentifier`` in lowercase hex.
    public var keyIdentifierHex: String { Hex.encode(keyIdentifier) }
}
