import Foundation
import Logging
import SQLKit
import SheduCore

/// Applies the migrations a database has not seen yet, in one transaction.
///
/// On PostgreSQL the write lock (``SQLDialectKind/beginWrite(on:)``) makes replicas that start
/// together migrate one at a time, and running replicas' writes wait for a migration.
struct Migrator {
    let dialect: SQLDialectKind
    let logger: Logger

    func migrate(_ db: any SQLDatabase, migrations: [Migration]) async throws {
        try await dialect.beginWrite(on: db, writer: "migration")
        do {
            try await db.raw(
                """
                CREATE TABLE IF NOT EXISTS shedu_schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """
            ).run()
            let applied = Set(
                try await db.raw("SELECT version FROM shedu_schema_migrations").all().map {
                    try $0.decode(column: "version", as: Int.self)
                })
            if let newest = applied.max(), let known = migrations.map(\.version).max(), newest > known {
                throw SheduError.unavailable(
                    "the database schema is at version \(newest), newer than this build of shedu knows (\(known))")
            }
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
                for statement in migration.statements(dialect) {
                    try await db.raw(SQLQueryString(statement)).run()
                }
                try await db.raw(
                    """
                    INSERT INTO shedu_schema_migrations (version, name, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Date().epochMilliseconds))
                    """
                ).run()
                logger.info("applied migration", metadata: ["migration": "\(migration.version) \(migration.name)"])
            }
            try await db.raw("COMMIT").run()
        } catch {
            try? await db.raw("ROLLBACK").run()
            throw error
        }
    }
}
