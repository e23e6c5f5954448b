import Foundation
import SQLKit
import SheduCore

/// The rule "a device's status follows its certificate", written once in SQL and applied by
/// every path that changes a device or a bound certificate, inside that path's transaction.
///
/// The status comes from the bound certificate's status and the device's windows: REVOKED or
/// EXPIRED with the certificate, else the window `now` is in. `next_window_at` is the next
/// window still ahead, so the monitor finds due devices in one index range. Every change is
/// appended to the device's history and to the outbox, and, once the device has an identity, to
/// its slot's history (the slot's status is the device's: Lamassu's STATUS-UPDATED of §6.3).
enum DeviceStatusSync {
    /// History keys of derived changes sort after the events a change itself records.
    static let historySequence = 500_000

    /// The status and next window of each row of `devices`, as SQL expressions.
    /// - Parameter followCertificate: read the bound certificate's status too (else only time counts,
    ///   as for the monitor, which only sees devices whose certificate is live).
    static func derived(now: Int64, followCertificate: Bool) -> (status: RenderedSQL, next: RenderedSQL) {
        let certificateStatus: RenderedSQL =
            "(SELECT c.status FROM certificates c WHERE c.serial_number = devices.active_serial)"
        let revoked: RenderedSQL = followCertificate ? "WHEN \(certificateStatus) = 'REVOKED' THEN 'REVOKED'" : ""
        let expired: RenderedSQL = followCertificate ? "\(certificateStatus) = 'EXPIRED' OR " : ""
        let dead: RenderedSQL = followCertificate ? "OR \(certificateStatus) IN ('REVOKED', 'EXPIRED') " : ""
        let status: RenderedSQL = """
            (CASE WHEN devices.active_serial IS NULL THEN 'NO_IDENTITY' \(revoked)
                WHEN \(expired)devices.expires_at <= \(bind: now) THEN 'EXPIRED'
                WHEN devices.critical_at <= \(bind: now) THEN 'ABOUT_TO_EXPIRE'
                WHEN devices.preventive_at <= \(bind: now) THEN 'RENEWAL_WINDOW'
                ELSE 'ACTIVE' END)
            """
        let next: RenderedSQL = """
            (CASE WHEN devices.active_serial IS NULL \(dead)OR devices.expires_at <= \(bind: now) THEN NULL
                WHEN devices.critical_at <= \(bind: now) THEN devices.expires_at
                WHEN devices.preventive_at <= \(bind: now) THEN devices.critical_at
                ELSE devices.preventive_at END)
            """
        return (status, next)
    }

    /// Derives the status of the devices matching `condition` (over `devices`) again and records
    /// each change.
    /// - Parameter prefix: a `WITH` clause the condition uses.
    static func sync(
        prefix: RenderedSQL? = nil, where condition: RenderedSQL, now: Date, followCertificate: Bool,
        on db: any SQLDatabase, dialect: SQLDialectKind
    ) async throws {
        _ = try await sync(
            prefix: prefix, where: condition, now: now, followCertificate: followCertificate, counting: false, on: db,
            dialect: dialect)
    }

    /// ``sync(prefix:where:now:followCertificate:on:dialect:)``, returning how many devices changed status.
    static func syncCountingChanges(
        prefix: RenderedSQL? = nil, where condition: RenderedSQL, now: Date, followCertificate: Bool,
        on db: any SQLDatabase, dialect: SQLDialectKind
    ) async throws -> Int {
        try await sync(
            prefix: prefix, where: condition, now: now, followCertificate: followCertificate, counting: true, on: db,
            dialect: dialect)
    }

