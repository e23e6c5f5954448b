import SQLKit

/// Reads how many changes other servers made (``Migration/replicaWriters``).
public struct SQLReplicaChanges: Sendable {
    let database: SheduDatabase

    public init(database: SheduDatabase) {
        self.database = database
    }

    /// The count of changes written by servers other than this one; nil on SQLite, where one
    /// server holds the database.
    public func othersChanges() async throws -> Int64? {
        guard database.dialect == .postgres else { return nil }
        let writer = database.writerID
        return try await database.read { db in
            try await db.raw(
                "SELECT CAST(COALESCE(SUM(changes), 0) AS BIGINT) AS changes FROM shedu_replica_writes WHERE writer <> \(bind: writer)"
            ).first()?.decode(column: "changes", as: Int64.self)
        }
    }
}
