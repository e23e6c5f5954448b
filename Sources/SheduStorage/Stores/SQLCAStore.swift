import Foundation
import SQLKit
import SheduCore
import SheduPKI

/// CAs and certificates in SQL. A CA is a row of `cas` joined to its current certificate in
/// `certificates`; every certificate Shedu knows is one row of `certificates`.
///
/// Every committed change of a certificate's status is announced on ``statusChanges`` before
/// the call that made it returns.
public struct SQLCAStore: CAStore {
    let database: SheduDatabase
    public let statusChanges: CertificateStatusFeed
    private let certificates: ListQueryCompiler
    private let authorities: ListQueryCompiler
    private let issuance: WriteBatcher<PendingCertificate>

    public init(database: SheduDatabase, statusChanges: CertificateStatusFeed = CertificateStatusFeed()) {
        self.database = database
        self.statusChanges = statusChanges
        let dialect = database.dialect
        issuance = WriteBatcher(database: database) { batch, db in
            try await Self.insertBatch(batch, on: db, dialect: dialect)
        }
        certificates = ListQueryCompiler(
            dialect: database.dialect,
            table: ResourceTable(from: "certificates t", primaryKey: "t.serial_number", columns: Self.certificateColumns))
        var caColumns = Self.certificateColumns
        caColumns["id"] = .init("c.id", .text)
        caColumns["profile_id"] = .init("c.profile_id", .text, nullable: true)
        caColumns["level"] = .init("c.level", .number)
        caColumns["creation_ts"] = .init("c.created_at", .epochMilliseconds)
        // A CA's metadata is its own (what the API shows and updates), not its certificate's.
        caColumns["metadata"] = .init("c.metadata", .json)
        authorities = ListQueryCompiler(
            dialect: database.dialect,
            table: ResourceTable(
                from: "cas c JOIN certificates t ON t.serial_number = c.serial_number", primaryKey: "c.id", columns: caColumns))
    }

    /// Its index holds a prefix (``Migration/subjectKeyIDPrefix``).
    static let subjectKeyID = ResourceTable.Column("t.subject_key_id", .text, indexedPrefix: Migration.subjectKeyIDIndexedPrefix)

    static let certificateColumns: [String: ResourceTable.Column] = [
        "serial_number": .init("t.serial_number", .text), "subject.common_name": .init("t.subject_cn", .text),
        "subject_key_id": subjectKeyID, "authority_key_id": .init("t.authority_key_id", .text),
        "issuer_meta.id": .init("t.issuer_ca_id", .text), "status": .init("t.status", .text),
        "type": .init("t.type", .text), "engine_id": .init("t.engine_id", .text),
        "valid_from": .init("t.valid_from", .epochMilliseconds), "valid_to": .init("t.valid_to", .epochMilliseconds),
        "revocation_timestamp": .init("t.revocation_timestamp", .epochMilliseconds, nullable: true),
        "revocation_reason": .init("t.revocation_reason", .text), "metadata": .init("t.metadata", .json),
        "extensions.key_usage": .init("t.key_usage", .jsonStringArray),
        "extensions.extended_key_usage": .init("t.extended_key_usage", .jsonStringArray),
        "is_ca": .init("t.is_ca", .boolean), "key_metadata.type": .init("t.key_type", .text),
        "key_metadata.bits": .init("t.key_bits", .number),
    ]

    private var dialect: SQLDialectKind { database.dialect }

    // MARK: Columns and rows

    /// The certificate columns, read from `t`.
    private var certificateSelect: SQLQueryString {
        let json = dialect.jsonText
        return """
            t.serial_number, t.der, t.subject_key_id, t.authority_key_id, t.key_type, t.key_bits, t.valid_from, t.valid_to,
            t.status, t.revocation_timestamp, t.revocation_reason, t.held_by_ca, t.type, t.engine_id, t.key_id, t.is_ca,
            t.ca_id, t.self_signed, t.issuer_ca_id, t.issuer_serial, t.issuer_level, t.created_at,
            \(unsafeRaw: json("t.subject")) AS subject, \(unsafeRaw: json("t.issuer")) AS issuer,
            \(unsafeRaw: json("t.key_usage")) AS key_usage, \(unsafeRaw: json("t.extended_key_usage")) AS extended_key_usage,
            \(unsafeRaw: json("t.alternative_names")) AS alternative_names, \(unsafeRaw: json("t.metadata")) AS metadata
            """
    }

    private var caSelect: SQLQueryString {
        """
        \(certificateSelect), c.id AS a_id, c.parent_id AS a_parent, c.level AS a_level, c.profile_id AS a_profile,
        c.key_id AS a_key, \(unsafeRaw: dialect.jsonText("c.metadata")) AS a_metadata, c.created_at AS a_created
        """
    }

