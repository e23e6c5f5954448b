import Foundation

/// Device groups (API.md §4): criteria checked as device filters, nesting without cycles,
/// members and statistics computed from the criteria whenever they are asked for.
public struct DeviceGroupService: Sendable {
    let store: any DeviceGroupStore
    let devices: DeviceService
    let clock: any WallClock

    public init(store: any DeviceGroupStore, devices: DeviceService, clock: any WallClock) {
        self.store = store
        self.devices = devices
        self.clock = clock
    }

    static func notFound(_ id: String) -> SheduError { .notFound("device group '\(id)' not found") }

    /// Criteria in Lamassu's form, no more than one query may combine.
    static func checked(_ criteria: [GroupCriterion]) throws -> [GroupCriterion] {
        guard criteria.count <= Filter.maximumCombined else {
            throw SheduError.badRequest("\(criteria.count) criteria; a group may have at most \(Filter.maximumCombined)")
        }
        return try criteria.map { try $0.normalized() }
    }

    public func create(_ request: DeviceGroupRequest) async throws -> DeviceGroup {
        let id = request.id.flatMap { $0.isEmpty ? nil : $0 } ?? RandomUUID.lowercased()
        try ResourceID.check(id, maximumLength: 128, spaces: .inside)
        guard let name = request.name, !name.isEmpty else { throw SheduError.badRequest("name is required") }
        try IndexedText.check(name, field: "name")
        let criteria = try Self.checked(request.criteria ?? [])
        let parentID = request.parentID.flatMap { $0.isEmpty ? nil : $0 }
        if let parentID, try await store.group(id: parentID) == nil {
            throw SheduError.notFound("parent device group '\(parentID)' not found")
        }
        let now = clock.now()
        let group = DeviceGroup(
            id: id, name: name, description: request.description ?? "", parentID: parentID, criteria: criteria,
            creationDate: now, updateDate: now)
        try await store.insert(group, events: [try event("device-group.create", group)])
        return try await self.group(id: id)
    }

    public func group(id: String) async throws -> DeviceGroup {
        guard let group = try await store.group(id: id) else { throw Self.notFound(id) }
        return group
    }

    public func list(_ query: ListQuery) async throws -> Page<DeviceGroup> {
        try await store.list(query)
    }

    /// Changes the fields given; an absent or empty field keeps its value (Lamassu's rule).
    public func update(id: String, _ request: DeviceGroupRequest) async throws -> DeviceGroup {
        var group = try await group(id: id)
        let previous = group
        if let name = request.name, !name.isEmpty {
            try IndexedText.check(name, field: "name")
            group.name = name
        }
        if let description = request.description { group.description = description }
        if let criteria = request.criteria { group.criteria = try Self.checked(criteria) }
        if let parentID = request.parentID {
            if parentID.isEmpty {
                group.parentID = nil
            } else {
                guard try await store.group(id: parentID) != nil else {
                    throw SheduError.notFound("parent device group '\(parentID)' not found")
                }
                let ancestors = try await store.ancestors(of: parentID)
                if parentID == id || ancestors.contains(id) {
                    throw SheduError.badRequest("parent_id '\(parentID)' would make a cycle: it is '\(id)' or one of its subgroups")
                }
                group.parentID = parentID
            }
        }
        group.updateDate = clock.now()
        let event = try DomainEvent(
            type: "device-group.update", service: "devmanager", subject: "device-group/\(id)", time: group.updateDate,
            previous: previous, updated: group)
        guard try await store.update(group, events: [event]) else { throw Self.notFound(id) }
        return try await self.group(id: id)
    }

    public func delete(id: String) async throws {
        let group = try await group(id: id)
        guard try await store.delete(id: id, events: [try event("device-group.delete", group)]) else { throw Self.notFound(id) }
    }

    /// The group's members now, with the request's own filters on top.
    public func members(id: String, _ query: ListQuery) async throws -> Page<Device> {
        var query = query
        if query.cursor == nil { query.filters = try await group(id: id).memberFilters() + query.filters }
        return try await devices.list(query)
    }

    /// The status distribution of the group's members now.
    public func statusCounts(id: String, filters: [Filter] = []) async throws -> [DeviceStatus: Int] {
        try await devices.statusCounts(filters: try await group(id: id).memberFilters() + filters)
    }

    func event(_ type: String, _ group: DeviceGroup) throws -> DomainEvent {
        try DomainEvent(type: type, service: "devmanager", subject: "device-group/\(group.id)", time: clock.now(), object: group)
    }
}
