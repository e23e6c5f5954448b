extension Migration {
    /// The changes of ``replicaChanges`` counted per writer (each server's, named by the
    /// `shedu.writer` its write transactions set), so that a server hears only the others' and
    /// does not drop its caches again for its own changes, which it dropped them for at once.
    /// A CA's CRL options changed count too. The CRL number, which each CRL signed moves, does
    /// not: servers would sign again for each other's CRLs without end.
    static let replicaWriters = Migration(version: 12, name: "replica changes by writer, CRL options") { dialect in
        guard dialect == .postgres else { return [] }
        let countChange = """
            INSERT INTO shedu_replica_writes (writer, changes) VALUES (COALESCE(current_setting('shedu.writer', true), ''), 1)
                ON CONFLICT (writer) DO UPDATE SET changes = shedu_replica_writes.changes + 1;
            """
        return [
            "CREATE TABLE shedu_replica_writes (writer TEXT PRIMARY KEY, changes BIGINT NOT NULL)",
            """
            CREATE OR REPLACE FUNCTION shedu_count_replica_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                \(countChange)
                RETURN NULL;
            END $$
            """,
            """
            CREATE OR REPLACE FUNCTION shedu_count_certificate_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (
                    SELECT 1 FROM old_rows o JOIN new_rows n ON n.serial_number = o.serial_number
                    WHERE o.status IS DISTINCT FROM n.status OR o.revocation_reason IS DISTINCT FROM n.revocation_reason
                        OR o.revocation_timestamp IS DISTINCT FROM n.revocation_timestamp
                        OR o.issuer_ca_id IS DISTINCT FROM n.issuer_ca_id)
                THEN
                    \(countChange)
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE FUNCTION shedu_count_crl_options_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (
                    SELECT 1 FROM old_rows o JOIN new_rows n ON n.ca_ski = o.ca_ski
                    WHERE o.refresh_interval_ms IS DISTINCT FROM n.refresh_interval_ms OR o.validity_ms IS DISTINCT FROM n.validity_ms
                        OR o.regenerate_on_revoke IS DISTINCT FROM n.regenerate_on_revoke)
                THEN
                    \(countChange)
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER va_roles_options_changed AFTER UPDATE ON va_roles
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION shedu_count_crl_options_change()
            """,
            "DROP TABLE shedu_replica_changes",
        ]
    }
}