    static func decodeCertificate(_ row: any SQLRow) throws -> CertificateRecord {
        func json<T: Decodable>(_ column: String, as type: T.Type) throws -> T {
            try DomainJSON.decode(type, from: row.decode(column: column, as: String.self))
        }
        let info = CertificateInfo(
            serialNumber: try row.decode(column: "serial_number", as: String.self),
            subject: try json("subject", as: Subject.self), issuer: try json("issuer", as: Subject.self),
            subjectKeyID: try row.decode(column: "subject_key_id", as: String.self),
            authorityKeyID: try row.decode(column: "authority_key_id", as: String.self),
            keySpec: KeySpec(
                storedAlgorithm: KeyAlgorithm(rawValue: try row.decode(column: "key_type", as: String.self)) ?? .ecdsa,
                bits: try row.decode(column: "key_bits", as: Int.self)),
            notBefore: Date(epochMilliseconds: try row.decode(column: "valid_from", as: Int64.self)),
            notAfter: Date(epochMilliseconds: try row.decode(column: "valid_to", as: Int64.self)),
            isCA: try row.decode(column: "is_ca", as: Bool.self),
            keyUsage: try json("key_usage", as: [KeyUsageName].self),
            extendedKeyUsage: try json("extended_key_usage", as: [ExtendedKeyUsageName].self),
            alternativeNames: try json("alternative_names", as: CertificateInfo.AlternativeNames.self))
        return CertificateRecord(
            der: Array(try row.decode(column: "der", as: Data.self)), info: info,
            status: CertificateStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .active,
            revocationTimestamp: try row.decode(column: "revocation_timestamp", as: Int64?.self).map(Date.init(epochMilliseconds:)),
            revocationReason: RevocationReason(rawValue: try row.decode(column: "revocation_reason", as: String.self)) ?? .unspecified,
            heldByCA: try row.decode(column: "held_by_ca", as: String?.self),
            type: CertificateType(rawValue: try row.decode(column: "type", as: String.self)) ?? .importedWithoutKey,
            engineID: try row.decode(column: "engine_id", as: String.self),
            keyID: try row.decode(column: "key_id", as: String?.self), caID: try row.decode(column: "ca_id", as: String?.self),
            isSelfSigned: try row.decode(column: "self_signed", as: Bool.self),
            issuer: .init(
                serialNumber: try row.decode(column: "issuer_serial", as: String.self),
                id: try row.decode(column: "issuer_ca_id", as: String.self),
                level: try row.decode(column: "issuer_level", as: Int.self)),
            metadata: try DomainJSON.object(from: row.decode(column: "metadata", as: String.self)),
            creationDate: Date(epochMilliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }

    static func decodeCA(_ row: any SQLRow) throws -> CertificateAuthority {
        CertificateAuthority(
            id: try row.decode(column: "a_id", as: String.self), certificate: try decodeCertificate(row),
            metadata: try DomainJSON.object(from: row.decode(column: "a_metadata", as: String.self)),
            creationDate: Date(epochMilliseconds: try row.decode(column: "a_created", as: Int64.self)),
            level: try row.decode(column: "a_level", as: Int.self),
            profileID: try row.decode(column: "a_profile", as: String?.self),
            parentID: try row.decode(column: "a_parent", as: String?.self),
            keyID: try row.decode(column: "a_key", as: String?.self))
    }

    /// The values of a certificate row, in the column order of ``insertColumns``.
    static func values(_ record: CertificateRecord, dialect: SQLDialectKind) -> [RenderedSQL.Value] {
        let info = record.info
        return [
            .bind(record.serialNumber), .bind(Data(record.der)), .bind(info.subject.commonName),
            .json(CertificateDocuments.subject(info.subject)), .json(CertificateDocuments.subject(info.issuer)),
            .bind(info.subjectKeyID), .bind(info.authorityKeyID), .bind(info.keySpec.algorithm.rawValue),
            .bind(info.keySpec.bits), .bind(info.notBefore.epochMilliseconds), .bind(info.notAfter.epochMilliseconds),
            .bind(record.status.rawValue), .bind(record.revocationTimestamp?.epochMilliseconds),
            .bind(record.revocationReason.rawValue), .bind(record.heldByCA), .bind(record.type.rawValue),
            .bind(record.engineID), .bind(record.keyID), .bind(info.isCA), .bind(record.caID),
            .bind(record.isSelfSigned), .bind(record.issuer.id), .bind(record.issuer.serialNumber),
            .bind(record.issuer.level), .json(CertificateDocuments.names(info.keyUsage)),
            .json(CertificateDocuments.names(info.extendedKeyUsage)),
            .json(CertificateDocuments.alternativeNames(info.alternativeNames)),
            .json(CertificateDocuments.metadata(record.metadata)), .bind(record.creationDate.epochMilliseconds),
        ]
    }

    private static let insertColumns = """
        serial_number, der, subject_cn, subject, issuer, subject_key_id, authority_key_id, key_type, key_bits,
        valid_from, valid_to, status, revocation_timestamp, revocation_reason, held_by_ca, type, engine_id, key_id,
        is_ca, ca_id, self_signed, issuer_ca_id, issuer_serial, issuer_level, key_usage, extended_key_usage,
        alternative_names, metadata, created_at
        """

    /// The condition "this CA is ACTIVE", for writes that must not happen otherwise.
    private static func activeCA(_ id: String) -> RenderedSQL {
        """
        EXISTS (SELECT 1 FROM cas ac JOIN certificates act ON act.serial_number = ac.serial_number
                WHERE ac.id = \(bind: id) AND act.status = 'ACTIVE')
        """
    }

    func insertCertificateRow(_ record: CertificateRecord, requireActiveCA: String?, on db: any SQLDatabase) async throws {
        try await Self.certificateInsert(record, requireActiveCA: requireActiveCA, dialect: dialect).run(on: db)
    }

    /// A certificate row's INSERT with its values rendered, made before a write job so that the
    /// single writer only runs it.
    struct CertificateInsert: Sendable {
        let statement: RenderedSQL
        let serialNumber: String
        let requireActiveCA: String?

        /// Inserts the row: ``SerialNumberTaken`` when the serial exists, a conflict when the CA
        /// it needs is no longer ACTIVE.
        func run(on db: any SQLDatabase) async throws {
            let inserted: [any SQLRow]
            do {
                inserted = try await statement.all(on: db)
            } catch where SheduDatabase.isUniqueViolation(error) {
                throw SerialNumberTaken(serialNumber: serialNumber)
            }
            if inserted.isEmpty, let requireActiveCA {
                throw SheduError.conflict("CA '\(requireActiveCA)' is no longer ACTIVE")
            }
        }
    }

    static func certificateInsert(_ record: CertificateRecord, requireActiveCA: String?, dialect: SQLDialectKind)
        -> CertificateInsert
    {
        let onlyIfActive: RenderedSQL = requireActiveCA.map { " WHERE \(activeCA($0))" } ?? ""
        let sql: RenderedSQL = """
            INSERT INTO certificates (\(unsafeRaw: insertColumns)) \
            SELECT \(RenderedSQL.list(values(record, dialect: dialect), dialect: dialect))\(onlyIfActive) RETURNING serial_number
            """
        return CertificateInsert(statement: sql, serialNumber: record.serialNumber, requireActiveCA: requireActiveCA)
    }

    // MARK: CAs

    public func insertCA(
        _ ca: CertificateAuthority, newKey: StoredKey?, requireActiveParent: String?, reparent: [String],
        adopt: [String], events: [DomainEvent]
    ) async throws {
        let dialect = self.dialect
        try await database.write { db in
            if let newKey { try await SQLKMSStore.insertKey(newKey, on: db, dialect: dialect) }
            try await Self.requireExisting(profile: ca.profileID, key: ca.keyID, on: db)
            // One key, one CA, also for two CAs made at once with the same key.
            if let keyID = ca.keyID, let holder = try await Self.caID(usingKey: keyID, on: db) {
                throw CAService.keyTaken(keyID, by: holder)
            }
            var certificate = ca.certificate
            if let parent = ca.parentID { try await Self.inheritRevocation(&certificate, under: parent, at: ca.creationDate, on: db) }
            // Tried first: on PostgreSQL a failed INSERT would end the transaction.
            if try await !Self.takeOver(certificate, on: db) {
                try await insertCertificateRow(certificate, requireActiveCA: requireActiveParent, on: db)
            }
            // What a deleted CA of the same id issued is not this CA's, subordinate CAs included;
            // what it issued with this CA's key (checked by signature: `adopt`, `reparent`) is,
            // and its revocations belong on this CA's CRL.
            try await db.raw(
                """
                UPDATE certificates SET issuer_ca_id = '-', issuer_serial = '-', issuer_level = -1
                WHERE issuer_ca_id = \(bind: ca.id) AND NOT self_signed
                    AND NOT EXISTS (SELECT 1 FROM cas WHERE cas.id = certificates.issuer_ca_id)
                """
            ).run()
            try await db.raw(
                """
                UPDATE cas SET parent_id = NULL
                WHERE parent_id = \(bind: ca.id) AND NOT EXISTS (SELECT 1 FROM cas parent WHERE parent.id = \(bind: ca.id))
                """
            ).run()
            for range in ChunkSizes.ranges(count: adopt.count, limit: 512) {
                try await db.raw(
                    """
                    UPDATE certificates SET issuer_ca_id = \(bind: ca.id), issuer_serial = \(bind: ca.certificate.serialNumber),
                        issuer_level = \(bind: ca.level)
                    WHERE serial_number IN (\(binds: Array(adopt[range])))
                    """
                ).run()
            }
            do {
                try await db.raw(
                    """
                    INSERT INTO cas (id, serial_number, parent_id, level, profile_id, key_id, metadata, created_at)
                    VALUES (\(bind: ca.id), \(bind: ca.certificate.serialNumber), \(bind: ca.parentID), \(bind: ca.level),
                        \(bind: ca.profileID), \(bind: ca.keyID), \(dialect.jsonBind(DomainJSON.text(ca.metadata))),
                        \(bind: ca.creationDate.epochMilliseconds))
                    """
                ).run()
            } catch where SheduDatabase.isUniqueViolation(error) {
                throw SheduError.conflict("CA '\(ca.id)' already exists")
            }
            if !reparent.isEmpty {
                try await db.raw("UPDATE cas SET parent_id = \(bind: ca.id) WHERE id IN (\(binds: reparent))").run()
                try await db.raw(
                    """
                    UPDATE certificates SET issuer_ca_id = \(bind: ca.id), issuer_serial = \(bind: ca.certificate.serialNumber),
                        issuer_level = \(bind: ca.level)
                    WHERE serial_number IN (SELECT serial_number FROM cas WHERE id IN (\(binds: reparent)))
                    """
                ).run()
                try await db.raw(
                    """
                    WITH RECURSIVE tree(id, depth) AS (
                        SELECT id, 0 FROM cas WHERE id = \(bind: ca.id)
                        UNION ALL SELECT c.id, tree.depth + 1 FROM cas c JOIN tree ON c.parent_id = tree.id)
                    UPDATE cas SET level = \(bind: ca.level) + (SELECT depth FROM tree WHERE tree.id = cas.id)
                    WHERE id IN (SELECT id FROM tree)
                    """
                ).run()
                // What the re-parented CAs and those below them issued shows their new level.
                try await db.raw(
                    """
                    \(Self.tree(ca.id))
                    UPDATE certificates SET issuer_level = (SELECT level FROM cas WHERE cas.id = certificates.issuer_ca_id)
                    WHERE issuer_ca_id IN (SELECT id FROM tree) AND issuer_ca_id <> \(bind: ca.id) AND NOT self_signed
                    """
                ).run()
            }
            try await Outbox.insert(events, on: db, dialect: dialect)
        }
        statusChanges.publish(.authorityAdded)
    }

    public func ca(id: String) async throws -> CertificateAuthority? {
        let select = caSelect
        return try await database.read { db in
            try await db.raw(
                "SELECT \(select) FROM cas c JOIN certificates t ON t.serial_number = c.serial_number WHERE c.id = \(bind: id)"
            ).first().map(Self.decodeCA)
        }
    }

    public func listCAs(_ query: ListQuery) async throws -> Page<CertificateAuthority> {
        let select = caSelect
        return try await database.read { db in
            try await authorities.page(query, on: db, columns: select, decode: Self.decodeCA)
        }
    }

    public func caCandidates(subjectKeyID: String?, commonName: String) async throws -> [CertificateAuthority] {
        let select = caSelect
        return try await database.read { db in
            try await db.raw(
                """
                SELECT \(select) FROM cas c JOIN certificates t ON t.serial_number = c.serial_number
                WHERE (\(Self.subjectKeyID.prefixLookup([subjectKeyID ?? ""])!) AND t.subject_key_id = \(bind: subjectKeyID ?? ""))
                    OR t.subject_cn = \(bind: commonName)
                """
            ).all().map(Self.decodeCA)
        }
    }

    public func orphanCertificates(authorityKeyID: String?, caID: String) async throws -> [(serialNumber: String, der: [UInt8])] {
        // By issuer, a range of an index; by authority key id (or none, RFC 5280 §4.2.1.1 allows
        // it on a self-issued chain), a scan (a CA on a key that existed before).
        let named: SQLQueryString =
            authorityKeyID.map { "(authority_key_id IN (\(bind: $0), '') OR issuer_ca_id = \(bind: caID))" } ?? "issuer_ca_id = \(bind: caID)"
        return try await database.read { db in
            try await db.raw(
                """
                SELECT serial_number, der FROM certificates
                WHERE \(named) AND NOT self_signed
                    AND ca_id IS NULL AND NOT EXISTS (SELECT 1 FROM cas WHERE cas.id = certificates.issuer_ca_id)
                """
            ).all().map { row in
                (try row.decode(column: "serial_number", as: String.self), Array(try row.decode(column: "der", as: Data.self)))
            }
        }
    }

    public func caID(usingKey keyID: String) async throws -> String? {
        try await database.read { db in try await Self.caID(usingKey: keyID, on: db) }
    }

    static func caID(usingKey keyID: String, on db: any SQLDatabase) async throws -> String? {
        try await db.raw("SELECT id FROM cas WHERE key_id = \(bind: keyID) ORDER BY id LIMIT 1").first()?
            .decode(column: "id", as: String.self)
    }

    public func casCertified(byAuthorityKeyID authorityKeyID: String) async throws -> [CertificateAuthority] {
        let select = caSelect
        return try await database.read { db in
            try await db.raw(
                """
                SELECT \(select) FROM cas c JOIN certificates t ON t.serial_number = c.serial_number
                WHERE t.authority_key_id IN (\(bind: authorityKeyID), '')
                """
            ).all().map(Self.decodeCA)
        }
    }

    public func updateCA(id: String, _ change: @escaping @Sendable (inout CertificateAuthority) throws -> [DomainEvent])
        async throws -> CertificateAuthority?
    {
        let select = caSelect
        let dialect = self.dialect
        return try await database.write { db in
            guard let row = try await db.raw(
                "SELECT \(select) FROM cas c JOIN certificates t ON t.serial_number = c.serial_number WHERE c.id = \(bind: id)"
            ).first() else { return nil }
            var ca = try Self.decodeCA(row)
            let previousProfile = ca.profileID
            let events = try change(&ca)
            if ca.profileID != previousProfile { try await Self.requireExisting(profile: ca.profileID, key: nil, on: db) }
            try await db.raw(
                """
                UPDATE cas SET metadata = \(dialect.jsonBind(DomainJSON.text(ca.metadata))), profile_id = \(bind: ca.profileID)
                WHERE id = \(bind: id)
                """
            ).run()
            try await Outbox.insert(events, on: db, dialect: dialect)
            return ca
        }
    }

    public func replaceCACertificate(
        id: String, with certificate: CertificateRecord, requireActiveParent: String?, events: [DomainEvent]
    ) async throws {
        let dialect = self.dialect
        try await database.write { db in
            guard let current = try await db.raw("SELECT serial_number FROM cas WHERE id = \(bind: id)").first() else {
                throw SheduError.notFound("CA '\(id)' not found")
            }
            let previousSerial = try current.decode(column: "serial_number", as: String.self)
            // A subordinate that would outlive the new certificate keeps issuing past its parent's end.
            if let outliving = try await db.raw(
                """
                SELECT c.id, t.valid_to FROM cas c JOIN certificates t ON t.serial_number = c.serial_number
                WHERE c.parent_id = \(bind: id)
                    AND (t.status IN ('ACTIVE', 'INACTIVE') OR (t.status = 'REVOKED' AND t.revocation_reason = 'CertificateHold'))
                    AND t.valid_to > \(bind: certificate.info.notAfter.epochMilliseconds)
                ORDER BY t.valid_to DESC LIMIT 1
                """
            ).first() {
                let child = try outliving.decode(column: "id", as: String.self)
                let childEnd = try outliving.decode(column: "valid_to", as: Int64.self)
                throw SheduError.badRequest(
                    "the new certificate would end at \(RFC3339.format(certificate.info.notAfter)), before CA '\(child)' below it (valid until \(RFC3339.format(epochMilliseconds: childEnd))); a subordinate may not outlive its parent")
            }
            try await insertCertificateRow(certificate, requireActiveCA: requireActiveParent, on: db)
            try await db.raw("UPDATE cas SET serial_number = \(bind: certificate.serialNumber) WHERE id = \(bind: id)").run()
            // The replaced certificate says what replaced it, as Lamassu marks it.
            let metadataRow = try await db.raw(
                "SELECT \(unsafeRaw: dialect.jsonText("metadata")) AS metadata FROM certificates WHERE serial_number = \(bind: previousSerial)"
            ).first()
            var metadata = try metadataRow.map {
                try DomainJSON.object(from: $0.decode(column: "metadata", as: String.self))
            } ?? [:]
            metadata["lamassu.io/ca/reissued-as"] = .string(certificate.serialNumber)
            metadata["lamassu.io/ca/reissued-at"] = .string(RFC3339.format(certificate.creationDate))
            try await db.raw(
                """
                UPDATE certificates SET metadata = \(dialect.jsonBind(DomainJSON.text(metadata)))
                WHERE serial_number = \(bind: previousSerial)
                """
            ).run()
            try await Outbox.insert(events, on: db, dialect: dialect)
        }
        statusChanges.publish(.authorities)
    }

    /// Checks, in the writing transaction, that the profile and key a CA names still exist: a
    /// concurrent DELETE checked that no CA used them before this CA was written.
    private static func requireExisting(profile: String?, key: String?, on db: any SQLDatabase) async throws {
        if let profile, !profile.isEmpty,
            try await db.raw("SELECT 1 AS found FROM issuance_profiles WHERE id = \(bind: profile)").first() == nil
        {
            throw SheduError.notFound("issuance profile '\(profile)' not found")
        }
        if let key, try await db.raw("SELECT 1 AS found FROM kms_keys WHERE id = \(bind: key)").first() == nil {
            throw SheduError.notFound("key '\(key)' not found")
        }
    }

    /// Makes a stored certificate with the same DER, which no CA holds (one signed with
    /// sign_as_ca, imported as a certificate, or a deleted CA's), the certificate of the CA being
    /// imported. Its status and history stay. False when there is none.
    private static func takeOver(_ certificate: CertificateRecord, on db: any SQLDatabase) async throws -> Bool {
        try await !db.raw(
            """
            UPDATE certificates SET type = \(bind: certificate.type.rawValue), engine_id = \(bind: certificate.engineID),
                key_id = \(bind: certificate.keyID), ca_id = \(bind: certificate.caID), issuer_ca_id = \(bind: certificate.issuer.id),
                issuer_serial = \(bind: certificate.issuer.serialNumber), issuer_level = \(bind: certificate.issuer.level)
            WHERE serial_number = \(bind: certificate.serialNumber) AND der = \(bind: Data(certificate.der))
                AND NOT EXISTS (SELECT 1 FROM cas WHERE cas.serial_number = certificates.serial_number)
            RETURNING serial_number
            """
        ).all().isEmpty
    }

    /// The CA, every CA below it, as a recursive query's name `tree`.
    private static func tree(_ id: String) -> RenderedSQL {
        """
        WITH RECURSIVE tree(id) AS (
            SELECT id FROM cas WHERE id = \(bind: id)
            UNION ALL SELECT c.id FROM cas c JOIN tree ON c.parent_id = tree.id)
        """
    }

    /// Certificates below a CA: issued by it or a CA below it, and the certificates of those CAs
    /// (current or replaced), except the CA's own current certificate.
    private static func below(ownSerial: String) -> RenderedSQL {
        """
        serial_number <> \(bind: ownSerial)
        AND ((issuer_ca_id IN (SELECT id FROM tree) AND NOT self_signed) OR ca_id IN (SELECT id FROM tree))
        """
    }

    /// Certificates below a CA that revoking it revokes: the live ones and the held ones.
    private static func revocableBelow(ownSerial serial: String) -> SQLQueryString {
        """
        (status IN ('ACTIVE', 'INACTIVE') OR (status = 'REVOKED' AND revocation_reason = 'CertificateHold'))
        AND \(Self.below(ownSerial: serial))
        """
    }

    /// Changes the certificates below CA `id` that match `condition`, with an event for each:
    /// to `status` (or, when it is empty, back to ACTIVE or EXPIRED by their validity).
    private static func applyBelow(
        _ id: String, condition: SQLQueryString, status: String, reason: String, heldBy: String?, at now: Int64,
        on db: any SQLDatabase, dialect: SQLDialectKind
    ) async throws {
        let released = status.isEmpty
        let newStatus: RenderedSQL =
            released ? "CASE WHEN valid_to <= \(bind: now) THEN 'EXPIRED' ELSE 'ACTIVE' END" : "\(bind: status)"
        let data = dialect.jsonObject([
            ("serial_number", "serial_number"),
            ("previous", dialect.jsonObject([("status", "status"), ("revocation_reason", "revocation_reason")])),
            ("updated", dialect.jsonObject([("status", newStatus), ("revocation_reason", "\(bind: reason)")])),
            ("cause", "\(bind: "ca/\(id)")"),
        ])
        try await db.raw(
            """
            \(Self.tree(id))
            INSERT INTO events (id, type, source, subject, time, data)
            SELECT \(dialect.randomID), 'certificate.status.update', 'shedu://service/ca', 'certificate/' || serial_number,
                \(bind: now), \(data)
            FROM certificates WHERE \(condition)
            """
        ).run()
        try await db.raw(
            """
            \(Self.tree(id))
            UPDATE certificates SET status = \(newStatus), revocation_reason = \(bind: reason),
                revocation_timestamp = \(released ? "NULL" : "\(bind: now)" as SQLQueryString), held_by_ca = \(bind: heldBy)
            WHERE \(condition)
            """
        ).run()
    }

    /// Devices bound to a certificate at or below the CA follow it.
    private static func syncDevices(below id: String, ownSerial serial: String, at time: Date, on db: any SQLDatabase, dialect: SQLDialectKind)
        async throws
    {
        try await DeviceStatusSync.sync(
            prefix: Self.tree(id),
            where: """
                devices.active_serial IN (SELECT serial_number FROM certificates
                    WHERE serial_number = \(bind: serial) OR (\(Self.below(ownSerial: serial))))
                """,
            now: time, followCertificate: true, on: db, dialect: dialect)
    }

    /// The first CA from `caID` up its chain (itself included) that is revoked or on hold: its id,
    /// its reason, and the CA whose hold holds it.
    private static func firstRevokedCA(from caID: String, on db: any SQLDatabase) async throws
        -> (id: String, reason: String, heldBy: String?)?
    {
        try await db.raw(
            """
            WITH RECURSIVE chain(id, depth) AS (
                SELECT id, 0 FROM cas WHERE id = \(bind: caID)
                UNION ALL SELECT c.parent_id, chain.depth + 1 FROM cas c JOIN chain ON c.id = chain.id
                WHERE c.parent_id IS NOT NULL AND chain.depth < 32)
            SELECT chain.id, t.revocation_reason, t.held_by_ca FROM chain
            JOIN cas c ON c.id = chain.id JOIN certificates t ON t.serial_number = c.serial_number
            WHERE t.status = 'REVOKED' ORDER BY chain.depth LIMIT 1
            """
        ).first().map {
            (try $0.decode(column: "id", as: String.self), try $0.decode(column: "revocation_reason", as: String.self),
             try $0.decode(column: "held_by_ca", as: String?.self))
        }
    }

    /// Refuses to make `subject` ACTIVE under an issuing CA that is revoked or on hold, or below
    /// one (through an INACTIVE CA the hold left as it was), checked in the caller's transaction
    /// so a hold placed meanwhile is seen.
    private static func requireIssuerNotRevoked(_ issuerID: String, of subject: String, on db: any SQLDatabase) async throws {
        guard let revoked = try await firstRevokedCA(from: issuerID, on: db) else { return }
        let place = revoked.id == issuerID ? "its issuing CA '\(issuerID)'" : "CA '\(revoked.id)' above its issuing CA '\(issuerID)'"
        throw SheduError.conflict("\(subject) cannot be made ACTIVE while \(place) is REVOKED (\(revoked.reason)); release that CA first")
    }

    /// A live certificate coming in below a revoked CA takes the status the cascade would have
    /// given it (held, and released with the CA that holds; or CessationOfOperation), decided in
    /// the writing transaction so a revocation landing meanwhile is seen.
    private static func inheritRevocation(
        _ record: inout CertificateRecord, under issuerID: String, at now: Date, on db: any SQLDatabase
    ) async throws {
        guard record.status == .active || record.status == .inactive,
            let revoked = try await firstRevokedCA(from: issuerID, on: db)
        else { return }
        let held = revoked.reason == RevocationReason.certificateHold.rawValue
        record.status = .revoked
        record.revocationReason = held ? .certificateHold : .cessationOfOperation
        record.revocationTimestamp = now
        record.heldByCA = held ? revoked.heldBy ?? revoked.id : nil
    }

    public func importCertificate(
        _ certificate: CertificateRecord, at now: Date, events: @escaping @Sendable (CertificateRecord) throws -> [DomainEvent]
    ) async throws -> CertificateRecord {
        let dialect = self.dialect
        return try await database.write { db in
            var record = certificate
            if record.issuer.id != CertificateRecord.IssuerMetadata.unknown.id {
                try await Self.inheritRevocation(&record, under: record.issuer.id, at: now, on: db)
            }
            try await insertCertificateRow(record, requireActiveCA: nil, on: db)
            try await Outbox.insert(try events(record), on: db, dialect: dialect)
            return record
        }
    }

    public func changeCAStatus(id: String, transition: StatusChange.Transition, at time: Date, events: [DomainEvent]) async throws {
        let dialect = self.dialect
        let now = time.epochMilliseconds
        try await database.write { db in
            guard let row = try await db.raw(
                """
                SELECT c.serial_number, c.parent_id, t.valid_to FROM cas c JOIN certificates t ON t.serial_number = c.serial_number
                WHERE c.id = \(bind: id)
                """
            ).first() else { throw SheduError.notFound("CA '\(id)' not found") }
            let serial = try row.decode(column: "serial_number", as: String.self)
            let validTo = try row.decode(column: "valid_to", as: Int64.self)
            switch (transition, try row.decode(column: "parent_id", as: String?.self)) {
            case (.release, let parent?), (.setStatus(.active), let parent?):
                try await Self.requireIssuerNotRevoked(parent, of: "CA '\(id)'", on: db)
            default: break
            }

            // What happens below the CA, as (condition on the rows, new status, new reason, held by).
            let cascade: (condition: SQLQueryString, status: String, reason: String, heldBy: String?)?
            switch transition {
            case .none:
                cascade = nil
            case .setStatus(let status):
                try await db.raw("UPDATE certificates SET status = \(bind: status.rawValue) WHERE serial_number = \(bind: serial)").run()
                cascade = nil
            case .revoke(let reason):
                try await db.raw(
                    """
                    UPDATE certificates SET status = 'REVOKED', revocation_reason = \(bind: reason.rawValue),
                        revocation_timestamp = \(bind: now), held_by_ca = NULL
                    WHERE serial_number = \(bind: serial)
                    """
                ).run()
                if reason == .certificateHold {
                    // INACTIVE ones are left as they are: the release, which sets ACTIVE, would
                    // turn on what was switched off.
                    cascade = ("status = 'ACTIVE' AND \(Self.below(ownSerial: serial))", "REVOKED", "CertificateHold", id)
                } else {
                    cascade = (Self.revocableBelow(ownSerial: serial), "REVOKED", "CessationOfOperation", nil)
                }
            case .release:
                let status = validTo <= now ? "EXPIRED" : "ACTIVE"
                try await db.raw(
                    """
                    UPDATE certificates SET status = \(bind: status), revocation_reason = 'Unspecified',
                        revocation_timestamp = NULL, held_by_ca = NULL
                    WHERE serial_number = \(bind: serial)
                    """
                ).run()
                cascade = ("held_by_ca = \(bind: id) AND status = 'REVOKED'", "", "Unspecified", nil)
            }
            if let cascade {
                try await Self.applyBelow(
                    id, condition: cascade.condition, status: cascade.status, reason: cascade.reason, heldBy: cascade.heldBy,
                    at: now, on: db, dialect: dialect)
            }
            try await Outbox.insert(events, on: db, dialect: dialect)
            try await Self.syncDevices(below: id, ownSerial: serial, at: time, on: db, dialect: dialect)
        }
        statusChanges.publish(.authorities)
    }

    public func deleteCA(id: String, deleteKey: Bool, at time: Date, events: [DomainEvent]) async throws {
        let dialect = self.dialect
        try await database.write { db in
            guard let row = try await db.raw(
                """
                SELECT c.key_id, c.serial_number, t.status, t.type FROM cas c JOIN certificates t ON t.serial_number = c.serial_number
                WHERE c.id = \(bind: id)
                """
            ).first() else { throw SheduError.notFound("CA '\(id)' not found") }
            let status = try row.decode(column: "status", as: String.self)
            let type = try row.decode(column: "type", as: String.self)
            guard status == "REVOKED" || status == "EXPIRED" || type == "IMPORTED_WITHOUT_KEY" else {
                throw SheduError.conflict("CA '\(id)' is \(status); revoke it before deleting it")
            }
            // In the same transaction, as for profiles: a DMS that names the CA would answer EST
            // with 404 and fail to authenticate its devices.
            if let (dmsID, field) = try await SQLDMSStore.firstReference(toCA: id, on: db, dialect: dialect) {
                throw SheduError.conflict(
                    "CA '\(id)' is named by DMS '\(dmsID)' in settings.\(field); change or delete that DMS first")
            }
            // What the CA certified does not outlive it, as in Lamassu: CAs and certificates
            // below it that are still live (or held) are revoked CessationOfOperation.
            let serial = try row.decode(column: "serial_number", as: String.self)
            try await Self.applyBelow(
                id, condition: Self.revocableBelow(ownSerial: serial), status: "REVOKED", reason: "CessationOfOperation",
                heldBy: nil, at: time.epochMilliseconds, on: db, dialect: dialect)
            try await Self.syncDevices(below: id, ownSerial: serial, at: time, on: db, dialect: dialect)
            try await db.raw("DELETE FROM cas WHERE id = \(bind: id)").run()
            if deleteKey, let keyID = try row.decode(column: "key_id", as: String?.self) {
                try await db.raw(
                    "DELETE FROM kms_keys WHERE id = \(bind: keyID) AND NOT EXISTS (SELECT 1 FROM cas WHERE key_id = \(bind: keyID))"
                ).run()
            }
            try await Outbox.insert(events, on: db, dialect: dialect)
        }
        statusChanges.publish(.authorities)
    }

    // MARK: Certificates

    public func insertCertificate(
        _ certificate: CertificateRecord, newKey: StoredKey?, requireActiveCA: String?, events: [DomainEvent]
    ) async throws {
        guard newKey != nil || certificate.keyID != nil else {
            // The issuance path: concurrent certificates are written together.
            try await issuance.submit(
                PendingCertificate(certificate, requireActiveCA: requireActiveCA, events: events, dialect: dialect))
            return
        }
        let dialect = self.dialect
        try await database.write { db in
            if let newKey {
                try await SQLKMSStore.insertKey(newKey, on: db, dialect: dialect)
            } else if let keyID = certificate.keyID, let holder = try await Self.caID(usingKey: keyID, on: db) {
                // A CA made with this key since the service's check: its key certifies it only.
                throw CAService.keyOfCA(keyID, holder: holder)
            }
            try await insertCertificateRow(certificate, requireActiveCA: requireActiveCA, on: db)
            try await Outbox.insert(events, on: db, dialect: dialect)
        }
    }

    /// A certificate waiting for its batch, its row and events rendered.
    struct PendingCertificate: Sendable {
        var serialNumber: String
        var requireActiveCA: String?
        var row: RenderedSQL
        var eventRows: [RenderedSQL]

        init(_ record: CertificateRecord, requireActiveCA: String?, events: [DomainEvent], dialect: SQLDialectKind) {
            serialNumber = record.serialNumber
            self.requireActiveCA = requireActiveCA
            row = .row(SQLCAStore.values(record, dialect: dialect), dialect: dialect)
            eventRows = events.map { Outbox.row($0, dialect: dialect) }
        }
    }

    /// Writes a batch of certificates with multi-row statements: the CAs they need are checked
    /// once, then all rows and events go in together. Any other failure fails the batch's job,
    /// which the writer undoes without touching the other jobs of its transaction.
    static func insertBatch(_ batch: [PendingCertificate], on db: any SQLDatabase, dialect: SQLDialectKind) async throws
        -> [Result<Void, any Error>]
    {
        let required = Set(batch.compactMap(\.requireActiveCA))
        var active = Set<String>()
        if !required.isEmpty {
            for row in try await db.raw(
                """
                SELECT c.id FROM cas c JOIN certificates t ON t.serial_number = c.serial_number
                WHERE c.id IN (\(binds: Array(required))) AND t.status = 'ACTIVE'
                """
            ).all() {
                active.insert(try row.decode(column: "id", as: String.self))
            }
        }
        var outcomes: [Result<Void, any Error>] = batch.map { pending in
            if let caID = pending.requireActiveCA, !active.contains(caID) {
                return .failure(SheduError.conflict("CA '\(caID)' is no longer ACTIVE"))
            }
            return .success(())
        }
        // A serial already taken (one in 2^127), in the table or earlier in this batch, is not
        // inserted: that certificate is signed again with a fresh serial.
        var serials = Set<String>()
        let accepted = batch.indices.filter { index in
            guard case .success = outcomes[index] else { return false }
            guard serials.insert(batch[index].serialNumber).inserted else {
                outcomes[index] = .failure(SerialNumberTaken(serialNumber: batch[index].serialNumber))
                return false
            }
            return true
        }
        guard !accepted.isEmpty else { return outcomes }
        var inserted = Set<String>()
        for range in ChunkSizes.ranges(count: accepted.count, limit: 128) {
            let statement = RenderedSQL.joined(
                accepted[range].map { batch[$0].row }, separator: ", ",
                prefix: "INSERT INTO certificates (\(insertColumns)) VALUES ",
                suffix: " ON CONFLICT (serial_number) DO NOTHING RETURNING serial_number")
            for row in try await statement.all(on: db) {
                inserted.insert(try row.decode(column: "serial_number", as: String.self))
            }
        }
        var eventRows: [RenderedSQL] = []
        for index in accepted {
            if inserted.contains(batch[index].serialNumber) {
                eventRows += batch[index].eventRows
            } else {
                outcomes[index] = .failure(SerialNumberTaken(serialNumber: batch[index].serialNumber))
            }
        }
        for statement in Outbox.statements(rows: eventRows) {
            try await statement.run(on: db)
        }
        return outcomes
    }

    public func certificate(serialNumber: String) async throws -> CertificateRecord? {
        let select = certificateSelect
        return try await database.read { db in
            try await db.raw("SELECT \(select) FROM certificates t WHERE t.serial_number = \(bind: serialNumber)")
                .first().map(Self.decodeCertificate)
        }
    }

    public func knownCertificate(serialNumber: String) async throws -> KnownCertificate? {
        try await database.read { db in
            guard let row = try await db.raw(
                "SELECT der, status, revocation_reason, subject_cn FROM certificates WHERE serial_number = \(bind: serialNumber)"
            ).first() else { return nil }
            return KnownCertificate(
                der: Array(try row.decode(column: "der", as: Data.self)),
                status: CertificateStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .active,
                revocationReason: RevocationReason(rawValue: try row.decode(column: "revocation_reason", as: String.self)) ?? .unspecified,
                commonName: try row.decode(column: "subject_cn", as: String.self))
        }
    }

    public func listCertificates(_ query: ListQuery, scope: CertificateScope) async throws -> Page<CertificateRecord> {
        let select = certificateSelect
        let condition: SQLQueryString?
        switch scope {
        case .all:
            condition = nil
        case .issuedBy(let caID):
            condition = "t.issuer_ca_id = \(bind: caID) AND NOT t.self_signed"
        case .expiring:
            condition = "t.status IN ('ACTIVE', 'INACTIVE')"
        }
        return try await database.read { db in
            try await certificates.page(query, on: db, columns: select, scope: condition, decode: Self.decodeCertificate)
        }
    }

    public func updateCertificate(
        serialNumber: String, now: Date, _ change: @escaping @Sendable (inout CertificateRecord) throws -> [DomainEvent]
    ) async throws -> CertificateRecord? {
        let update = try await database.write { db in
            try await updateCertificate(serialNumber: serialNumber, now: now, change, on: db)
        }
        if let update, update.revocationChanged { statusChanges.publish(.certificates([ChangedCertificate(update.record)])) }
        return update?.record
    }

    /// ``updateCertificate(serialNumber:now:_:)`` inside the caller's transaction: a device bound
    /// to the certificate follows its new status in the same transaction. The caller publishes a
    /// status change once its transaction committed.
    func updateCertificate(
        serialNumber: String, now: Date, _ change: @Sendable (inout CertificateRecord) throws -> [DomainEvent],
        on db: any SQLDatabase
    ) async throws -> (record: CertificateRecord, revocationChanged: Bool)? {
        let select = certificateSelect
        let dialect = self.dialect
        guard let row = try await db.raw("SELECT \(select) FROM certificates t WHERE t.serial_number = \(bind: serialNumber)").first()
        else { return nil }
        var record = try Self.decodeCertificate(row)
        let previous = record
        let previousStatus = record.status
        let events = try change(&record)
        guard !events.isEmpty else { return (record, false) }
        if record.status == .active, previousStatus != .active {
            try await Self.requireIssuerNotRevoked(record.issuer.id, of: "certificate \(serialNumber)", on: db)
        }
        try await db.raw(
            """
            UPDATE certificates SET status = \(bind: record.status.rawValue),
                revocation_timestamp = \(bind: record.revocationTimestamp?.epochMilliseconds),
                revocation_reason = \(bind: record.revocationReason.rawValue), held_by_ca = \(bind: record.heldByCA),
                metadata = \(dialect.jsonBind(DomainJSON.text(record.metadata)))
            WHERE serial_number = \(bind: serialNumber)
            """
        ).run()
        try await Outbox.insert(events, on: db, dialect: dialect)
        if record.status != previousStatus {
            try await DeviceStatusSync.sync(
                where: "devices.active_serial = \(bind: serialNumber)", now: now, followCertificate: true, on: db,
                dialect: dialect)
        }
        // A hold made a final revocation keeps the status and changes the reason and time, which
        // OCSP and the CRL say as well.
        return (
            record,
            record.status != previousStatus || record.revocationReason != previous.revocationReason
                || record.revocationTimestamp != previous.revocationTimestamp
        )
    }

    public func deleteCertificate(serialNumber: String, events: [DomainEvent]) async throws -> Bool {
        let dialect = self.dialect
        return try await database.write { db in
            guard let row = try await db.raw(
                """
                SELECT t.issuer_ca_id, (SELECT id FROM cas WHERE serial_number = t.serial_number) AS own_ca,
                    (SELECT id FROM cas WHERE id = t.issuer_ca_id) AS issuing_ca
                FROM certificates t WHERE t.serial_number = \(bind: serialNumber)
                """
            ).first() else { return false }
            if let ownCA = try row.decode(column: "own_ca", as: String?.self) {
                throw SheduError.conflict("certificate \(serialNumber) is the certificate of CA '\(ownCA)'; delete the CA first")
            }
            if let issuingCA = try row.decode(column: "issuing_ca", as: String?.self) {
                throw SheduError.conflict("cannot delete certificate \(serialNumber): its issuing CA '\(issuingCA)' still exists")
            }
            try await db.raw("DELETE FROM certificates WHERE serial_number = \(bind: serialNumber)").run()
            try await Outbox.insert(events, on: db, dialect: dialect)
            return true
        }
    }

    // MARK: Statistics and expiry

    public func stats(caFilters: [Filter], certificateFilters: [Filter]) async throws -> CAStats {
        let caCondition = try authorities.filterCondition(caFilters)
        let certificateCondition = try certificates.filterCondition(certificateFilters)
        let dialect = self.dialect
        return try await database.read { db in
            var stats = CAStats(caCount: 0, caEngines: [:], caStatuses: [:], certificateCount: 0, certificateStatuses: [:])
            for status in CertificateStatus.allCases {
                stats.caStatuses[status] = 0
                stats.certificateStatuses[status] = 0
            }
            var byEngine: SQLQueryString = "SELECT t.status, t.engine_id, COUNT(*) AS n FROM cas c JOIN certificates t ON t.serial_number = c.serial_number"
            if let caCondition { byEngine += " WHERE \(caCondition)" }
            byEngine += " GROUP BY t.status, t.engine_id"
            for row in try await db.raw(byEngine).all() {
                let count = try row.decode(column: "n", as: Int.self)
                stats.caCount += count
                let engine = try row.decode(column: "engine_id", as: String.self)
                stats.caEngines[engine.isEmpty ? "none" : engine, default: 0] += count
                if let status = CertificateStatus(rawValue: try row.decode(column: "status", as: String.self)) {
                    stats.caStatuses[status, default: 0] += count
                }
            }
            let byStatus: SQLQueryString =
                switch (dialect, certificateCondition) {
                case (.sqlite, nil): "SELECT status, SUM(n) AS n FROM certificate_status_counts GROUP BY status"
                case (_, let condition?): "SELECT t.status AS status, COUNT(*) AS n FROM certificates t WHERE \(condition) GROUP BY t.status"
                case (_, nil): "SELECT status, COUNT(*) AS n FROM certificates GROUP BY status"
                }
            for row in try await db.raw(byStatus).all() {
                let count = try row.decode(column: "n", as: Int.self)
                stats.certificateCount += count
                if let status = CertificateStatus(rawValue: try row.decode(column: "status", as: String.self)) {
                    stats.certificateStatuses[status, default: 0] += count
                }
            }
            return stats
        }
    }

    public func certificateStatuses(issuedBy caID: String, filters: [Filter]) async throws -> StatusCounts {
        let condition = try certificates.filterCondition(filters)
        let dialect = self.dialect
        return try await database.read { db in
            var counts: StatusCounts = [:]
            for status in CertificateStatus.allCases { counts[status] = 0 }
            let issued: SQLQueryString =
                switch (dialect, condition) {
                case (.sqlite, nil):
                    "SELECT status, n FROM certificate_status_counts WHERE issuer_ca_id = \(bind: caID) AND NOT self_signed"
                case (_, let condition?):
                    """
                    SELECT t.status AS status, COUNT(*) AS n FROM certificates t
                    WHERE t.issuer_ca_id = \(bind: caID) AND NOT t.self_signed AND (\(condition)) GROUP BY t.status
                    """
                case (_, nil):
                    "SELECT status, COUNT(*) AS n FROM certificates WHERE issuer_ca_id = \(bind: caID) AND NOT self_signed GROUP BY status"
                }
            for row in try await db.raw(issued).all() {
                if let status = CertificateStatus(rawValue: try row.decode(column: "status", as: String.self)) {
                    counts[status] = try row.decode(column: "n", as: Int.self)
                }
            }
            return counts
        }
    }

    public func expireCertificates(before now: Date, limit: Int) async throws -> Int {
        let dialect = self.dialect
        let instant = now.epochMilliseconds
        let changed = try await database.write { db in
            // One indexed range of live certificates past their validity, in a fixed order.
            let batch: SQLQueryString = """
                SELECT serial_number FROM certificates
                WHERE status IN ('ACTIVE', 'INACTIVE') AND valid_to <= \(bind: instant)
                ORDER BY valid_to, serial_number LIMIT \(literal: limit)
                """
            let data = dialect.jsonObject([
                ("serial_number", "serial_number"),
                ("previous", dialect.jsonObject([("status", "status")])),
                ("updated", dialect.jsonObject([("status", "'EXPIRED'")])),
            ])
            try await db.raw(
                """
                INSERT INTO events (id, type, source, subject, time, data)
                SELECT \(dialect.randomID),
                    CASE WHEN ca_id IS NOT NULL AND EXISTS (SELECT 1 FROM cas WHERE cas.serial_number = certificates.serial_number)
                        THEN 'ca.status.update' ELSE 'certificate.status.update' END,
                    'shedu://service/ca',
                    CASE WHEN ca_id IS NOT NULL AND EXISTS (SELECT 1 FROM cas WHERE cas.serial_number = certificates.serial_number)
                        THEN 'ca/' || ca_id ELSE 'certificate/' || serial_number END,
                    \(bind: instant), \(data)
                FROM certificates WHERE serial_number IN (\(batch))
                """
            ).run()
            let changed = try await db.raw(
                "UPDATE certificates SET status = 'EXPIRED' WHERE serial_number IN (\(batch)) RETURNING serial_number, issuer_ca_id"
            ).all().map {
                ChangedCertificate(
                    serialNumber: try $0.decode(column: "serial_number", as: String.self),
                    issuerCAID: try $0.decode(column: "issuer_ca_id", as: String.self))
            }
            if !changed.isEmpty {
                try await DeviceStatusSync.sync(
                    where: "devices.active_serial IN (\(binds: changed.map(\.serialNumber)))", now: now, followCertificate: true,
                    on: db, dialect: dialect)
            }
            return changed
        }
        statusChanges.publish(.certificates(changed))
        return changed.count
    }
}
