extension Migration {
    /// Device counts by DMS and status, kept by triggers in the same transaction as each device
    /// write, so the stats of a million devices are a read of a few rows (a scan of every device
    /// took about 100 ms). SQLite only: its single writer makes a counter row cheap, while on
    /// PostgreSQL several servers would queue (or deadlock) on the same counter rows, and its
    /// index scan stays. The (dms_owner, status) index the scan of one DMS used goes with it.
    static let deviceStatusCounts = Migration(version: 8, name: "device counts by dms and status") { dialect in
        guard dialect == .sqlite else { return [] }
        return [
            """
            CREATE TABLE device_status_counts (
                dms_owner TEXT NOT NULL,
                status TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (dms_owner, status)
            ) WITHOUT ROWID
            """,
            """
            INSERT INTO device_status_counts (dms_owner, status, n)
            SELECT dms_owner, status, COUNT(*) FROM devices GROUP BY dms_owner, status
            """,
            """
            CREATE TRIGGER devices_counted_on_insert AFTER INSERT ON devices BEGIN
                INSERT INTO device_status_counts (dms_owner, status, n) VALUES (new.dms_owner, new.status, 1)
                    ON CONFLICT (dms_owner, status) DO UPDATE SET n = n + 1;
            END
            """,
            """
            CREATE TRIGGER devices_counted_on_delete AFTER DELETE ON devices BEGIN
                UPDATE device_status_counts SET n = n - 1 WHERE dms_owner = old.dms_owner AND status = old.status;
            END
            """,
            """
            CREATE TRIGGER devices_counted_on_update AFTER UPDATE OF status, dms_owner ON devices
                WHEN old.status IS NOT new.status OR old.dms_owner IS NOT new.dms_owner BEGIN
                UPDATE device_status_counts SET n = n - 1 WHERE dms_owner = old.dms_owner AND status = old.status;
                INSERT INTO device_status_counts (dms_owner, status, n) VALUES (new.dms_owner, new.status, 1)
                    ON CONFLICT (dms_owner, status) DO UPDATE SET n = n + 1;
            END
            """,
            "DROP INDEX devices_dms_status",
        ]
    }
}
