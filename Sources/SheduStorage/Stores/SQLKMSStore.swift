import Foundation
import SQLKit
import SheduCore
import SheduPKI

/// KMS keys in SQL: sealed material in `kms_keys.material`, aliases also in `kms_key_aliases`
/// (whose primary key keeps them unique across keys).
public struct SQLKMSStore: KMSStore {
    let database: SheduDatabase
    private let compiler: ListQueryCompiler

    public init(database: SheduDatabase) {
        self.database = database
        compiler = ListQueryCompiler(
            dialect: database.dialect,
            table: ResourceTable(
                from: "kms_keys", primaryKey: "id",
                columns: [
                    "key_id": .init("id", .text), "name": .init("name", .text), "engine_id": .init("engine_id", .text),
                    "has_private_key": .init("has_private_key", .boolean), "algorithm": .init("algorithm", .text),
                    "size": .init("size", .number), "creation_ts": .init("created_at", .epochMilliseconds),
                    "tags": .init("tags", .jsonStringArray), "metadata": .init("metadata", .json),
                ]))
    }

    private var columns: SQLQueryString {
        let dialect = database.dialect
        return """
            id, name, engine_id, algorithm, size, has_private_key, public_key, created_at, \
            \(unsafeRaw: dialect.jsonText("aliases")) AS aliases, \(unsafeRaw: dialect.jsonText("tags")) AS tags, \
            \(unsafeRaw: dialect.jsonText("metadata")) AS metadata
            """
    }

