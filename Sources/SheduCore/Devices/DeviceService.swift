import Foundation

/// The device inventory (API.md §4): registration, identity binding, decommissioning, and the
/// status that follows each device's certificate.
public struct DeviceService: Sendable {
    let store: any DeviceStore
    let dmsStore: any DMSStore
    let ca: CAService
    let clock: any WallClock

    public init(store: any DeviceStore, dmsStore: any DMSStore, ca: CAService, clock: any WallClock) {
        self.store = store
        self.dmsStore = dmsStore
        self.ca = ca
        self.clock = clock
    }

    static func notFound(_ id: String) -> SheduError { .notFound("device '\(id)' not found") }

    public func register(_ request: RegisterDeviceRequest) async throws -> Device {
        guard let id = request.id, !id.isEmpty else {
            throw SheduError.badRequest("id is required")
        }
        try ResourceID.check(id, maximumLength: Device.maximumIDLength, spaces: .inside, routeSegments: Device.routeSegments)
        guard let dmsID = request.dmsID, !dmsID.isEmpty else { throw SheduError.badRequest("dms_id is required") }
        try Device.checkTags(request.tags ?? [], field: "tags")
        // The store refuses a DMS that does not exist, inside the write: no read before it, and no
        // window for the DMS to be deleted in between.
        let device = newDevice(
            id: id, dmsID: dmsID, tags: request.tags ?? [], metadata: request.metadata ?? [:], icon: request.icon ?? "",
            iconColor: request.iconColor ?? "")
        try await store.insert(device, events: [try event("device.create", device)])
        return device
    }

    /// A device as registration makes it: NO_IDENTITY, with its CREATED event.
    func newDevice(id: String, dmsID: String, tags: [String], metadata: [String: JSONValue], icon: String, iconColor: String)
        -> Device
    {
        let now = clock.now()
        var device = Device(
            id: id, dmsOwner: dmsID, tags: Self.distinct(tags), metadata: metadata, icon: icon, iconColor: iconColor,
            creationDate: now)
        device.events.append(DeviceEvent(.created), at: now)
        return device
    }

    public func device(id: String) async throws -> Device {
        guard let device = try await store.device(id: id) else { throw Self.notFound(id) }
        return device
    }

    public func list(_ query: ListQuery, scope: DeviceScope = .all) async throws -> Page<Device> {
        if case .dms(let dmsID) = scope, try await dmsStore.dms(id: dmsID) == nil { throw DMSService.notFound(dmsID) }
        return try await store.list(query, scope: scope)
    }

    /// Counts of every status (zeros included) of the devices matching `filters`.
    public func statusCounts(filters: [Filter]) async throws -> [DeviceStatus: Int] {
        var counts = try await store.statusCounts(filters: filters)
        for status in DeviceStatus.allCases where counts[status] == nil { counts[status] = 0 }
        return counts
    }

    public func updateMetadata(id: String, _ update: MetadataUpdate) async throws -> Device {
        let now = clock.now()
        let updated = try await store.update(id: id, now: now) { device in
            let previous = device
            device.metadata = try update.apply(to: device.metadata)
            return DeviceChange(events: [try updateEvent("device.metadata.update", previous, device, at: now)])
        }
        guard let updated else { throw Self.notFound(id) }
        return updated
    }

    /// How a binding records itself in the device's history.
    public enum BindingKind: Sendable {
        /// A first or replacement identity (`PROVISIONED`, then `RE-PROVISIONED`).
        case provisioning
        /// A renewal through re-enrollment (`RENEWED`).
        case renewal
    }

    /// Makes `serialNumber` the active identity of the device: `PUT /devices/{id}/idslot`
    /// (the previous certificate is revoked `Superseded`) and `POST /dms/bind-identity` (it is not).
    public func bindIdentity(deviceID: String, serialNumber: String, revokePrevious: Bool) async throws
        -> (device: Device, certificate: CertificateRecord, dms: DMS)
    {
        let current = try await device(id: deviceID)
        let certificate: CertificateRecord
        do {
            certificate = try await ca.certificate(serialNumber: serialNumber)
        } catch let error as SheduError where error.kind == .notFound {
            // The device exists; the body names what does not (API.md §4: 400).
            throw SheduError.badRequest(error.message)
        }
        guard let dms = try await dmsStore.dms(id: current.dmsOwner) else { throw DMSService.notFound(current.dmsOwner) }
        let plan = try binding(
            deviceID: deviceID, certificate: certificate, dms: dms, kind: .provisioning,
            supersede: revokePrevious ? .superseded : nil)
        guard let device = try await store.update(id: deviceID, now: plan.now, plan.change) else { throw Self.notFound(deviceID) }
        return (device, try await ca.certificate(serialNumber: certificate.serialNumber), dms)
    }

