import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A private key Shedu holds in software, of any supported kind.
///
/// Its ``storedRepresentation`` is what the KMS encrypts and keeps; nothing else ever leaves it.
public enum SigningKey: Sendable {
    case p256(P256.Signing.PrivateKey)
    case p384(P384.Signing.PrivateKey)
    case p521(P521.Signing.PrivateKey)
    case rsa(_RSA.Signing.PrivateKey)
    case ed25519(Curve25519.Signing.PrivateKey)

    public static func generate(_ spec: KeySpec) throws -> SigningKey {
        switch (spec.algorithm, spec.bits) {
        case (.ecdsa, 256): return .p256(P256.Signing.PrivateKey())
        case (.ecdsa, 384): return .p384(P384.Signing.PrivateKey())
        case (.ecdsa, 521): return .p521(P521.Signing.PrivateKey())
        case (.rsa, let bits): return .rsa(try _RSA.Signing.PrivateKey(keySize: .init(bitCount: bits)))
        case (.ed25519, _): return .ed25519(Curve25519.Signing.PrivateKey())
        default: throw PKIError.invalidInput("cannot generate a \(spec) key")
        }
    }

    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    public init(pemEncoded text: String) throws {
        let document: PEMDocument
        do {
            document = try PEMDocument(pemString: Self.withoutECParameters(text))
        } catch {
            throw PKIError.invalidInput("private_key is not a PEM private key")
        }
        let der = document.derBytes
        switch document.discriminator {
        case "EC PRIVATE KEY", "PRIVATE KEY", "RSA PRIVATE KEY":
            if let key = try Self.parseDER(der, pkcs8: document.discriminator == "PRIVATE KEY") {
                self = key
                return
            }
            throw PKIError.invalidInput("private_key is a PEM '\(document.discriminator)' of a kind Shedu does not use")
        case "ENCRYPTED PRIVATE KEY":
            throw PKIError.invalidInput("private_key is encrypted; import it unencrypted (it is encrypted at rest here)")
        default:
            throw PKIError.invalidInput("private_key is a PEM '\(document.discriminator)', not a private key")
        }
    }

    /// `openssl ecparam -genkey` writes an `EC PARAMETERS` block (the curve) before the SEC1 key,
    /// which names its curve itself (and is checked against it): the key's block alone.
    static func withoutECParameters(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("-----BEGIN EC PARAMETERS-----"), let end = trimmed.range(of: "-----END EC PARAMETERS-----") else {
            return text
        }
        return trimmed[end.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An RSA key of a size Shedu signs with (``KeyAlgorithm/supportedSizes``), as `POST /keys` makes.
    private static func checkedRSA(_ key: _RSA.Signing.PrivateKey) throws -> SigningKey {
        do {
            _ = try KeySpec(algorithm: .rsa, bits: key.keySizeInBits)
        } catch let error as PKIError {
            throw PKIError.invalidInput("private_key: \(error.description)")
        }
        return .rsa(key)
    }

    private static let ed25519PKCS8Prefix: [UInt8] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    private static func parseDER(_ der: [UInt8], pkcs8: Bool) throws -> SigningKey? {
        // swift-crypto reads the scalar of a PKCS#8 EC key on any curve of its size as its own
        // curve's, and a SEC1 key's public key is not compared with its scalar: both are checked here.
        if let key = try? P256.Signing.PrivateKey(derRepresentation: der) {
            try ECPrivateKeyClaims(der: der, pkcs8: pkcs8).check(curve: .NamedCurves.secp256r1, publicKey: key.publicKey.x963Representation)
            return .p256(key)
        }
        if let key = try? P384.Signing.PrivateKey(derRepresentation: der) {
            try ECPrivateKeyClaims(der: der, pkcs8: pkcs8).check(curve: .NamedCurves.secp384r1, publicKey: key.publicKey.x963Representation)
            return .p384(key)
        }
        if let key = try? P521.Signing.PrivateKey(derRepresentation: der) {
            try ECPrivateKeyClaims(der: der, pkcs8: pkcs8).check(curve: .NamedCurves.secp521r1, publicKey: key.publicKey.x963Representation)
            return .p521(key)
        }
        // Read unchecked first, so that a key below 2048 bits is refused for its size.
        if let key = try? _RSA.Signing.PrivateKey(unsafeDERRepresentation: der) { return try checkedRSA(key) }
        if pkcs8, der.count == 48, Array(der.prefix(16)) == ed25519PKCS8Prefix,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
        {
            return .ed25519(key)
        }
        return nil
    }

    /// One tag byte and the key's own encoding: the form the KMS encrypts at rest.
    public var storedRepresentation: Data {
        switch self {
        case .p256(let key): Data([1]) + key.rawRepresentation
        case .p384(let key): Data([2]) + key.rawRepresentation
        case .p521(let key): Data([3]) + key.rawRepresentation
        case .rsa(let key): Data([4]) + key.derRepresentation
        case .ed25519(let key): Data([5]) + key.rawRepresentation
        }
    }

    public init(storedRepresentation data: Data) throws {
        guard let tag = data.first else { throw PKIError.invalidInput("empty key material") }
        let body = data.dropFirst()
        switch tag {
        case 1: self = .p256(try P256.Signing.PrivateKey(rawRepresentation: body))
        case 2: self = .p384(try P384.Signing.PrivateKey(rawRepresentation: body))
        case 3: self = .p521(try P521.Signing.PrivateKey(rawRepresentation: body))
        case 4: self = .rsa(try _RSA.Signing.PrivateKey(derRepresentation: body))
        case 5: self = .ed25519(try Curve25519.Signing.PrivateKey(rawRepresentation: body))
        default: throw PKIError.invalidInput("unknown key material")
        }
    }

    /// The key as swift-certificates signs with it.
    public var certificateKey: Certificate.PrivateKey {
        switch self {
        case .p256(let key): Certificate.PrivateKey(key)
        case .p384(let key): Certificate.PrivateKey(key)
        case .p521(let key): Certificate.PrivateKey(key)
        case .rsa(let key): Certificate.PrivateKey(key)
        case .ed25519(let key): Certificate.PrivateKey(key)
        }
    }

    public var publicKey: Certificate.PublicKey {
        switch self {
        case .p256(let key): Certificate.PublicKey(key.publicKey)
        case .p384(let key): Certificate.PublicKey(key.publicKey)
        case .p521(let key): Certificate.PublicKey(key.publicKey)
        case .rsa(let key): Certificate.PublicKey(key.publicKey)
        case .ed25519(let key): Certificate.PublicKey(key.publicKey)
        }
    }

    public var spec: KeySpec {
        // A key Shedu holds always has a spec.
        KeySpec(of: publicKey)!
    }
}
