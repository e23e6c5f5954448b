import SQLKit

/// Reads the count of changes made by any replica (``Migration/replicaChanges``).
public struct SQLReplicaChanges: Sendable {
    let database: SheduDatabase

    public init(database: SheduDatabase) {
        self.database = database
    }

    /// The count; nil on SQLite, where one server holds the database.
    public func generation() async throws -> Int64? {
        guard database.dialect == .postgres else { return nil }
        return try await database.read { db in
            try await db.raw("SELECT generation FROM shedu_replica_changes WHERE id = 1").first()?
                .decode(column: "generation", as: Int64.self)
        }
    }
}