    /// The change that binds `certificate` to a device of `dms`, for ``DeviceStore/update``: the
    /// new slot version and windows, the certificate's attachment metadata, and the previous
    /// identity revoked with `supersede` when given. With `refusingHeldIdentity` (an enrollment),
    /// a previous identity on hold refuses the binding (403).
    public func binding(
        deviceID: String, certificate: CertificateRecord, dms: DMS, kind: BindingKind, supersede: RevocationReason?,
        refusingHeldIdentity: Bool = false
    ) throws -> (now: Date, change: @Sendable (inout Device) throws -> DeviceChange) {
        let commonName = certificate.info.subject.commonName
        guard commonName == deviceID else {
            throw SheduError.badRequest(
                "certificate \(certificate.serialNumber) is for '\(commonName)' (its subject CN), not for device '\(deviceID)'")
        }
        // Retiring it later (a new identity, a decommission) would revoke a CA without its cascade.
        guard !certificate.info.isCA, certificate.caID == nil else {
            let name = certificate.caID.map { "the certificate of CA '\($0)'" } ?? "a CA certificate"
            throw SheduError.badRequest(
                "certificate \(certificate.serialNumber) is \(name); a device identity is an end-entity certificate")
        }
        @Sendable func refuseUnlessActive(_ record: CertificateRecord) throws {
            guard record.status == .active else {
                throw SheduError.conflict("certificate \(record.serialNumber) is \(record.status.rawValue) and cannot become an identity")
            }
        }
        try refuseUnlessActive(certificate)
        let now = clock.now()
        let serial = certificate.serialNumber
        let windows = StatusWindows(
            expiresAt: certificate.info.notAfter, preventiveDelta: dms.settings.reenrollment.preventiveDelta,
            criticalDelta: dms.settings.reenrollment.criticalDelta)
        let attachMetadata = ca.metadataChange(at: now) { metadata in
            metadata[MetadataKeys.attachedTo] = ["authorized_by": ["ra_id": .string(dms.id)], "device_id": .string(deviceID)]
            metadata[MetadataKeys.expirationDeltas] = [
                ["delta": .string(dms.settings.reenrollment.preventiveDelta.description), "name": "Preventive", "triggered": false],
                ["delta": .string(dms.settings.reenrollment.criticalDelta.description), "name": "Critical", "triggered": false],
            ]
        }
        // Checked again on the record as the binding's transaction reads it: a revocation
        // committed since the read above is not bound over.
        let attach: @Sendable (inout CertificateRecord) throws -> [DomainEvent] = { record in
            try refuseUnlessActive(record)
            return try attachMetadata(&record)
        }
        // The identity it replaces no longer names the device (Lamassu's step 7 of a re-enrollment),
        // and is revoked when `supersede` says so.
        let detach = ca.metadataChange(at: now) { metadata in
            metadata[MetadataKeys.attachedTo] = nil
            metadata[MetadataKeys.expirationDeltas] = nil
        }
        let revoke = supersede.map { ca.statusChange(.init(status: .revoked, revocationReason: $0), at: now, onlyIfRevocable: true) }
        let retire: @Sendable (inout CertificateRecord) throws -> [DomainEvent] = { record in
            // A hold is the operator's suspension: a device enrolling again would step round it,
            // and end it for good. Checked on the record as the binding's transaction reads it.
            if refusingHeldIdentity, record.status == .revoked, record.revocationReason == .certificateHold {
                throw SheduError.forbidden(
                    "device '\(deviceID)' has its identity on hold (certificate \(record.serialNumber)); release or revoke that certificate before the device enrolls again")
            }
            return try detach(&record) + (revoke.map { try $0(&record) } ?? [])
        }
        let change: @Sendable (inout Device) throws -> DeviceChange = { device in
            guard device.status != .decommissioned else {
                throw SheduError.conflict("device '\(device.id)' is DECOMMISSIONED, which is final")
            }
            guard device.dmsOwner == dms.id else {
                throw SheduError.forbidden("device '\(device.id)' is registered to DMS '\(device.dmsOwner)', not '\(dms.id)'")
            }
            let previous = device
            let previousSerial = device.activeSerialNumber
            if previousSerial == serial { return DeviceChange() }
            let type: DeviceEventType
            if var slot = device.identity {
                let version = (slot.versions.keys.max() ?? -1) + 1
                slot.versions[version] = serial
                slot.activeVersion = version
                slot.expirationDate = windows.expiresAt
                type = kind == .renewal ? .renewed : .reprovisioned
                slot.events.append(DeviceEvent(type, "New Active Version set to \(version)"), at: now)
                device.identity = slot
            } else {
                type = .provisioned
                var slot = IdentitySlot(activeVersion: 0, versions: [0: serial], expirationDate: windows.expiresAt)
                slot.events.append(DeviceEvent(.provisioned), at: now)
                device.identity = slot
            }
            device.events.append(DeviceEvent(type, "certificate \(serial)"), at: now)
            device.windows = windows
            var certificateChanges = [CertificateChange(serialNumber: serial, change: attach)]
            if let previousSerial {
                // A previous identity deleted since (its CA gone) has nothing left to retire.
                certificateChanges.append(CertificateChange(serialNumber: previousSerial, skipsMissing: true, change: retire))
            }
            return DeviceChange(
                events: [try updateEvent("device.identity.update", previous, device, at: now)],
                certificateChanges: certificateChanges)
        }
        return (now, change)
    }

