import Foundation
import SQLKit
import SheduCore
import SheduPKI
import X509

/// VA roles and CRLs in SQL, and the certificate statuses the VA reads from `certificates`.
public struct SQLVAStore: VAStore {
    let database: SheduDatabase

    public init(database: SheduDatabase) {
        self.database = database
    }

    public func authorities() async throws -> [VAAuthority] {
        try await database.read { db in
            try await db.raw(
                """
                SELECT c.id, c.key_id, t.der, t.subject_key_id FROM cas c JOIN certificates t ON t.serial_number = c.serial_number
                ORDER BY c.created_at, c.id
                """
            ).all().map { row in
                VAAuthority(
                    id: try row.decode(column: "id", as: String.self),
                    certificateDER: Array(try row.decode(column: "der", as: Data.self)),
                    subjectKeyID: try row.decode(column: "subject_key_id", as: String.self),
                    keyID: try row.decode(column: "key_id", as: String?.self))
            }
        }
    }

    public func certificateStates(serialNumbers: [String]) async throws -> [CertificateState] {
        guard !serialNumbers.isEmpty else { return [] }
        return try await database.read { db in
            try await db.raw(
                """
                SELECT serial_number, issuer_ca_id, status, revocation_timestamp, revocation_reason FROM certificates
                WHERE serial_number IN (\(binds: serialNumbers))
                """
            ).all().map { row in
                CertificateState(
                    serialNumber: try row.decode(column: "serial_number", as: String.self),
                    issuerCAID: try row.decode(column: "issuer_ca_id", as: String.self),
                    status: CertificateStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .inactive,
                    revocationTime: try row.decode(column: "revocation_timestamp", as: Int64?.self).map(Date.init(epochMilliseconds:)),
                    revocationReason: RevocationReason(rawValue: try row.decode(column: "revocation_reason", as: String.self))
                        ?? .unspecified)
            }
        }
    }

    public func role(caSKI: String) async throws -> VARole? {
        try await database.read { db in
            guard let row = try await db.raw(
                """
                SELECT r.refresh_interval_ms, r.validity_ms, r.regenerate_on_revoke, l.crl_number, l.this_update, l.next_update
                FROM va_roles r LEFT JOIN va_crls l ON l.ca_ski = r.ca_ski WHERE r.ca_ski = \(bind: caSKI)
                """
            ).first() else { return nil }
            var latest: CRLSummary?
            if let number = try row.decode(column: "crl_number", as: Int64?.self) {
                latest = CRLSummary(
                    number: UInt64(number), thisUpdate: Date(epochMilliseconds: try row.decode(column: "this_update", as: Int64.self)),
                    nextUpdate: Date(epochMilliseconds: try row.decode(column: "next_update", as: Int64.self)))
            }
            return VARole(caSKI: caSKI, options: try Self.options(row), latestCRL: latest)
        }
    }

    public func saveOptions(_ options: CRLOptions, caSKI: String, events: [DomainEvent]) async throws {
        let dialect = database.dialect
        try await database.write { db in
            try await db.raw(
                """
                INSERT INTO va_roles (ca_ski, refresh_interval_ms, validity_ms, regenerate_on_revoke, crl_number)
                VALUES (\(Self.values(options, caSKI: caSKI, crlNumber: 0)))
                ON CONFLICT (ca_ski) DO UPDATE SET refresh_interval_ms = excluded.refresh_interval_ms,
                    validity_ms = excluded.validity_ms, regenerate_on_revoke = excluded.regenerate_on_revoke
                """
            ).run()
            try await Outbox.insert(events, on: db, dialect: dialect)
        }
    }

    public func nextCRL(caSKI: String, issuedBy caID: String, defaults: CRLOptions) async throws -> NextCRL {
        // On PostgreSQL the entries are read in the transaction that takes the number, behind the
        // write lock every server takes: numbers then follow contents across servers. On SQLite
        // one server signs, one CRL of a CA at a time (CRLPublications), so its numbers follow
        // its reads already, and reading outside the single writer keeps it free meanwhile.
        let readInside = database.dialect == .postgres
        let (number, options, revoked) = try await database.write { db in
            // One statement both creates the role and hands out the number, atomically on both backends.
            guard let row = try await db.raw(
                """
                INSERT INTO va_roles (ca_ski, refresh_interval_ms, validity_ms, regenerate_on_revoke, crl_number)
                VALUES (\(Self.values(defaults, caSKI: caSKI, crlNumber: 1)))
                ON CONFLICT (ca_ski) DO UPDATE SET crl_number = va_roles.crl_number + 1
                RETURNING crl_number, refresh_interval_ms, validity_ms, regenerate_on_revoke
                """
            ).first() else { throw SheduError.internal("the CRL number of '\(caSKI)' was not returned") }
            let revoked = readInside ? try await Self.revokedCertificates(issuedBy: caID, on: db) : nil
            return (UInt64(try row.decode(column: "crl_number", as: Int64.self)), try Self.options(row), revoked)
        }
        if let revoked { return NextCRL(number: number, options: options, revoked: revoked) }
        let read = try await database.read { db in try await Self.revokedCertificates(issuedBy: caID, on: db) }
        return NextCRL(number: number, options: options, revoked: read)
    }

