import Foundation
import SQLKit
import SheduCore

/// DMS records in SQL: settings and metadata as JSON documents.
public struct SQLDMSStore: DMSStore {
    let database: SheduDatabase
    private let compiler: ListQueryCompiler

    public init(database: SheduDatabase) {
        self.database = database
        compiler = ListQueryCompiler(
            dialect: database.dialect,
            table: ResourceTable(
                from: "dms", primaryKey: "id",
                columns: [
                    "id": .init("id", .text), "name": .init("name", .text),
                    "creation_ts": .init("created_at", .epochMilliseconds),
                    "creation_date": .init("created_at", .epochMilliseconds), "metadata": .init("metadata", .json),
                    "settings": .init("settings", .json),
                ]))
    }

    private var dialect: SQLDialectKind { database.dialect }

    private var columns: SQLQueryString {
        """
        id, name, created_at, \(unsafeRaw: dialect.jsonText("metadata")) AS metadata, \
        \(unsafeRaw: dialect.jsonText("settings")) AS settings
        """
    }

    static func decode(_ row: any SQLRow) throws -> DMS {
        DMS(
            id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
            metadata: try DomainJSON.object(from: row.decode(column: "metadata", as: String.self)),
            creationDate: Date(epochMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            settings: try settingsDocuments.decode(row.decode(column: "settings", as: String.self)))
    }

    private static let settingsDocuments = DecodedDocuments<DMSSettings>()

    /// Checked again in the write's transaction: a CA or issuance profile deleted since the
    /// service's validation is not named by a DMS written after it.
    private static func requireReferences(_ settings: DMSSettings, on db: any SQLDatabase) async throws {
        for (field, id) in settings.referencedCAs {
            if try await db.raw("SELECT 1 AS found FROM cas WHERE id = \(bind: id)").first() == nil {
                throw SheduError.badRequest("settings.\(field): CA '\(id)' does not exist")
            }
        }
        let profile = settings.issuanceProfileID
        if !profile.isEmpty, try await db.raw("SELECT 1 AS found FROM issuance_profiles WHERE id = \(bind: profile)").first() == nil {
            throw SheduError.badRequest("settings.issuance_profile_id: issuance profile '\(profile)' does not exist")
        }
    }

    /// The first DMS whose settings name the CA, and where (DMSs are few: read them all).
    static func firstReference(toCA caID: String, on db: any SQLDatabase, dialect: SQLDialectKind) async throws
        -> (dms: String, field: String)?
    {
        let rows = try await db.raw("SELECT id, \(unsafeRaw: dialect.jsonText("settings")) AS settings FROM dms ORDER BY id").all()
        for row in rows {
            let settings = try settingsDocuments.decode(row.decode(column: "settings", as: String.self))
            if let reference = settings.referencedCAs.first(where: { $0.id == caID }) {
                return (try row.decode(column: "id", as: String.self), reference.field)
            }
        }
        return nil
    }

    public func insert(_ dms: DMS, events: [DomainEvent]) async throws {
        let dialect = self.dialect
        try await database.write { db in
            try await Self.requireReferences(dms.settings, on: db)
            do {
                try await db.raw(
                    """
                    INSERT INTO dms (id, name, metadata, settings, created_at)
                    VALUES (\(bind: dms.id), \(bind: dms.name), \(dialect.jsonBind(DomainJSON.text(dms.metadata))),
                        \(dialect.jsonBind(try DomainJSON.text(dms.settings))), \(bind: dms.creationDate.epochMilliseconds))
                    """
                ).run()
            } catch where SheduDatabase.isUniqueViolation(error) {
                throw SheduError.conflict("DMS '\(dms.id)' already exists")
            }
            try await Outbox.insert(events, on: db, dialect: dialect)
        }
    }

    public func dms(id: String) async throws -> DMS? {
        let columns = self.columns
        return try await database.read { db in
            try await db.raw("SELECT \(columns) FROM dms WHERE id = \(bind: id)").first().map(Self.decode)
        }
    }

    public func list(_ query: ListQuery) async throws -> Page<DMS> {
        let columns = self.columns
        return try await database.read { db in
            try await compiler.page(query, on: db, columns: columns, decode: Self.decode)
        }
    }

    public func update(id: String, now: Date, _ change: @escaping @Sendable (inout DMS) throws -> [DomainEvent]) async throws
        -> DMS?
    {
        let columns = self.columns
        let dialect = self.dialect
        return try await database.write { db in
            guard let row = try await db.raw("SELECT \(columns) FROM dms WHERE id = \(bind: id)").first() else { return nil }
            var dms = try Self.decode(row)
            let previous = dms
            let events = try change(&dms)
            try await Self.requireReferences(dms.settings, on: db)
            try await db.raw(
                """
                UPDATE dms SET name = \(bind: dms.name), metadata = \(dialect.jsonBind(DomainJSON.text(dms.metadata))),
                    settings = \(dialect.jsonBind(try DomainJSON.text(dms.settings)))
                WHERE id = \(bind: id)
                """
            ).run()
            try await Outbox.insert(events, on: db, dialect: dialect)
            let before = previous.settings.reenrollment
            let after = dms.settings.reenrollment
            if before.preventiveDelta != after.preventiveDelta || before.criticalDelta != after.criticalDelta {
                try await DeviceStatusSync.moveWindows(
                    ofDMS: id, preventiveDelta: after.preventiveDelta, criticalDelta: after.criticalDelta, now: now, on: db,
                    dialect: dialect)
            }
            return dms
        }
    }

    public func delete(id: String, events: [DomainEvent]) async throws -> Bool {
        let dialect = self.dialect
        return try await database.write { db in
            if let row = try await db.raw("SELECT COUNT(*) AS n FROM devices WHERE dms_owner = \(bind: id)").first(),
                case let count = try row.decode(column: "n", as: Int.self), count > 0
            {
                throw SheduError.conflict("DMS '\(id)' still owns \(count) device(s); delete them before the DMS")
            }
            let deleted = try await db.raw("DELETE FROM dms WHERE id = \(bind: id) RETURNING id").all()
            guard !deleted.isEmpty else { return false }
            try await Outbox.insert(events, on: db, dialect: dialect)
            return true
        }
    }

    public func count(filters: [Filter]) async throws -> Int {
        try await database.read { db in
            try await compiler.counts(filters: filters, on: db).values.reduce(0, +)
        }
    }
}
