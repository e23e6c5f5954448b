import SQLKit
import SheduCore

/// Exactly one server runs each singleton background job (the monitors, the CRL refresh), as
/// DESIGN.md asks of replicas on one PostgreSQL: before each pass a server takes the job's lease or
/// renews its own; another takes it once it has expired (a server that died) or was released (one
/// that stopped). Lease times are the database's clock, so servers' clocks may disagree.
/// On SQLite one server holds the database: it runs every job.
public struct SQLJobLeases: Sendable {
    let database: SheduDatabase

    public init(database: SheduDatabase) {
        self.database = database
    }

    /// Whether this server may run `job`'s pass now, holding its lease for `duration` from now.
    public func hold(_ job: String, for duration: TimeDuration) async throws -> Bool {
        guard database.dialect == .postgres else { return true }
        let holder = database.writerID
        let milliseconds = duration.milliseconds
        return try await database.write { db in
            try await db.raw(
                """
                INSERT INTO shedu_job_leases (job, holder, expires_at)
                VALUES (\(bind: job), \(bind: holder), \(unsafeRaw: Self.databaseNow) + \(bind: milliseconds))
                ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE shedu_job_leases.holder = excluded.holder OR shedu_job_leases.expires_at <= \(unsafeRaw: Self.databaseNow)
                RETURNING holder
                """
            ).first() != nil
        }
    }

    /// Gives up `job`'s lease if this server holds it, for another server to take at once.
    public func release(_ job: String) async throws {
        guard database.dialect == .postgres else { return }
        let holder = database.writerID
        try await database.write { db in
            try await db.raw("DELETE FROM shedu_job_leases WHERE job = \(bind: job) AND holder = \(bind: holder)").run()
        }
    }

    /// Milliseconds since 1970 by PostgreSQL's clock, as the statement runs.
    private static let databaseNow = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
}
