import Foundation

/// A KMS key with the engine material the store keeps for it.
public struct StoredKey: Sendable {
    public var key: KMSKey
    /// The engine's material; nil for a key known only by its public half.
    public var material: Data?

    public init(key: KMSKey, material: Data?) {
        self.key = key
        self.material = material
    }
}

public struct KMSStats: Sendable, Hashable, Codable {
    public var totalKeys: Int
    public var perEngine: [String: Int]
    public var perAlgorithm: [String: Int]

    public init(totalKeys: Int, perEngine: [String: Int], perAlgorithm: [String: Int]) {
        self.totalKeys = totalKeys
        self.perEngine = perEngine
        self.perAlgorithm = perAlgorithm
    }

    enum CodingKeys: String, CodingKey {
        case totalKeys = "total_keys", perEngine = "keys_distribution_per_engine"
        case perAlgorithm = "keys_distribution_per_algorithm"
    }
}

/// Where KMS keys are kept.
public protocol KMSStore: Sendable {
    /// Adds a key; a key with the same id or an alias already taken is a conflict.
    func insert(_ key: StoredKey, events: [DomainEvent]) async throws
    func key(id: String) async throws -> StoredKey?
    func key(alias: String) async throws -> StoredKey?
    /// Reads, changes and writes a key in one transaction; nil when there is no such key.
    /// `change` returns the events to record with the change.
    func update(id: String, _ change: @escaping @Sendable (inout KMSKey) throws -> [DomainEvent]) async throws -> KMSKey?
    /// Removes a key; refused (409) while a CA uses it. False when there was none.
    func delete(id: String, events: [DomainEvent]) async throws -> Bool
    func list(_ query: ListQuery) async throws -> Page<KMSKey>
    func stats(filters: [Filter]) async throws -> KMSStats
    /// The CA whose key this is, and its status at `now` (EXPIRED once its validity ended, marked
    /// or not); nil for a key no CA uses.
    func authority(usingKey id: String, at now: Date) async throws -> (caID: String, status: CertificateStatus)?
}
