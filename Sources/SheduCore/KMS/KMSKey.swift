import Foundation
import SheduPKI
import X509

/// A key the KMS holds (API.md §3). Never carries private key material.
public struct KMSKey: Sendable, Hashable {
    /// Lowercase hex of SHA-256 over the DER SubjectPublicKeyInfo.
    public var id: String
    public var name: String
    public var aliases: [String]
    public var engineID: String
    public var hasPrivateKey: Bool
    public var algorithm: KeyAlgorithm
    public var size: Int
    /// PEM `PUBLIC KEY`.
    public var publicKeyPEM: String
    public var creationDate: Date
    public var tags: [String]
    public var metadata: [String: JSONValue]

    public init(
        id: String, name: String, aliases: [String] = [], engineID: String, hasPrivateKey: Bool, algorithm: KeyAlgorithm,
        size: Int, publicKeyPEM: String, creationDate: Date, tags: [String] = [], metadata: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.name = name
        self.aliases = aliases
        self.engineID = engineID
        self.hasPrivateKey = hasPrivateKey
        self.algorithm = algorithm
        self.size = size
        self.publicKeyPEM = publicKeyPEM
        self.creationDate = creationDate
        self.tags = tags
        self.metadata = metadata
    }

    /// Lamassu's PKCS#11-style name of the key.
    public var pkcs11URI: String {
        "pkcs11:token-id=\(engineID);id=\(id);type=\(hasPrivateKey ? "private" : "public")"
    }

    public static let fields = FieldSet(
        [
            FieldDefinition("key_id", .string), FieldDefinition("name", .string), FieldDefinition("engine_id", .string),
            FieldDefinition("has_private_key", .enumeration(["true", "false"])),
            FieldDefinition("algorithm", .enumeration(KeyAlgorithm.allCases.map(\.rawValue))),
            FieldDefinition("size", .number), FieldDefinition("creation_ts", .date), FieldDefinition("tags", .stringArray),
            FieldDefinition("metadata", .json),
        ], defaultSort: "creation_ts", descending: true)
}

extension KMSKey: Codable {
    enum CodingKeys: String, CodingKey {
        case id = "key_id", name, aliases, engineID = "engine_id", hasPrivateKey = "has_private_key", algorithm, size
        case publicKey = "public_key", creationDate = "creation_ts", tags, metadata, pkcs11URI = "pkcs11_uri"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let publicKey = try container.decode(String.self, forKey: .publicKey)
        self.init(
            id: try container.decode(String.self, forKey: .id), name: try container.decode(String.self, forKey: .name),
            aliases: try container.decode([String].self, forKey: .aliases),
            engineID: try container.decode(String.self, forKey: .engineID),
            hasPrivateKey: try container.decode(Bool.self, forKey: .hasPrivateKey),
            algorithm: try container.decode(KeyAlgorithm.self, forKey: .algorithm),
            size: try container.decode(Int.self, forKey: .size),
            publicKeyPEM: String(decoding: Data(base64Encoded: publicKey) ?? Data(), as: UTF8.self),
            creationDate: try container.decode(Date.self, forKey: .creationDate),
            tags: try container.decode([String].self, forKey: .tags),
            metadata: try container.decode([String: JSONValue].self, forKey: .metadata))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(aliases, forKey: .aliases)
        try container.encode(engineID, forKey: .engineID)
        try container.encode(hasPrivateKey, forKey: .hasPrivateKey)
        try container.encode(algorithm, forKey: .algorithm)
        try container.encode(size, forKey: .size)
        try container.encode(Data(publicKeyPEM.utf8).base64EncodedString(), forKey: .publicKey)
        try container.encode(creationDate, forKey: .creationDate)
        try container.encode(tags, forKey: .tags)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(pkcs11URI, forKey: .pkcs11URI)
    }
}
