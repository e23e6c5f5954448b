extension Migration {
    /// Issuance profiles: the first resource, kept as a JSON document with its list columns.
    static let foundation = Migration(version: 1, name: "issuance profiles") { dialect in
        [
            """
            CREATE TABLE issuance_profiles (
                id \(dialect.textType) PRIMARY KEY,
                name \(dialect.textType) NOT NULL,
                body \(dialect.jsonType) NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX issuance_profiles_name ON issuance_profiles (name, id)",
        ]
    }
}
