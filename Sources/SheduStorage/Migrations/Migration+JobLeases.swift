extension Migration {
    /// Which server runs each singleton background job (``SQLJobLeases``); PostgreSQL only, as on
    /// SQLite one server holds the database.
    static let jobLeases = Migration(version: 13, name: "singleton job leases") { dialect in
        guard dialect == .postgres else { return [] }
        return ["CREATE TABLE shedu_job_leases (job TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)"]
    }
}
