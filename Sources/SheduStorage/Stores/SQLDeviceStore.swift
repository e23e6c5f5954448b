import Foundation
import SQLKit
import SheduCore

/// Devices in SQL. Tags are kept twice: as a JSON array on the device (what the API shows) and
/// one row each in `device_tags` (what tag filters use); the status follows the bound
/// certificate through ``DeviceStatusSync``.
public struct SQLDeviceStore: DeviceStore {
    let database: SheduDatabase
    let certificates: SQLCAStore
    private let compiler: ListQueryCompiler

    public init(database: SheduDatabase, certificates: SQLCAStore) {
        self.database = database
        self.certificates = certificates
        compiler = ListQueryCompiler(
            dialect: database.dialect,
            table: ResourceTable(
                from: "devices t", primaryKey: "t.id",
                columns: [
                    "id": .init("t.id", .text), "dms_owner": .init("t.dms_owner", .text), "status": .init("t.status", .text),
                    "tags": .init("t.tags", .sideTable(table: "device_tags", owner: "device_id", value: "tag")),
                    "metadata": .init("t.metadata", .json),
                    "creation_timestamp": .init("t.created_at", .epochMilliseconds),
                    "identity_slot": .init(Self.identitySlot(database.dialect), .json, nullable: true),
                ],
                drivingTables: [
                    .init(
                        field: "tags", from: "device_tags g JOIN devices t ON t.id = g.device_id", valueColumn: "g.tag",
                        primaryKey: "g.device_id", sortColumns: ["creation_timestamp": "g.created_at"])
                ]))
    }

    private var dialect: SQLDialectKind { database.dialect }

    /// The identity slot as the API shows it (``Device``'s JSON), for filters: the stored slot
    /// with the identity's status and type, which are not stored with it. NULL without a slot.
    static func identitySlot(_ dialect: SQLDialectKind) -> String {
        let status = "CASE t.status WHEN 'DECOMMISSIONED' THEN 'REVOKED' ELSE t.status END"
        return dialect == .sqlite
            ? "json_set(t.identity, '$.status', \(status), '$.type', 'x509')"
            : "(t.identity || jsonb_build_object('status', \(status), 'type', 'x509'))"
    }

    /// The device was written by someone else between the read and the write of an update.
    private struct DeviceWriteRace: Error {}

    private var columns: SQLQueryString {
        let json = dialect.jsonText
        return """
            t.id, t.dms_owner, t.status, t.icon, t.icon_color, t.created_at, t.preventive_at, t.critical_at, t.expires_at,
            \(unsafeRaw: json("t.tags")) AS tags, \(unsafeRaw: json("t.metadata")) AS metadata,
            \(unsafeRaw: json("t.identity")) AS identity, \(unsafeRaw: json("t.events")) AS events
            """
    }