    /// Takes a device out of service for good; its active certificate is revoked
    /// `CessationOfOperation`.
    public func decommission(id: String) async throws -> Device {
        let now = clock.now()
        let revoke = ca.statusChange(.init(status: .revoked, revocationReason: .cessationOfOperation), at: now, onlyIfRevocable: true)
        let updated = try await store.update(id: id, now: now) { device in
            guard device.status != .decommissioned else {
                throw SheduError.conflict("device '\(device.id)' is already DECOMMISSIONED")
            }
            let previous = device
            device.status = .decommissioned
            device.events.append(DeviceEvent(.decommissioned), at: now)
            device.events.append(
                DeviceEvent(.statusUpdated, "Status updated from '\(previous.status.rawValue)' to 'DECOMMISSIONED'"), at: now)
            // The slot shows REVOKED once the device is decommissioned (``Device``'s JSON), unless
            // its certificate had expired, even if the monitors have not marked it yet: that one
            // is not revoked, and stays EXPIRED.
            let expired = previous.status == .expired || device.identity?.expirationDate.map { $0 <= now } == true
            if var slot = device.identity {
                if expired {
                    slot.statusAtDecommission = .expired
                } else if previous.status != .revoked {
                    slot.events.append(
                        DeviceEvent(.statusUpdated, "Status updated from '\(previous.status.rawValue)' to 'REVOKED'"), at: now)
                }
                device.identity = slot
            }
            // Every identity the device was given, not only the current one: bind-identity leaves
            // the one it replaces live (as Lamassu does), and a retired device holds no valid
            // certificate. Those already revoked, past their end (marked EXPIRED or not) or deleted
            // are left as they are (`onlyIfRevocable`).
            let serials = Set(device.identity?.versions.values.map { $0 } ?? [])
            let changes = serials.sorted().map { CertificateChange(serialNumber: $0, skipsMissing: true, change: revoke) }
            return DeviceChange(
                events: [try updateEvent("device.status.update", previous, device, at: now)], certificateChanges: changes)
        }
        guard let updated else { throw Self.notFound(id) }
        return updated
    }

    /// Deletes a device for good; one with a live identity must be decommissioned first.
    public func delete(id: String) async throws {
        // Decided on the device as the delete finds it: one bound meanwhile is not deleted.
        let deleted = try await store.delete(id: id) { current in
            guard !current.status.hasLiveIdentity else {
                throw SheduError.conflict(
                    "device '\(id)' is \(current.status.rawValue) with a live certificate; decommission it before deleting it")
            }
            // A hold is lifted by a release, which would bring back an identity of no device.
            if current.status == .revoked, let serial = current.identity?.activeSerialNumber,
                let certificate = try await self.ca.knownCertificate(serialNumber: serial), certificate.status == .revoked,
                certificate.revocationReason == .certificateHold
            {
                throw SheduError.conflict(
                    "device '\(id)' has its certificate \(serial) on hold (CertificateHold), which a release lifts; decommission it before deleting it")
            }
            return [try self.event("device.delete", current)]
        }
        guard deleted else { throw Self.notFound(id) }
    }

    /// Runs the window monitor once: every device whose next window began moves into it.
    @discardableResult
    public func advanceWindows(batchSize: Int = 5000) async throws -> Int {
        let now = clock.now()
        var total = 0
        while true {
            let moved = try await store.advanceWindows(now: now, limit: batchSize)
            total += moved
            if moved < batchSize { return total }
        }
    }

    func event(_ type: String, _ device: Device) throws -> DomainEvent {
        try DomainEvent(type: type, service: "devmanager", subject: "device/\(device.id)", time: clock.now(), object: device)
    }

    func updateEvent(_ type: String, _ previous: Device, _ updated: Device, at now: Date) throws -> DomainEvent {
        try DomainEvent(type: type, service: "devmanager", subject: "device/\(updated.id)", time: now, previous: previous, updated: updated)
    }

    static func distinct(_ tags: [String]) -> [String] {
        var seen = Set<String>()
        return tags.filter { seen.insert($0).inserted }
    }
}

/// Metadata keys the platform writes (Lamassu's names).
public enum MetadataKeys {
    public static let attachedTo = "lamassu.io/ra/attached-to"
    public static let expirationDeltas = "lamassu.io/ca/expiration-deltas"
}
