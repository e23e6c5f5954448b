import Foundation

/// A change of a certificate made in the same transaction as a device change (binding metadata,
/// revoking a superseded or decommissioned identity). The closure is the CA's own rule.
public struct CertificateChange: Sendable {
    public var serialNumber: String
    public var change: @Sendable (inout CertificateRecord) throws -> [DomainEvent]
    /// Whether a certificate that is no longer stored (deleted) is passed over instead of failing
    /// the write with a 404.
    public var skipsMissing: Bool

    public init(
        serialNumber: String, skipsMissing: Bool = false, change: @escaping @Sendable (inout CertificateRecord) throws -> [DomainEvent]
    ) {
        self.serialNumber = serialNumber
        self.skipsMissing = skipsMissing
        self.change = change
    }
}

/// What a device change writes besides the device itself.
public struct DeviceChange: Sendable {
    public var events: [DomainEvent]
    public var certificateChanges: [CertificateChange]

    public init(events: [DomainEvent] = [], certificateChanges: [CertificateChange] = []) {
        self.events = events
        self.certificateChanges = certificateChanges
    }
}

/// A certificate to add in the same transaction as a device change (enrollment), only while its
/// CA is ACTIVE.
public struct NewCertificate: Sendable {
    public var record: CertificateRecord
    public var requireActiveCA: String
    public var events: [DomainEvent]

    public init(record: CertificateRecord, requireActiveCA: String, events: [DomainEvent]) {
        self.record = record
        self.requireActiveCA = requireActiveCA
        self.events = events
    }
}

/// Which devices a list covers, beside its filters.
public enum DeviceScope: Sendable, Hashable {
    case all
    case dms(String)
}

/// Where devices are kept.
///
/// The store owns one rule: a device's status follows its bound certificate. After every write
/// of a device, and whenever a bound certificate changes status, the status is derived again
/// from the certificate and the device's ``StatusWindows`` in the same transaction, and each
/// change is recorded in the device's history and the outbox.
public protocol DeviceStore: Sendable {
    /// Adds a device; a duplicate id is a conflict, an unknown DMS not found.
    func insert(_ device: Device, events: [DomainEvent]) async throws
    func device(id: String) async throws -> Device?
    func list(_ query: ListQuery, scope: DeviceScope) async throws -> Page<Device>
    /// Device counts by status of the devices matching `filters` (all of them when empty).
    func statusCounts(filters: [Filter]) async throws -> [DeviceStatus: Int]
    /// Changes a device and writes it with the certificate changes the change asks for, as one
    /// transaction: `change` sees the device as it is when the change is written. With
    /// `createIfMissing`, a missing device is created first (its events included); with
    /// `newCertificate`, that certificate is added with it. Returns false when there is no device.
    func write(
        id: String, now: Date, newCertificate: NewCertificate?, createIfMissing: (device: Device, events: [DomainEvent])?,
        _ change: @escaping @Sendable (inout Device) throws -> DeviceChange
    ) async throws -> Bool
    /// Removes a device and its metadata if `decide`, given the device as the delete finds it,
    /// returns its events rather than throwing; false when there was none.
    func delete(id: String, _ decide: @escaping @Sendable (Device) async throws -> [DomainEvent]) async throws -> Bool
    /// Moves devices whose next window has begun (at most `limit`); returns how many moved.
    func advanceWindows(now: Date, limit: Int) async throws -> Int
}

extension DeviceStore {
    /// ``write(id:now:newCertificate:createIfMissing:_:)``, then the device as it now is; nil
    /// when there is none.
    public func update(
        id: String, now: Date, _ change: @escaping @Sendable (inout Device) throws -> DeviceChange
    ) async throws -> Device? {
        guard try await write(id: id, now: now, newCertificate: nil, createIfMissing: nil, change) else { return nil }
        return try await device(id: id)
    }
}