    public func saveCRL(_ crl: IssuedCRL, caSKI: String, events: [DomainEvent]) async throws {
        let dialect = database.dialect
        let summary = crl.summary
        try await database.write { db in
            try await db.raw(
                """
                INSERT INTO va_crls (ca_ski, crl_number, this_update, next_update, der)
                VALUES (\(bind: caSKI), \(bind: Int64(summary.number)), \(bind: summary.thisUpdate.epochMilliseconds),
                    \(bind: summary.nextUpdate.epochMilliseconds), \(bind: Data(crl.der)))
                ON CONFLICT (ca_ski) DO UPDATE SET crl_number = excluded.crl_number, this_update = excluded.this_update,
                    next_update = excluded.next_update, der = excluded.der
                WHERE va_crls.crl_number < excluded.crl_number
                """
            ).run()
            try await Outbox.insert(events, on: db, dialect: dialect)
        }
    }

    public func latestCRLNumbers() async throws -> [String: UInt64] {
        try await database.read { db in
            var numbers: [String: UInt64] = [:]
            for row in try await db.raw("SELECT ca_ski, crl_number FROM va_crls").all() {
                numbers[try row.decode(column: "ca_ski", as: String.self)] = UInt64(try row.decode(column: "crl_number", as: Int64.self))
            }
            return numbers
        }
    }

    public func latestCRL(caSKI: String) async throws -> (crl: IssuedCRL, options: CRLOptions)? {
        try await database.read { db in
            guard let row = try await db.raw(
                """
                SELECT l.crl_number, l.this_update, l.next_update, l.der, r.refresh_interval_ms, r.validity_ms, r.regenerate_on_revoke
                FROM va_crls l JOIN va_roles r ON r.ca_ski = l.ca_ski WHERE l.ca_ski = \(bind: caSKI)
                """
            ).first() else { return nil }
            let summary = CRLSummary(
                number: UInt64(try row.decode(column: "crl_number", as: Int64.self)),
                thisUpdate: Date(epochMilliseconds: try row.decode(column: "this_update", as: Int64.self)),
                nextUpdate: Date(epochMilliseconds: try row.decode(column: "next_update", as: Int64.self)))
            return (IssuedCRL(summary: summary, der: Array(try row.decode(column: "der", as: Data.self))), try Self.options(row))
        }
    }

    /// Every revoked certificate the CA issued: one range of the (issuer_ca_id, status, ...) index.
    private static func revokedCertificates(issuedBy caID: String, on db: any SQLDatabase) async throws -> [RevokedCertificate] {
        try await db.raw(
            """
            SELECT serial_number, COALESCE(revocation_timestamp, created_at) AS revoked_at, revocation_reason
            FROM certificates WHERE issuer_ca_id = \(bind: caID) AND status = 'REVOKED' AND NOT self_signed
            """
        ).all().compactMap { row in
            guard let serial = Certificate.SerialNumber(hexString: try row.decode(column: "serial_number", as: String.self)) else {
                return nil
            }
            return RevokedCertificate(
                serialNumber: serial, revocationDate: Date(epochMilliseconds: try row.decode(column: "revoked_at", as: Int64.self)),
                reason: (RevocationReason(rawValue: try row.decode(column: "revocation_reason", as: String.self)) ?? .unspecified)
                    .crlReason)
        }
    }

    private static func values(_ options: CRLOptions, caSKI: String, crlNumber: Int64) -> SQLQueryString {
        """
        \(bind: caSKI), \(bind: options.refreshInterval.milliseconds), \(bind: options.validity.milliseconds),
        \(bind: options.regenerateOnRevoke), \(bind: crlNumber)
        """
    }

    private static func options(_ row: any SQLRow) throws -> CRLOptions {
        CRLOptions(
            refreshInterval: TimeDuration(milliseconds: try row.decode(column: "refresh_interval_ms", as: Int64.self)),
            validity: TimeDuration(milliseconds: try row.decode(column: "validity_ms", as: Int64.self)),
            regenerateOnRevoke: try row.decode(column: "regenerate_on_revoke", as: Bool.self))
    }
}
