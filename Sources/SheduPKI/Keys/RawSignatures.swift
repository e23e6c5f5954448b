import Crypto
import Foundation
import X509
import _CryptoExtras

/// The signature schemes of the KMS and CA `sign`/`verify` endpoints (Lamassu's names).
public enum SignatureScheme: String, Hashable, NamedCase {
    case ecdsaSHA256 = "ECDSA_SHA_256"
    case ecdsaSHA384 = "ECDSA_SHA_384"
    case ecdsaSHA512 = "ECDSA_SHA_512"
    case rsaPKCS1SHA256 = "RSASSA_PKCS1_V1_5_SHA_256"
    case rsaPKCS1SHA384 = "RSASSA_PKCS1_V1_5_SHA_384"
    case rsaPKCS1SHA512 = "RSASSA_PKCS1_V1_5_SHA_512"
    case rsaPSSSHA256 = "RSASSA_PSS_SHA_256"
    case rsaPSSSHA384 = "RSASSA_PSS_SHA_384"
    case rsaPSSSHA512 = "RSASSA_PSS_SHA_512"
    case ed25519 = "ED25519"

    var algorithm: KeyAlgorithm {
        switch self {
        case .ecdsaSHA256, .ecdsaSHA384, .ecdsaSHA512: .ecdsa
        case .ed25519: .ed25519
        default: .rsa
        }
    }

    /// The digest length a precomputed hash must have (nil for Ed25519, which signs messages).
    public var digestLength: Int? {
        switch self {
        case .ecdsaSHA256, .rsaPKCS1SHA256, .rsaPSSSHA256: 32
        case .ecdsaSHA384, .rsaPKCS1SHA384, .rsaPSSSHA384: 48
        case .ecdsaSHA512, .rsaPKCS1SHA512, .rsaPSSSHA512: 64
        case .ed25519: nil
        }
    }
}

/// What the bytes to sign are: the message itself, or its digest computed by the caller.
public enum SignedInput: Sendable {
    case message(Data)
    case digest(Data)
}

extension SigningKey {
    /// Signs with `scheme`; ECDSA signatures are DER, as Lamassu returns them.
    public func sign(_ input: SignedInput, scheme: SignatureScheme) throws -> Data {
        guard scheme.algorithm == spec.algorithm else {
            throw PKIError.invalidInput("\(scheme.rawValue) does not apply to \(spec.algorithm == .ecdsa ? "an" : "a") \(spec.algorithm.rawValue) key")
        }
        switch self {
        case .p256(let key): return try Self.ecdsa(input, scheme) { try key.signature(for: $0).derRepresentation }
        case .p384(let key): return try Self.ecdsa(input, scheme) { try key.signature(for: $0).derRepresentation }
        case .p521(let key): return try Self.ecdsa(input, scheme) { try key.signature(for: $0).derRepresentation }
        case .rsa(let key):
            let padding: _RSA.Signing.Padding =
                [.rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512].contains(scheme) ? .PSS : .insecurePKCS1v1_5
            return try Self.withDigest(input, scheme) { try key.signature(for: $0, padding: padding).rawRepresentation }
        case .ed25519(let key):
            guard case .message(let message) = input else {
                throw PKIError.invalidInput("ED25519 signs messages, not precomputed hashes (use message_type raw)")
            }
            return try key.signature(for: message)
        }
    }

    private static func ecdsa(_ input: SignedInput, _ scheme: SignatureScheme, _ sign: (any Digest) throws -> Data)
        throws -> Data
    {
        try withDigest(input, scheme, sign)
    }

    /// Calls `body` with the typed digest of the input, hashing a message or taking a caller's hash.
    static func withDigest<Result>(_ input: SignedInput, _ scheme: SignatureScheme, _ body: (any Digest) throws -> Result)
        throws -> Result
    {
        switch (input, scheme.digestLength) {
        case (.message(let message), 32): return try body(SHA256.hash(data: message))
        case (.message(let message), 48): return try body(SHA384.hash(data: message))
        case (.message(let message), 64): return try body(SHA512.hash(data: message))
        case (.digest(let digest), 32): return try body(try typedDigest(SHA256.Digest.self, digest))
        case (.digest(let digest), 48): return try body(try typedDigest(SHA384.Digest.self, digest))
        case (.digest(let digest), 64): return try body(try typedDigest(SHA512.Digest.self, digest))
        default: throw PKIError.invalidInput("\(scheme.rawValue) needs a hash")
        }
    }

    /// A swift-crypto digest value holding `bytes` (swift-crypto has no public initializer for one).
    /// The digest types are plain byte storage; the result is checked byte for byte before use.
    static func typedDigest<D: Digest>(_ type: D.Type, _ bytes: Data) throws -> D {
        guard bytes.count == D.byteCount else {
            throw PKIError.invalidInput("the hash must be \(D.byteCount) bytes, not \(bytes.count)")
        }
        guard MemoryLayout<D>.size == D.byteCount else {
            throw PKIError.invalidInput("precomputed hashes are not supported by this build")
        }
        let digest = Array(bytes).withUnsafeBytes { $0.loadUnaligned(as: D.self) }
        guard Array(digest) == Array(bytes) else {
            throw PKIError.invalidInput("precomputed hashes are not supported by this build")
        }
        return digest
    }
}

extension Certificate.PublicKey {
    /// Checks a signature made by ``SigningKey/sign(_:scheme:)``. The input is checked first: a
    /// hash of the wrong length is refused whatever the signature holds.
    public func isValidSignature(_ signature: Data, for input: SignedInput, scheme: SignatureScheme) throws -> Bool {
        guard let spec = KeySpec(of: self), spec.algorithm == scheme.algorithm else {
            throw PKIError.invalidInput("\(scheme.rawValue) does not apply to this key")
        }
        if let key = P256.Signing.PublicKey(self) {
            return try SigningKey.withDigest(input, scheme) { digest in
                guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
                return key.isValidSignature(parsed, for: digest)
            }
        }
        if let key = P384.Signing.PublicKey(self) {
            return try SigningKey.withDigest(input, scheme) { digest in
                guard let parsed = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return false }
                return key.isValidSignature(parsed, for: digest)
            }
        }
        if let key = P521.Signing.PublicKey(self) {
            return try SigningKey.withDigest(input, scheme) { digest in
                guard let parsed = try? P521.Signing.ECDSASignature(derRepresentation: signature) else { return false }
                return key.isValidSignature(parsed, for: digest)
            }
        }
        if let key = _RSA.Signing.PublicKey(self) {
            let padding: _RSA.Signing.Padding =
                [.rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512].contains(scheme) ? .PSS : .insecurePKCS1v1_5
            let parsed = _RSA.Signing.RSASignature(rawRepresentation: signature)
            return try SigningKey.withDigest(input, scheme) { key.isValidSignature(parsed, for: $0, padding: padding) }
        }
        if let key = Curve25519.Signing.PublicKey(self) {
            guard case .message(let message) = input else {
                throw PKIError.invalidInput("ED25519 verifies messages, not precomputed hashes (use message_type raw)")
            }
            return key.isValidSignature(signature, for: message)
        }
        return false
    }
}
