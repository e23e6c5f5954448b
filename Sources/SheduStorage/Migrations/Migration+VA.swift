extension Migration {
    /// VA roles (CRL options and the CRL number counter) and the latest CRL of each CA.
    static let va = Migration(version: 4, name: "va roles, crls") { dialect in
        let text = dialect.textType
        return [
            // crl_number is the last number handed out: it only grows, across restarts and replicas.
            """
            CREATE TABLE va_roles (
                ca_ski \(text) PRIMARY KEY,
                refresh_interval_ms BIGINT NOT NULL,
                validity_ms BIGINT NOT NULL,
                regenerate_on_revoke \(dialect.booleanType) NOT NULL,
                crl_number BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE va_crls (
                ca_ski \(text) PRIMARY KEY,
                crl_number BIGINT NOT NULL,
                this_update BIGINT NOT NULL,
                next_update BIGINT NOT NULL,
                der \(dialect.blobType) NOT NULL
            )
            """,
        ]
    }
}