    /// The count costs a statement (or the returned rows), so only callers that use it pay for it.
    private static func sync(
        prefix: RenderedSQL?, where condition: RenderedSQL, now: Date, followCertificate: Bool, counting: Bool,
        on db: any SQLDatabase, dialect: SQLDialectKind
    ) async throws -> Int {
        let instant = now.epochMilliseconds
        let (status, next) = derived(now: instant, followCertificate: followCertificate)
        let with: RenderedSQL = prefix.map { "\($0) " } ?? ""
        let candidates: RenderedSQL = "(\(condition)) AND devices.status <> 'DECOMMISSIONED'"
        let data = dialect.jsonObject([
            ("id", "devices.id"), ("previous", dialect.jsonObject([("status", "devices.status")])),
            ("updated", dialect.jsonObject([("status", status)])),
        ])
        let insertEvents: RenderedSQL = """
            \(with)INSERT INTO events (id, type, source, subject, time, data)
            SELECT \(dialect.randomID), 'device.status.update', 'shedu://service/devmanager', 'device/' || devices.id,
                \(bind: instant), \(data)
            FROM devices WHERE \(candidates) AND devices.status <> \(status)
            """
        var changed = 0
        if !counting {
            try await insertEvents.run(on: db)
        } else if dialect == .sqlite {
            // Counted by SQLite rather than returned: a monitor pass changes 100,000 rows, each
            // of which would be handed over on its own.
            try await insertEvents.run(on: db)
            changed = try await db.raw("SELECT changes() AS n").first()?.decode(column: "n", as: Int.self) ?? 0
        } else {
            let returning: RenderedSQL = "\(insertEvents) RETURNING id"
            changed = try await returning.all(on: db).count
        }
        let description: RenderedSQL = "'Status updated from ''' || devices.status || ''' to ''' || \(status) || ''''"
        let entry = dialect.jsonObject([("type", "'STATUS-UPDATED'"), ("description", description)])
        let key = DeviceHistory.key(now, sequence: historySequence)
        let appended: RenderedSQL =
            dialect == .sqlite
            ? "json_set(devices.events, \(bind: "$.\"\(key)\""), \(entry))"
            : "devices.events || jsonb_build_object(CAST(\(bind: key) AS TEXT), \(entry))"
        let slotKey = "$.events.\"\(key)\""
        let appendedToSlot: RenderedSQL =
            dialect == .sqlite
            ? "json_set(devices.identity, \(bind: slotKey), \(entry))"
            : "jsonb_set(devices.identity, ARRAY['events', CAST(\(bind: key) AS TEXT)], \(entry), true)"
        let nextDiffers: RenderedSQL =
            dialect == .sqlite ? "devices.next_window_at IS NOT \(next)" : "devices.next_window_at IS DISTINCT FROM \(next)"
        let update: RenderedSQL = """
            \(with)UPDATE devices SET events = CASE WHEN devices.status <> \(status) THEN \(appended) ELSE devices.events END,
                identity = CASE WHEN devices.status <> \(status) AND devices.status <> 'NO_IDENTITY' AND devices.identity IS NOT NULL
                    THEN \(appendedToSlot) ELSE devices.identity END,
                status = \(status), next_window_at = \(next), revision = devices.revision + 1
            WHERE \(candidates) AND (devices.status <> \(status) OR \(nextDiffers))
            """
        try await update.run(on: db)
        return changed
    }

    /// Moves the windows of a DMS's devices after its deltas changed, and derives their status again.
    static func moveWindows(
        ofDMS dmsID: String, preventiveDelta: TimeDuration, criticalDelta: TimeDuration, now: Date, on db: any SQLDatabase,
        dialect: SQLDialectKind
    ) async throws {
        try await db.raw(
            """
            UPDATE devices SET preventive_at = expires_at - \(bind: preventiveDelta.milliseconds),
                critical_at = expires_at - \(bind: criticalDelta.milliseconds), revision = revision + 1
            WHERE dms_owner = \(bind: dmsID) AND active_serial IS NOT NULL AND status <> 'DECOMMISSIONED'
            """
        ).run()
        try await sync(where: "devices.dms_owner = \(bind: dmsID)", now: now, followCertificate: true, on: db, dialect: dialect)
    }
}