    static func decodeKey(_ row: any SQLRow) throws -> KMSKey {
        KMSKey(
            id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
            aliases: try DomainJSON.decode([String].self, from: row.decode(column: "aliases", as: String.self)),
            engineID: try row.decode(column: "engine_id", as: String.self),
            hasPrivateKey: try row.decode(column: "has_private_key", as: Bool.self),
            algorithm: KeyAlgorithm(rawValue: try row.decode(column: "algorithm", as: String.self)) ?? .ecdsa,
            size: try row.decode(column: "size", as: Int.self),
            publicKeyPEM: try row.decode(column: "public_key", as: String.self),
            creationDate: Date(epochMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            tags: try DomainJSON.decode([String].self, from: row.decode(column: "tags", as: String.self)),
            metadata: try DomainJSON.object(from: row.decode(column: "metadata", as: String.self)))
    }

    /// Inserts a key row and its aliases on `db`, inside the caller's transaction.
    static func insertKey(_ stored: StoredKey, on db: any SQLDatabase, dialect: SQLDialectKind) async throws {
        let key = stored.key
        do {
            try await db.raw(
                """
                INSERT INTO kms_keys (id, name, engine_id, algorithm, size, has_private_key, public_key, material,
                    aliases, tags, metadata, created_at)
                VALUES (\(bind: key.id), \(bind: key.name), \(bind: key.engineID), \(bind: key.algorithm.rawValue),
                    \(bind: key.size), \(bind: key.hasPrivateKey), \(bind: key.publicKeyPEM), \(bind: stored.material),
                    \(dialect.jsonBind(DomainJSON.text(key.aliases))), \(dialect.jsonBind(DomainJSON.text(key.tags))),
                    \(dialect.jsonBind(DomainJSON.text(key.metadata))), \(bind: key.creationDate.epochMilliseconds))
                """
            ).run()
        } catch where SheduDatabase.isUniqueViolation(error) {
            throw SheduError.conflict("key '\(key.id)' already exists")
        }
        try await insertAliases(key, on: db)
    }

    private static func insertAliases(_ key: KMSKey, on db: any SQLDatabase) async throws {
        for alias in key.aliases {
            do {
                try await db.raw("INSERT INTO kms_key_aliases (alias, key_id) VALUES (\(bind: alias), \(bind: key.id))").run()
            } catch where SheduDatabase.isUniqueViolation(error) {
                throw SheduError.conflict("alias '\(alias)' is already used by another key")
            }
        }
    }

    public func insert(_ key: StoredKey, events: [DomainEvent]) async throws {
        let dialect = database.dialect
        try await database.write { db in
            try await Self.insertKey(key, on: db, dialect: dialect)
            try await Outbox.insert(events, on: db, dialect: dialect)
        }
    }

    public func key(id: String) async throws -> StoredKey? {
        let columns = self.columns
        return try await database.read { db in
            try await db.raw("SELECT \(columns), material FROM kms_keys WHERE id = \(bind: id)").first().map(Self.decodeStored)
        }
    }

    public func key(alias: String) async throws -> StoredKey? {
        let columns = self.columns
        return try await database.read { db in
            try await db.raw(
                """
                SELECT \(columns), material FROM kms_keys
                WHERE id = (SELECT key_id FROM kms_key_aliases WHERE alias = \(bind: alias))
                """
            ).first().map(Self.decodeStored)
        }
    }

    private static func decodeStored(_ row: any SQLRow) throws -> StoredKey {
        StoredKey(key: try decodeKey(row), material: try row.decode(column: "material", as: Data?.self))
    }

    public func update(id: String, _ change: @escaping @Sendable (inout KMSKey) throws -> [DomainEvent]) async throws
        -> KMSKey?
    {
        let dialect = database.dialect
        let columns = self.columns
        return try await database.write { db in
            guard let row = try await db.raw("SELECT \(columns) FROM kms_keys WHERE id = \(bind: id)").first() else {
                return nil
            }
            var key = try Self.decodeKey(row)
            let events = try change(&key)
            try await db.raw(
                """
                UPDATE kms_keys SET name = \(bind: key.name), aliases = \(dialect.jsonBind(DomainJSON.text(key.aliases))),
                    tags = \(dialect.jsonBind(DomainJSON.text(key.tags))),
                    metadata = \(dialect.jsonBind(DomainJSON.text(key.metadata)))
                WHERE id = \(bind: id)
                """
            ).run()
            try await db.raw("DELETE FROM kms_key_aliases WHERE key_id = \(bind: id)").run()
            try await Self.insertAliases(key, on: db)
            try await Outbox.insert(events, on: db, dialect: dialect)
            return key
        }
    }

    public func delete(id: String, events: [DomainEvent]) async throws -> Bool {
        let dialect = database.dialect
        return try await database.write { db in
            if let user = try await db.raw("SELECT id FROM cas WHERE key_id = \(bind: id)").first() {
                throw SheduError.conflict(
                    "key '\(id)' is the key of CA '\(try user.decode(column: "id", as: String.self))'; delete the CA first")
            }
            let deleted = try await db.raw("DELETE FROM kms_keys WHERE id = \(bind: id) RETURNING id").all()
            guard !deleted.isEmpty else { return false }
            try await Outbox.insert(events, on: db, dialect: dialect)
            return true
        }
    }

    public func authority(usingKey id: String, at now: Date) async throws -> (caID: String, status: CertificateStatus)? {
        try await database.read { db in
            try await db.raw(
                """
                SELECT c.id, CASE WHEN t.valid_to <= \(bind: now.epochMilliseconds) THEN 'EXPIRED' ELSE t.status END AS status
                FROM cas c JOIN certificates t ON t.serial_number = c.serial_number
                WHERE c.key_id = \(bind: id)
                """
            ).first().map { row in
                let status = try row.decode(column: "status", as: String.self)
                return (try row.decode(column: "id", as: String.self), CertificateStatus(rawValue: status) ?? .revoked)
            }
        }
    }

    public func list(_ query: ListQuery) async throws -> Page<KMSKey> {
        let columns = self.columns
        return try await database.read { db in
            try await compiler.page(query, on: db, columns: columns, decode: Self.decodeKey)
        }
    }

    public func stats(filters: [Filter]) async throws -> KMSStats {
        let condition = try compiler.filterCondition(filters)
        return try await database.read { db in
            var sql: SQLQueryString = "SELECT engine_id, algorithm, COUNT(*) AS n FROM kms_keys"
            if let condition { sql += " WHERE \(condition)" }
            sql += " GROUP BY engine_id, algorithm"
            var stats = KMSStats(totalKeys: 0, perEngine: [:], perAlgorithm: [:])
            for algorithm in KeyAlgorithm.allCases { stats.perAlgorithm[algorithm.rawValue] = 0 }
            for row in try await db.raw(sql).all() {
                let count = try row.decode(column: "n", as: Int.self)
                stats.totalKeys += count
                stats.perEngine[try row.decode(column: "engine_id", as: String.self), default: 0] += count
                stats.perAlgorithm[try row.decode(column: "algorithm", as: String.self), default: 0] += count
            }
            return stats
        }
    }
}
