extension Migration {
    /// How many leading characters of a certificate's subject key id its index holds.
    static let subjectKeyIDIndexedPrefix = 16

    /// The subject key id index holds 16 of the 64 hex characters. Key ids are random, so each
    /// new certificate writes a page of this index of its own (every other index grows at its
    /// end, where a group commit shares a page); at a quarter of the size it stays in the
    /// writer's cache and splits less. Measured: 6% less server CPU per signed certificate at
    /// 80,000 certificates. 64 bits tell keys apart; the whole id is compared after.
    static let subjectKeyIDPrefix = Migration(version: 10, name: "certificates by a prefix of their key id") { dialect in
        let prefix = "substr(subject_key_id, 1, \(subjectKeyIDIndexedPrefix))"
        return [
            "DROP INDEX certificates_subject_key_id",
            // PostgreSQL takes an expression in parentheses of its own.
            "CREATE INDEX certificates_subject_key_id_prefix ON certificates (\(dialect == .sqlite ? prefix : "(\(prefix))"))",
        ]
    }
}