    static func decode(_ row: any SQLRow) throws -> Device {
        func json<T: Decodable>(_ column: String, as type: T.Type) throws -> T {
            try DomainJSON.decode(type, from: row.decode(column: column, as: String.self))
        }
        var windows: StatusWindows?
        if let preventive = try row.decode(column: "preventive_at", as: Int64?.self),
            let critical = try row.decode(column: "critical_at", as: Int64?.self),
            let expires = try row.decode(column: "expires_at", as: Int64?.self)
        {
            windows = StatusWindows(
                preventiveAt: Date(epochMilliseconds: preventive), criticalAt: Date(epochMilliseconds: critical),
                expiresAt: Date(epochMilliseconds: expires))
        }
        return Device(
            id: try row.decode(column: "id", as: String.self), dmsOwner: try row.decode(column: "dms_owner", as: String.self),
            status: DeviceStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .noIdentity,
            tags: try json("tags", as: [String].self), metadata: try DomainJSON.object(from: row.decode(column: "metadata", as: String.self)),
            icon: try row.decode(column: "icon", as: String.self), iconColor: try row.decode(column: "icon_color", as: String.self),
            creationDate: Date(epochMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            identity: try row.decode(column: "identity", as: String?.self).map { try DomainJSON.decode(IdentitySlot.self, from: $0) },
            events: try json("events", as: DeviceHistory.self), windows: windows)
    }

    // MARK: Rows

    /// The device's INSERT and its tags' rows, documents rendered.
    private func insertStatements(_ device: Device) -> [RenderedSQL] {
        let values = RenderedSQL.row(
            [
                .bind(device.id), .bind(device.dmsOwner), .bind(device.status.rawValue), .json(DomainJSON.text(device.tags)),
                .json(DomainJSON.text(device.metadata)), .bind(device.icon), .bind(device.iconColor),
                .bind(device.creationDate.epochMilliseconds), identityValue(device), .json(DomainJSON.text(device.events)),
                .bind(device.activeSerialNumber), .bind(device.windows?.preventiveAt.epochMilliseconds),
                .bind(device.windows?.criticalAt.epochMilliseconds), .bind(device.windows?.expiresAt.epochMilliseconds),
                .null,
            ], dialect: dialect)
        let insert: RenderedSQL = """
            INSERT INTO devices (id, dms_owner, status, tags, metadata, icon, icon_color, created_at, identity, events,
                active_serial, preventive_at, critical_at, expires_at, next_window_at) VALUES \(values)
            """
        var statements = [insert]
        if let tags = tagRows(device) { statements.append(tags) }
        return statements
    }

    private func identityValue(_ device: Device) -> RenderedSQL.Value {
        device.identity.map { .json(DomainJSON.text($0)) } ?? .null
    }

    private func tagRows(_ device: Device) -> RenderedSQL? {
        guard !device.tags.isEmpty else { return nil }
        let created = device.creationDate.epochMilliseconds
        return .joined(
            device.tags.map { .row([.bind($0), .bind(created), .bind(device.id)], dialect: dialect) }, separator: ", ",
            prefix: "INSERT INTO device_tags (tag, created_at, device_id) VALUES ")
    }

    /// The UPDATE of a device read at `revision`: it returns the id only if no one wrote the
    /// device since, and raises the revision.
    private func updateStatement(_ device: Device, revision: Int64) -> RenderedSQL {
        let assignments = RenderedSQL.assignments(
            [
                ("status", .bind(device.status.rawValue)), ("tags", .json(DomainJSON.text(device.tags))),
                ("metadata", .json(DomainJSON.text(device.metadata))), ("icon", .bind(device.icon)),
                ("icon_color", .bind(device.iconColor)), ("identity", identityValue(device)),
                ("events", .json(DomainJSON.text(device.events))), ("active_serial", .bind(device.activeSerialNumber)),
                ("preventive_at", .bind(device.windows?.preventiveAt.epochMilliseconds)),
                ("critical_at", .bind(device.windows?.criticalAt.epochMilliseconds)),
                ("expires_at", .bind(device.windows?.expiresAt.epochMilliseconds)),
            ], dialect: dialect)
        // A decommissioned device has no more windows to watch.
        let windowsEnd: RenderedSQL = device.status == .decommissioned ? ", next_window_at = NULL" : ""
        return """
            UPDATE devices SET \(assignments)\(windowsEnd), revision = revision + 1
            WHERE id = \(bind: device.id) AND revision = \(bind: revision) RETURNING id
            """
    }

    private func readRow(id: String, on db: any SQLDatabase) async throws -> Device? {
        try await db.raw("SELECT \(columns) FROM devices t WHERE t.id = \(bind: id)").first().map(Self.decode)
    }

    /// The device and the revision it is at.
    private func readRevision(id: String, on db: any SQLDatabase) async throws -> (device: Device, revision: Int64)? {
        guard let row = try await db.raw("SELECT \(columns), t.revision FROM devices t WHERE t.id = \(bind: id)").first() else {
            return nil
        }
        return (try Self.decode(row), try row.decode(column: "revision", as: Int64.self))
    }

    // MARK: DeviceStore

    public func insert(_ device: Device, events: [DomainEvent]) async throws {
        // Rendered on the caller's thread: the single writer only runs SQL.
        let deviceStatements = insertStatements(device)
        let eventStatements = Outbox.statements(for: events, dialect: dialect)
        try await database.write { db in
            do {
                for statement in deviceStatements { try await statement.run(on: db) }
            } catch where SheduDatabase.isUniqueViolation(error) {
                throw SheduError.conflict("device '\(device.id)' already exists")
            } catch where SheduDatabase.isForeignKeyViolation(error) {
                // The only reference a new device's rows can miss is its DMS.
                throw DMSService.notFound(device.dmsOwner)
            }
            for statement in eventStatements { try await statement.run(on: db) }
        }
    }

    public func device(id: String) async throws -> Device? {
        try await database.read { db in try await readRow(id: id, on: db) }
    }

    public func list(_ query: ListQuery, scope: DeviceScope) async throws -> Page<Device> {
        let columns = self.columns
        let condition: SQLQueryString? =
            switch scope {
            case .all: nil
            case .dms(let id): "t.dms_owner = \(bind: id)"
            }
        return try await database.read { db in
            try await compiler.page(query, on: db, columns: columns, scope: condition, decode: Self.decode)
        }
    }

    public func statusCounts(filters: [Filter]) async throws -> [DeviceStatus: Int] {
        let kept = dialect == .sqlite ? Self.keptCountsCondition(filters) : nil
        let counts = try await database.read { db -> [String: Int] in
            guard let kept else { return try await compiler.counts(filters: filters, on: db, groupBy: "t.status") }
            var counts: [String: Int] = [:]
            for row in try await db.raw("SELECT status, SUM(n) AS n FROM device_status_counts\(kept) GROUP BY status").all() {
                counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
            }
            return counts
        }
        var result: [DeviceStatus: Int] = [:]
        for (name, count) in counts {
            if let status = DeviceStatus(rawValue: name) { result[status, default: 0] += count }
        }
        return result
    }

    /// The condition over `device_status_counts` that answers `filters`, when the kept counts
    /// can: no filter (the whole fleet) or the DMS filters of a DMS's stats. Nil for any other.
    static func keptCountsCondition(_ filters: [Filter]) -> SQLQueryString? {
        guard let filter = filters.first else { return "" }
        guard filters.count == 1, filter.field.name == "dms_owner" else { return nil }
        switch (filter.op, filter.value) {
        case (.equal, .string(let owner)): return " WHERE dms_owner = \(bind: owner)"
        case (.in, .strings(let owners)) where !owners.isEmpty: return " WHERE dms_owner IN (\(binds: owners))"
        default: return nil
        }
    }

    /// How often a change is prepared outside the writer before it is made inside it.
    static let optimisticAttempts = 3

    /// Reads the device, applies `change` and renders every document on the caller's thread,
    /// then writes in a short transaction that first checks that the device is still at the
    /// revision it read (optimistic concurrency): the single writer only runs SQL, so the cores
    /// carry concurrent enrollments rather than one thread. A device written in between is read
    /// and changed again; one that keeps changing is changed inside the writer, where nothing
    /// can come in between.
    public func write(
        id: String, now: Date, newCertificate: NewCertificate?, createIfMissing: (device: Device, events: [DomainEvent])?,
        _ change: @escaping @Sendable (inout Device) throws -> DeviceChange
    ) async throws -> Bool {
        var changed: [ChangedCertificate]?
        for _ in 1...Self.optimisticAttempts where changed == nil {
            let current = try await database.read { db in try await readRevision(id: id, on: db) }
            guard let write = try prepareWrite(current, newCertificate: newCertificate, createIfMissing: createIfMissing, change) else {
                return try missing(id, newCertificate: newCertificate)
            }
            do {
                changed = try await database.write { db in try await run(write, id: id, now: now, on: db) }
            } catch is DeviceWriteRace {
                continue
            }
        }
        if changed == nil {
            changed = try await database.write { db -> [ChangedCertificate]? in
                let current = try await readRevision(id: id, on: db)
                guard let write = try prepareWrite(current, newCertificate: newCertificate, createIfMissing: createIfMissing, change)
                else { return nil }
                return try await run(write, id: id, now: now, on: db)
            }
        }
        guard let changed else { return try missing(id, newCertificate: newCertificate) }
        // Revoked identities (superseded, decommissioned) reach the VA once committed.
        certificates.statusChanges.publish(.certificates(changed))
        return true
    }

    /// No device to change: false, or not found when a new certificate was to be bound to it (it
    /// must not stay behind).
    private func missing(_ id: String, newCertificate: NewCertificate?) throws -> Bool {
        if newCertificate != nil { throw SheduError.notFound("device '\(id)' not found") }
        return false
    }

    /// What one device update writes, rendered before its write job.
    private struct PreparedWrite: Sendable {
        /// The device's INSERT (it did not exist) or its UPDATE at the revision read.
        var deviceStatements: [RenderedSQL]
        var isInsert: Bool
        var dmsOwner: String
        var tagStatements: [RenderedSQL]
        var certificate: SQLCAStore.CertificateInsert?
        var eventStatements: [RenderedSQL]
        /// Changes of certificates other than the new one (a superseded identity), read and made
        /// inside the transaction.
        var certificateChanges: [CertificateChange]
    }

    /// The device's events (its creation's, then the change's, the new certificate's first).
    private func prepareWrite(
        _ current: (device: Device, revision: Int64)?, newCertificate: NewCertificate?,
        createIfMissing: (device: Device, events: [DomainEvent])?, _ change: @Sendable (inout Device) throws -> DeviceChange
    ) throws -> PreparedWrite? {
        var device: Device
        var events: [DomainEvent] = []
        if let current {
            device = current.device
        } else if let createIfMissing {
            device = createIfMissing.device
            events += createIfMissing.events
        } else {
            return nil
        }
        let previousTags = device.tags
        let result = try change(&device)
        var certificateChanges = result.certificateChanges
        var certificate: SQLCAStore.CertificateInsert?
        if var newCertificate {
            // Changes to the certificate being issued (the binding's metadata) are made before its
            // row is written, rather than by reading the row back and writing it again.
            let serial = newCertificate.record.serialNumber
            certificateChanges.removeAll { $0.serialNumber == serial }
            for certificateChange in result.certificateChanges where certificateChange.serialNumber == serial {
                newCertificate.events += try certificateChange.change(&newCertificate.record)
            }
            certificate = SQLCAStore.certificateInsert(
                newCertificate.record, requireActiveCA: newCertificate.requireActiveCA, dialect: dialect)
            events += newCertificate.events
        }
        events += result.events
        var tagStatements: [RenderedSQL] = []
        if current != nil, device.tags != previousTags {
            tagStatements.append("DELETE FROM device_tags WHERE device_id = \(bind: device.id)")
            if let rows = tagRows(device) { tagStatements.append(rows) }
        }
        return PreparedWrite(
            deviceStatements: current.map { [updateStatement(device, revision: $0.revision)] } ?? insertStatements(device),
            isInsert: current == nil, dmsOwner: device.dmsOwner, tagStatements: tagStatements, certificate: certificate,
            eventStatements: Outbox.statements(for: events, dialect: dialect), certificateChanges: certificateChanges)
    }

    /// Runs a prepared update inside the writer's transaction.
    private func run(_ write: PreparedWrite, id: String, now: Date, on db: any SQLDatabase) async throws -> [ChangedCertificate] {
        if write.isInsert {
            do {
                for statement in write.deviceStatements { try await statement.run(on: db) }
            } catch where SheduDatabase.isUniqueViolation(error) {
                throw DeviceWriteRace()  // created meanwhile: change it as it now is
            } catch where SheduDatabase.isForeignKeyViolation(error) {
                throw DMSService.notFound(write.dmsOwner)  // deleted since the enrollment read it
            }
        } else {
            for statement in write.deviceStatements where try await statement.all(on: db).isEmpty {
                throw DeviceWriteRace()
            }
        }
        for statement in write.tagStatements { try await statement.run(on: db) }
        try await write.certificate?.run(on: db)
        var changed: [ChangedCertificate] = []
        for certificateChange in write.certificateChanges {
            guard
                let update = try await certificates.updateCertificate(
                    serialNumber: certificateChange.serialNumber, now: now, certificateChange.change, on: db)
            else {
                if certificateChange.skipsMissing { continue }
                throw SheduError.notFound("certificate '\(certificateChange.serialNumber)' not found")
            }
            if update.revocationChanged { changed.append(ChangedCertificate(update.record)) }
        }
        for statement in write.eventStatements { try await statement.run(on: db) }
        try await DeviceStatusSync.sync(
            where: "devices.id = \(bind: id)", now: now, followCertificate: true, on: db, dialect: dialect)
        return changed
    }

    /// Decided on the device as read, then deleted only if it is still at that revision (as
    /// ``write(id:now:newCertificate:createIfMissing:_:)``): a device bound meanwhile is decided
    /// on again. One that keeps changing is decided on inside the writer.
    public func delete(id: String, _ decide: @escaping @Sendable (Device) async throws -> [DomainEvent]) async throws -> Bool {
        let dialect = self.dialect
        for _ in 1...Self.optimisticAttempts {
            guard let current = try await database.read({ db in try await readRevision(id: id, on: db) }) else { return false }
            let events = Outbox.statements(for: try await decide(current.device), dialect: dialect)
            let deleted = try await database.write { db -> Bool in
                let deleted = try await db.raw(
                    "DELETE FROM devices WHERE id = \(bind: id) AND revision = \(bind: current.revision) RETURNING id"
                ).all()
                guard !deleted.isEmpty else { return false }
                for statement in events { try await statement.run(on: db) }
                return true
            }
            if deleted { return true }
        }
        return try await database.write { db in
            guard let current = try await readRevision(id: id, on: db) else { return false }
            let events = try await decide(current.device)
            try await db.raw("DELETE FROM devices WHERE id = \(bind: id)").run()
            try await Outbox.insert(events, on: db, dialect: dialect)
            return true
        }
    }

    public func advanceWindows(now: Date, limit: Int) async throws -> Int {
        let dialect = self.dialect
        let instant = now.epochMilliseconds
        // SQLite finds a due row by its rowid directly, not through the id index first.
        let key = dialect == .sqlite ? "rowid" : "id"
        return try await database.write { db in
            try await DeviceStatusSync.syncCountingChanges(
                where: """
                    devices.\(unsafeRaw: key) IN (SELECT \(unsafeRaw: key) FROM devices WHERE next_window_at <= \(bind: instant)
                        ORDER BY next_window_at LIMIT \(literal: limit))
                    """,
                now: now, followCertificate: false, on: db, dialect: dialect)
        }
    }
}
