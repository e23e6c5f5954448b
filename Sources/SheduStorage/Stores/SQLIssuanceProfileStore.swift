import Foundation
import SQLKit
import SheduCore

/// Issuance profiles in SQL: the profile as a JSON document, `id` and `name` as columns for lists.
public struct SQLIssuanceProfileStore: IssuanceProfileStore {
    let database: SheduDatabase
    private let compiler: ListQueryCompiler

    public init(database: SheduDatabase) {
        self.database = database
        compiler = ListQueryCompiler(
            dialect: database.dialect,
            table: ResourceTable(
                from: "issuance_profiles", primaryKey: "id",
                columns: ["id": .init("id", .text), "name": .init("name", .text)]))
    }

    public func insert(_ profile: IssuanceProfile) async throws {
        let body = try DomainJSON.text(profile)
        let dialect = database.dialect
        do {
            try await database.write { db in
                try await db.raw(
                    """
                    INSERT INTO issuance_profiles (id, name, body, created_at)
                    VALUES (\(bind: profile.id), \(bind: profile.name), \(dialect.jsonBind(body)), \(bind: Date().epochMilliseconds))
                    """
                ).run()
            }
        } catch where SheduDatabase.isUniqueViolation(error) {
            throw SheduError.conflict("issuance profile '\(profile.id)' already exists")
        }
    }

    public func update(_ profile: IssuanceProfile) async throws -> Bool {
        let body = try DomainJSON.text(profile)
        let dialect = database.dialect
        return try await database.write { db in
            let rows = try await db.raw(
                """
                UPDATE issuance_profiles SET name = \(bind: profile.name), body = \(dialect.jsonBind(body))
                WHERE id = \(bind: profile.id) RETURNING id
                """
            ).all()
            return !rows.isEmpty
        }
    }

    public func profile(id: String) async throws -> IssuanceProfile? {
        let dialect = database.dialect
        let row = try await database.read { db in
            try await db.raw(
                "SELECT \(unsafeRaw: dialect.jsonText("body")) AS body FROM issuance_profiles WHERE id = \(bind: id)"
            ).first()
        }
        return try row.map { try Self.documents.decode($0.decode(column: "body", as: String.self)) }
    }

    private static let documents = DecodedDocuments<IssuanceProfile>()

    public func delete(id: String) async throws -> Bool {
        let dmsProfile = database.dialect.jsonMember("settings", "issuance_profile_id")
        return try await database.write { db in
            // In the same transaction: a CA or DMS cannot start using it between the check and the delete.
            if let user = try await db.raw(
                """
                SELECT 'CA' AS kind, id FROM cas WHERE profile_id = \(bind: id)
                UNION ALL SELECT 'DMS' AS kind, id FROM dms WHERE \(unsafeRaw: dmsProfile) = \(bind: id)
                LIMIT 1
                """
            ).first() {
                let kind = try user.decode(column: "kind", as: String.self)
                throw SheduError.conflict(
                    "issuance profile '\(id)' is the profile of \(kind) '\(try user.decode(column: "id", as: String.self))'; give that \(kind) another profile first")
            }
            return !(try await db.raw("DELETE FROM issuance_profiles WHERE id = \(bind: id) RETURNING id").all()).isEmpty
        }
    }

    public func list(_ query: ListQuery) async throws -> Page<IssuanceProfile> {
        let dialect = database.dialect
        return try await database.read { db in
            try await compiler.page(query, on: db, columns: "\(unsafeRaw: dialect.jsonText("body")) AS body") { row in
                try DomainJSON.decode(IssuanceProfile.self, from: row.decode(column: "body", as: String.self))
            }
        }
    }
}
