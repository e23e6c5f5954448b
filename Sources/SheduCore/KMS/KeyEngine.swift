import Crypto
import Foundation
import SheduPKI
import X509

/// Where private keys live. An engine makes and adopts keys and gives back, for signing, the key
/// behind the opaque material the store keeps for it. Nothing else handles private key bytes.
public protocol KeyEngine: Sendable {
    var info: KeyEngineInfo { get }
    /// A new key of `spec`.
    func generate(_ spec: KeySpec) throws -> EngineKey
    /// Takes over a key given in clear (an import); the material returned no longer shows it.
    func adopt(_ key: SigningKey) throws -> EngineKey
    /// The key ready to sign with.
    func signingKey(material: Data, keyID: String) throws -> SigningKey
}

/// A key an engine holds: its public key, and what the store keeps so the engine can find it again.
public struct EngineKey: Sendable {
    public var publicKey: Certificate.PublicKey
    public var material: Data

    public var keyID: String { publicKey.keyIdentifierHex }
    public var spec: KeySpec { KeySpec(of: publicKey)! }
}

/// Lamassu's description of a crypto engine (`GET /api/kms/v1/engines`).
public struct KeyEngineInfo: Sendable, Hashable, Codable {
    public struct SupportedKeyType: Sendable, Hashable, Codable {
        public var type: KeyAlgorithm
        public var sizes: [Int]
    }

    public var id: String
    public var type: String
    public var provider: String
    public var name: String
    public var securityLevel: Int
    public var supportedKeyTypes: [SupportedKeyType]
    public var isDefault: Bool
    public var metadata: [String: JSONValue]

    enum CodingKeys: String, CodingKey {
        case id, type, provider, name, metadata
        case securityLevel = "security_level", supportedKeyTypes = "supported_key_types", isDefault = "default"
    }
}

/// Keys in software, kept in the database sealed with AES-256-GCM under the data folder's master
/// key (the key id is the additional authenticated data, so sealed keys cannot be swapped between
/// rows). Every replica that has the master key can sign; the database alone reveals no key.
public struct SoftwareKeyEngine: KeyEngine {
    public static let engineID = "software"
    private static let formatVersion: UInt8 = 1
    private let masterKey: SymmetricKey

    public init(masterKey: SymmetricKey) {
        self.masterKey = masterKey
    }

    public var info: KeyEngineInfo {
        KeyEngineInfo(
            id: Self.engineID, type: "GOLANG", provider: "Shedu",
            name: "software keys sealed with AES-256-GCM under the master key", securityLevel: 1,
            supportedKeyTypes: KeyAlgorithm.allCases.map { .init(type: $0, sizes: $0.supportedSizes) }, isDefault: true,
            metadata: [:])
    }

    public func generate(_ spec: KeySpec) throws -> EngineKey {
        try adopt(try SigningKey.generate(spec))
    }

    public func adopt(_ key: SigningKey) throws -> EngineKey {
        let publicKey = key.publicKey
        let sealed = try AES.GCM.seal(
            key.storedRepresentation, using: masterKey, authenticating: Data(publicKey.keyIdentifierHex.utf8))
        guard let combined = sealed.combined else { throw SheduError.internal("AES-GCM produced no sealed box") }
        return EngineKey(publicKey: publicKey, material: Data([Self.formatVersion]) + combined)
    }

    public func signingKey(material: Data, keyID: String) throws -> SigningKey {
        guard material.first == Self.formatVersion else {
            throw SheduError.internal("key \(keyID) has sealed material of an unknown format")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: material.dropFirst())
            let plain = try AES.GCM.open(box, using: masterKey, authenticating: Data(keyID.utf8))
            return try SigningKey(storedRepresentation: plain)
        } catch {
            // Wrong master key, or material tampered with: never say more.
            throw SheduError.internal("key \(keyID) cannot be unsealed with this master key")
        }
    }
}
