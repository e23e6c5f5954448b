import Foundation

/// Where DMS records are kept. Changes and their events are written in one transaction.
public protocol DMSStore: Sendable {
    /// Adds a DMS; a duplicate id is a conflict.
    func insert(_ dms: DMS, events: [DomainEvent]) async throws
    func dms(id: String) async throws -> DMS?
    func list(_ query: ListQuery) async throws -> Page<DMS>
    /// Reads, changes and writes a DMS in one transaction; nil when there is none. When the
    /// status windows change, the devices of the DMS are re-evaluated in the same transaction.
    func update(id: String, now: Date, _ change: @escaping @Sendable (inout DMS) throws -> [DomainEvent]) async throws -> DMS?
    /// Removes a DMS; refused while devices belong to it. False when there was none.
    func delete(id: String, events: [DomainEvent]) async throws -> Bool
    func count(filters: [Filter]) async throws -> Int
}
