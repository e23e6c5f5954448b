import Crypto
import X509
import _CryptoExtras

/// The key algorithms Shedu generates, imports and signs with (Lamassu's names).
public enum KeyAlgorithm: String, Hashable, Codable, NamedCase {
    case rsa = "RSA"
    case ecdsa = "ECDSA"
    case ed25519 = "Ed25519"

    /// The sizes each algorithm comes in: RSA modulus bits, ECDSA curve bits, Ed25519's 256.
    public var supportedSizes: [Int] {
        switch self {
        case .rsa: [2048, 3072, 4096]
        case .ecdsa: [256, 384, 521]
        case .ed25519: [256]
        }
    }
}

/// A kind of key: algorithm and size.
public struct KeySpec: Sendable, Hashable, CustomStringConvertible {
    public var algorithm: KeyAlgorithm
    public var bits: Int

    /// Checks the size; Ed25519 takes 0 or 256.
    public init(algorithm: KeyAlgorithm, bits: Int) throws {
        let bits = algorithm == .ed25519 && bits == 0 ? 256 : bits
        guard algorithm.supportedSizes.contains(bits) else {
            throw PKIError.invalidInput(
                "\(algorithm.rawValue) keys come in sizes \(algorithm.supportedSizes.map(String.init).joined(separator: ", ")), not \(bits)")
        }
        self.algorithm = algorithm
        self.bits = bits
    }

    public var description: String { "\(algorithm.rawValue) \(bits)" }

    /// A spec read back from storage, trusted to be one Shedu wrote.
    public init(storedAlgorithm algorithm: KeyAlgorithm, bits: Int) {
        self.algorithm = algorithm
        self.bits = bits
    }

    /// The spec of a public key; nil for a key Shedu does not use.
    public init?(of publicKey: Certificate.PublicKey) {
        if P256.Signing.PublicKey(publicKey) != nil {
            algorithm = .ecdsa
            bits = 256
        } else if P384.Signing.PublicKey(publicKey) != nil {
            algorithm = .ecdsa
            bits = 384
        } else if P521.Signing.PublicKey(publicKey) != nil {
            algorithm = .ecdsa
            bits = 521
        } else if let rsa = _RSA.Signing.PublicKey(publicKey) {
            algorithm = .rsa
            bits = rsa.keySizeInBits
        } else if Curve25519.Signing.PublicKey(publicKey) != nil {
            algorithm = .ed25519
            bits = 256
        } else {
            return nil
        }
    }

    /// Lamassu's strength rating: RSA below 2048 LOW, below 3072 MEDIUM; ECDSA below 256 MEDIUM.
    public var strength: String {
        switch algorithm {
        case .rsa: bits >= 3072 ? "HIGH" : bits >= 2048 ? "MEDIUM" : "LOW"
        case .ecdsa: bits >= 256 ? "HIGH" : bits > 128 ? "MEDIUM" : "LOW"
        case .ed25519: "HIGH"
        }
    }

    /// The signature algorithm a CA with this key signs certificates with.
    public var certificateSignatureAlgorithm: Certificate.SignatureAlgorithm {
        switch (algorithm, bits) {
        case (.ecdsa, 384): .ecdsaWithSHA384
        case (.ecdsa, 521): .ecdsaWithSHA512
        case (.ecdsa, _): .ecdsaWithSHA256
        case (.rsa, _): .sha256WithRSAEncryption
        case (.ed25519, _): .ed25519
        }
    }
}
