import Foundation
import SwiftASN1

extension SigningKey {
    /// The key as PKCS#8 DER (`PrivateKeyInfo`), the form EST's `serverkeygen` returns to the
    /// device that will own it (RFC 7030 §4.4.2). Nothing else hands out a private key.
    public var pkcs8DERRepresentation: [UInt8] {
        switch self {
        case .p256(let key): Array(key.derRepresentation)
        case .p384(let key): Array(key.derRepresentation)
        case .p521(let key): Array(key.derRepresentation)
        case .rsa(let key): Array(key.pkcs8DERRepresentation)
        case .ed25519(let key): Self.ed25519PKCS8(rawKey: Array(key.rawRepresentation))
        }
    }

    /// RFC 8410 §7: `PrivateKeyInfo { version 0, algorithm id-Ed25519, privateKey OCTET STRING { OCTET STRING key } }`.
    private static func ed25519PKCS8(rawKey: [UInt8]) -> [UInt8] {
        var inner = DER.Serializer()
        // Serializing an octet string cannot fail.
        try! inner.serialize(ASN1OctetString(contentBytes: rawKey[...]))
        var serializer = DER.Serializer()
        try! serializer.appendConstructedNode(identifier: .sequence) { info in
            try info.serialize(0)
            try info.appendConstructedNode(identifier: .sequence) { algorithm in
                try algorithm.serialize(SignatureAlgorithmIdentifier.ed25519.algorithm)
            }
            try info.serialize(ASN1OctetString(contentBytes: inner.serializedBytes[...]))
        }
        return serializer.serializedBytes
    }
}
