extension Migration {
    /// A count of the changes other replicas' caches must hear of: a CA added, changed or
    /// deleted, a certificate's status, reason or issuing CA changed, a certificate deleted.
    /// Statement triggers keep it in the writing transaction; ``replicaWriters`` counts it per server.
    /// PostgreSQL only: on SQLite one server holds the database.
    static let replicaChanges = Migration(version: 11, name: "replica change count") { dialect in
        guard dialect == .postgres else { return [] }
        return [
            "CREATE TABLE shedu_replica_changes (id INTEGER PRIMARY KEY, generation BIGINT NOT NULL)",
            "INSERT INTO shedu_replica_changes (id, generation) VALUES (1, 0)",
            """
            CREATE FUNCTION shedu_count_replica_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE shedu_replica_changes SET generation = generation + 1 WHERE id = 1;
                RETURN NULL;
            END $$
            """,
            // Issuing a certificate changes no status: only updates that do are counted, so
            // that issuance and metadata leave other replicas' caches alone.
            """
            CREATE FUNCTION shedu_count_certificate_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (
                    SELECT 1 FROM old_rows o JOIN new_rows n ON n.serial_number = o.serial_number
                    WHERE o.status IS DISTINCT FROM n.status OR o.revocation_reason IS DISTINCT FROM n.revocation_reason
                        OR o.revocation_timestamp IS DISTINCT FROM n.revocation_timestamp
                        OR o.issuer_ca_id IS DISTINCT FROM n.issuer_ca_id)
                THEN
                    UPDATE shedu_replica_changes SET generation = generation + 1 WHERE id = 1;
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER certificates_status_changed AFTER UPDATE ON certificates
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION shedu_count_certificate_status_change()
            """,
            """
            CREATE TRIGGER certificates_deleted AFTER DELETE ON certificates
                FOR EACH STATEMENT EXECUTE FUNCTION shedu_count_replica_change()
            """,
            """
            CREATE TRIGGER cas_changed AFTER INSERT OR UPDATE OR DELETE ON cas
                FOR EACH STATEMENT EXECUTE FUNCTION shedu_count_replica_change()
            """,
        ]
    }
}
