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
                    "identity_slot": .init("t.identity", .json, nullable: true),
                ],
                drivingTables: [
                    .init(
                        field: "tags", from: "device_tags g JOIN devices t ON t.id = g.device_id", valueColumn: "g.tag",
                        primaryKey: "g.device_id", sortColumns: ["creation_timestamp": "g.created_at"])
                ]))
    }

    private var dialect: SQLDialectKind { database.dialect }

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

    private func insertRow(_ device: Device, on db: any SQLDatabase) async throws {
        let dialect = self.dialect
        do {
            try await db.raw(
                """
                INSERT INTO devices (id, dms_owner, status, tags, metadata, icon, icon_color, created_at, identity, events,
                    active_serial, preventive_at, critical_at, expires_at, next_window_at)
                VALUES (\(bind: device.id), \(bind: device.dmsOwner), \(bind: device.status.rawValue),
                    \(dialect.jsonBind(try DomainJSON.text(device.tags))), \(dialect.jsonBind(try DomainJSON.text(device.metadata))),
                    \(bind: device.icon), \(bind: device.iconColor), \(bind: device.creationDate.epochMilliseconds),
                    \(try identityValue(device)), \(dialect.jsonBind(try DomainJSON.text(device.events))),
                    \(bind: device.activeSerialNumber), \(bind: device.windows?.preventiveAt.epochMilliseconds),
                    \(bind: device.windows?.criticalAt.epochMilliseconds), \(bind: device.windows?.expiresAt.epochMilliseconds),
                    NULL)
                """
            ).run()
        } catch where SheduDatabase.isUniqueViolation(error) {
            throw SheduError.conflict("device '\(device.id)' already exists")
        }
        try await insertTags(device, on: db)
    }

    private func identityValue(_ device: Device) throws -> SQLQueryString {
        guard let identity = device.identity else { return "NULL" }
        return dialect.jsonBind(try DomainJSON.text(identity))
    }

    private func insertTags(_ device: Device, on db: any SQLDatabase) async throws {
        guard !device.tags.isEmpty else { return }
        let created = device.creationDate.epochMilliseconds
        let rows: [SQLQueryString] = device.tags.map { "(\(bind: $0), \(bind: created), \(bind: device.id))" }
        try await db.raw("INSERT INTO device_tags (tag, created_at, device_id) VALUES \(rows.joined(separator: ", "))").run()
    }

    private func writeRow(_ device: Device, previousTags: [String], on db: any SQLDatabase) async throws {
        let dialect = self.dialect
        try await db.raw(
            """
            UPDATE devices SET status = \(bind: device.status.rawValue), tags = \(dialect.jsonBind(try DomainJSON.text(device.tags))),
                metadata = \(dialect.jsonBind(try DomainJSON.text(device.metadata))), icon = \(bind: device.icon),
                icon_color = \(bind: device.iconColor), identity = \(try identityValue(device)),
                events = \(dialect.jsonBind(try DomainJSON.text(device.events))), active_serial = \(bind: device.activeSerialNumber),
                preventive_at = \(bind: device.windows?.preventiveAt.epochMilliseconds),
                critical_at = \(bind: device.windows?.criticalAt.epochMilliseconds),
                expires_at = \(bind: device.windows?.expiresAt.epochMilliseconds),
                next_window_at = CASE WHEN \(bind: device.status.rawValue) = 'DECOMMISSIONED' THEN NULL ELSE next_window_at END
            WHERE id = \(bind: device.id)
            """
        ).run()
        if device.tags != previousTags {
            try await db.raw("DELETE FROM device_tags WHERE device_id = \(bind: device.id)").run()
            try await insertTags(device, on: db)
        }
    }

    private func readRow(id: String, on db: any SQLDatabase) async throws -> Device? {
        try await db.raw("SELECT \(columns) FROM devices t WHERE t.id = \(bind: id)").first().map(Self.decode)
    }

    // MARK: DeviceStore

    public func insert(_ device: Device, events: [DomainEvent]) async throws {
        let dialect = self.dialect
        try await database.write { db in
            try await insertRow(device, on: db)
            try await Outbox.insert(events, on: db, dialect: dialect)
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
        let counts = try await database.read { db in
            try await compiler.counts(filters: filters, on: db, groupBy: "t.status")
        }
        var result: [DeviceStatus: Int] = [:]
        for (name, count) in counts {
            if let status = DeviceStatus(rawValue: name) { result[status, default: 0] += count }
        }
        return result
    }

    public func update(
        id: String, now: Date, newCertificate: NewCertificate?, createIfMissing: (device: Device, events: [DomainEvent])?,
        _ change: @escaping @Sendable (inout Device) throws -> DeviceChange
    ) async throws -> Device? {
        let dialect = self.dialect
        let (device, changed) = try await database.write { db -> (Device?, [ChangedCertificate]) in
            var device = try await readRow(id: id, on: db)
            if device == nil, let createIfMissing {
                try await insertRow(createIfMissing.device, on: db)
                try await Outbox.insert(createIfMissing.events, on: db, dialect: dialect)
                device = createIfMissing.device
            }
            guard var device else {
                // Nothing to bind a new certificate to: it must not stay behind.
                if newCertificate != nil { throw SheduError.notFound("device '\(id)' not found") }
                return (nil, [])
            }
            let previousTags = device.tags
            let result = try change(&device)
            var laterChanges = result.certificateChanges
            if var newCertificate {
                // Changes to the certificate being issued (the binding's metadata) are made before its
                // row is written, rather than by reading the row back and writing it again.
                let serial = newCertificate.record.serialNumber
                laterChanges.removeAll { $0.serialNumber == serial }
                for certificateChange in result.certificateChanges where certificateChange.serialNumber == serial {
                    newCertificate.events += try certificateChange.change(&newCertificate.record)
                }
                try await certificates.insertCertificateRow(
                    newCertificate.record, requireActiveCA: newCertificate.requireActiveCA, on: db)
                try await Outbox.insert(newCertificate.events, on: db, dialect: dialect)
            }
            try await writeRow(device, previousTags: previousTags, on: db)
            var changed: [ChangedCertificate] = []
            for certificateChange in laterChanges {
                guard
                    let update = try await certificates.updateCertificate(
                        serialNumber: certificateChange.serialNumber, now: now, certificateChange.change, on: db)
                else {
                    throw SheduError.notFound("certificate '\(certificateChange.serialNumber)' not found")
                }
                if update.statusChanged { changed.append(ChangedCertificate(update.record)) }
            }
            try await Outbox.insert(result.events, on: db, dialect: dialect)
            try await DeviceStatusSync.sync(
                where: "devices.id = \(bind: id)", now: now, followCertificate: true, on: db, dialect: dialect)
            return (try await readRow(id: id, on: db), changed)
        }
        // Revoked identities (superseded, decommissioned) reach the VA once committed.
        certificates.statusChanges.publish(.certificates(changed))
        return device
    }

    public func delete(id: String, events: [DomainEvent]) async throws -> Bool {
        let dialect = self.dialect
        return try await database.write { db in
            let deleted = try await db.raw("DELETE FROM devices WHERE id = \(bind: id) RETURNING id").all()
            guard !deleted.isEmpty else { return false }
            try await Outbox.insert(events, on: db, dialect: dialect)
            return true
        }
    }

    public func advanceWindows(now: Date, limit: Int) async throws -> Int {
        let dialect = self.dialect
        let instant = now.epochMilliseconds
        return try await database.write { db in
            try await DeviceStatusSync.sync(
                where: """
                    devices.id IN (SELECT id FROM devices WHERE next_window_at <= \(bind: instant)
                        ORDER BY next_window_at LIMIT \(literal: limit))
                    """,
                now: now, followCertificate: false, on: db, dialect: dialect)
        }
    }
}
