extension Migration {
    /// Certificate counts by issuing CA and status, kept by triggers in the same transaction as
    /// each certificate write, so the CA stats of a million certificates are a read of a few rows
    /// (a count over the status index took about 100–150 ms). SQLite only, as for the devices'
    /// counts (``deviceStatusCounts``): on PostgreSQL several servers would queue on the counter rows.
    static let certificateStatusCounts = Migration(version: 9, name: "certificate counts by issuer and status") { dialect in
        guard dialect == .sqlite else { return [] }
        return [
            """
            CREATE TABLE certificate_status_counts (
                issuer_ca_id TEXT NOT NULL,
                self_signed INTEGER NOT NULL,
                status TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (issuer_ca_id, self_signed, status)
            ) WITHOUT ROWID
            """,
            """
            INSERT INTO certificate_status_counts (issuer_ca_id, self_signed, status, n)
            SELECT issuer_ca_id, self_signed, status, COUNT(*) FROM certificates GROUP BY issuer_ca_id, self_signed, status
            """,
            """
            CREATE TRIGGER certificates_counted_on_insert AFTER INSERT ON certificates BEGIN
                INSERT INTO certificate_status_counts (issuer_ca_id, self_signed, status, n)
                    VALUES (new.issuer_ca_id, new.self_signed, new.status, 1)
                    ON CONFLICT (issuer_ca_id, self_signed, status) DO UPDATE SET n = n + 1;
            END
            """,
            """
            CREATE TRIGGER certificates_counted_on_delete AFTER DELETE ON certificates BEGIN
                UPDATE certificate_status_counts SET n = n - 1
                    WHERE issuer_ca_id = old.issuer_ca_id AND self_signed = old.self_signed AND status = old.status;
            END
            """,
            """
            CREATE TRIGGER certificates_counted_on_update AFTER UPDATE OF status, issuer_ca_id, self_signed ON certificates
                WHEN old.status IS NOT new.status OR old.issuer_ca_id IS NOT new.issuer_ca_id
                    OR old.self_signed IS NOT new.self_signed BEGIN
                UPDATE certificate_status_counts SET n = n - 1
                    WHERE issuer_ca_id = old.issuer_ca_id AND self_signed = old.self_signed AND status = old.status;
                INSERT INTO certificate_status_counts (issuer_ca_id, self_signed, status, n)
                    VALUES (new.issuer_ca_id, new.self_signed, new.status, 1)
                    ON CONFLICT (issuer_ca_id, self_signed, status) DO UPDATE SET n = n + 1;
            END
            """,
        ]
    }
}
