extension Migration {
    /// The outbox, KMS keys, certificates and CAs.
    static let certificateAuthorities = Migration(version: 2, name: "outbox, kms keys, certificates, cas") { dialect in
        let text = dialect.textType
        let json = dialect.jsonType
        let bool = dialect.booleanType
        let sequence = dialect == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        return [
            """
            CREATE TABLE events (
                seq \(sequence),
                id \(text) NOT NULL,
                type \(text) NOT NULL,
                source \(text) NOT NULL,
                subject \(text) NOT NULL,
                time BIGINT NOT NULL,
                data \(json) NOT NULL,
                delivered_at BIGINT
            )
            """,
            "CREATE INDEX events_pending ON events (seq) WHERE delivered_at IS NULL",
            "CREATE INDEX events_by_type ON events (type, seq)",
            """
            CREATE TABLE kms_keys (
                id \(text) PRIMARY KEY,
                name \(text) NOT NULL,
                engine_id \(text) NOT NULL,
                algorithm \(text) NOT NULL,
                size INTEGER NOT NULL,
                has_private_key \(bool) NOT NULL,
                public_key \(text) NOT NULL,
                material \(dialect.blobType),
                aliases \(json) NOT NULL,
                tags \(json) NOT NULL,
                metadata \(json) NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX kms_keys_created ON kms_keys (created_at, id)",
            """
            CREATE TABLE kms_key_aliases (
                alias \(text) PRIMARY KEY,
                key_id \(text) NOT NULL REFERENCES kms_keys (id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX kms_key_aliases_key ON kms_key_aliases (key_id)",
            """
            CREATE TABLE certificates (
                serial_number \(text) PRIMARY KEY,
                der \(dialect.blobType) NOT NULL,
                subject_cn \(text) NOT NULL,
                subject \(json) NOT NULL,
                issuer \(json) NOT NULL,
                subject_key_id \(text) NOT NULL,
                authority_key_id \(text) NOT NULL,
                key_type \(text) NOT NULL,
                key_bits INTEGER NOT NULL,
                valid_from BIGINT NOT NULL,
                valid_to BIGINT NOT NULL,
                status \(text) NOT NULL,
                revocation_timestamp BIGINT,
                revocation_reason \(text) NOT NULL,
                held_by_ca \(text),
                type \(text) NOT NULL,
                engine_id \(text) NOT NULL,
                key_id \(text),
                is_ca \(bool) NOT NULL,
                ca_id \(text),
                self_signed \(bool) NOT NULL,
                issuer_ca_id \(text) NOT NULL,
                issuer_serial \(text) NOT NULL,
                issuer_level INTEGER NOT NULL,
                key_usage \(json) NOT NULL,
                extended_key_usage \(json) NOT NULL,
                alternative_names \(json) NOT NULL,
                metadata \(json) NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX certificates_valid_from ON certificates (valid_from, serial_number)",
            "CREATE INDEX certificates_status ON certificates (status, valid_from, serial_number)",
            "CREATE INDEX certificates_issuer ON certificates (issuer_ca_id, valid_from, serial_number)",
            "CREATE INDEX certificates_issuer_status ON certificates (issuer_ca_id, status, valid_from, serial_number)",
            "CREATE INDEX certificates_valid_to ON certificates (valid_to, serial_number)",
            "CREATE INDEX certificates_live_valid_to ON certificates (valid_to) WHERE status IN ('ACTIVE', 'INACTIVE')",
            "CREATE INDEX certificates_subject_cn ON certificates (subject_cn, serial_number)",
            "CREATE INDEX certificates_subject_key_id ON certificates (subject_key_id)",
            "CREATE INDEX certificates_held_by ON certificates (held_by_ca) WHERE held_by_ca IS NOT NULL",
            "CREATE INDEX certificates_ca ON certificates (ca_id) WHERE ca_id IS NOT NULL",
            """
            CREATE TABLE cas (
                id \(text) PRIMARY KEY,
                serial_number \(text) NOT NULL UNIQUE REFERENCES certificates (serial_number),
                parent_id \(text),
                level INTEGER NOT NULL,
                profile_id \(text),
                key_id \(text),
                metadata \(json) NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX cas_parent ON cas (parent_id)",
            "CREATE INDEX cas_key ON cas (key_id)",
            "CREATE INDEX cas_created ON cas (created_at, id)",
        ]
    }
}
