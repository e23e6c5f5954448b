import Foundation

/// One condition of a device group, in the terms of device list filters (`tags contains production`).
public struct GroupCriterion: Sendable, Hashable, Codable {
    public var field: String
    public var operand: String
    public var value: String

    public init(field: String, operand: String, value: String) {
        self.field = field
        self.operand = operand
        self.value = value
    }

    /// The device list filter this criterion is; a 400 naming the criterion when it is not one.
    public func filter() throws -> Filter {
        do {
            return try Filter(parsing: "\(field)[\(operand)]\(value)", fields: Device.fields)
        } catch let error as SheduError {
            throw SheduError.badRequest("criterion \(field) \(operand) '\(value)': \(error.message)")
        }
    }

    /// The criterion with its operand written as Lamassu shows it (short names; `contains` for arrays).
    public func normalized() throws -> GroupCriterion {
        let filter = try filter()
        var name = filter.op.rawValue
        if filter.field.type == .stringArray { name = filter.op == .contains ? "contains" : "contains_ignorecase" }
        return GroupCriterion(field: field, operand: name, value: value)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        field = try container.decode(String.self, forKey: .field)
        operand = try container.decode(String.self, forKey: .operand)
        // Values may be given as JSON numbers or booleans; filters read them as text.
        if let text = try? container.decode(String.self, forKey: .value) {
            value = text
        } else {
            value = try container.decode(JSONValue.self, forKey: .value).jsonText()
        }
    }
}

/// A dynamic group of devices: those matching its criteria and its ancestors' (API.md §4).
public struct DeviceGroup: Sendable, Hashable {
    public var id: String
    public var name: String
    public var description: String
    public var parentID: String?
    public var criteria: [GroupCriterion]
    /// The criteria of every ancestor, nearest first; filled in when read.
    public var inheritedCriteria: [GroupCriterion]
    public var creationDate: Date
    public var updateDate: Date

    public init(
        id: String, name: String, description: String, parentID: String?, criteria: [GroupCriterion],
        inheritedCriteria: [GroupCriterion] = [], creationDate: Date, updateDate: Date
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.parentID = parentID
        self.criteria = criteria
        self.inheritedCriteria = inheritedCriteria
        self.creationDate = creationDate
        self.updateDate = updateDate
    }

    /// Device filters for the members: own criteria and every ancestor's, all AND-ed.
    public func memberFilters() throws -> [Filter] {
        try (criteria + inheritedCriteria).map { try $0.filter() }
    }

    public static let fields = FieldSet(
        [
            FieldDefinition("id", .string), FieldDefinition("name", .string), FieldDefinition("parent_id", .string),
            FieldDefinition("created_at", .date), FieldDefinition("updated_at", .date),
        ], defaultSort: "created_at")
}

extension DeviceGroup: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, name, description, parentID = "parent_id", criteria, inheritedCriteria = "inherited_criteria"
        case creationDate = "created_at", updateDate = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encodeIfPresent(parentID, forKey: .parentID)
        try container.encode(criteria, forKey: .criteria)
        try container.encode(inheritedCriteria, forKey: .inheritedCriteria)
        try container.encode(creationDate, forKey: .creationDate)
        try container.encode(updateDate, forKey: .updateDate)
    }
}

/// The body of `POST /device-groups` and `PUT /device-groups/{id}`.
public struct DeviceGroupRequest: Sendable, Decodable {
    public var id: String?
    public var name: String?
    public var description: String?
    public var parentID: String?
    public var criteria: [GroupCriterion]?

    enum CodingKeys: String, CodingKey { case id, name, description, parentID = "parent_id", criteria }
}

/// A group's place in the hierarchy, without its criteria themselves.
public struct DeviceGroupNode: Sendable {
    public var parentID: String?
    public var criteriaCount: Int

    public init(parentID: String?, criteriaCount: Int) {
        self.parentID = parentID
        self.criteriaCount = criteriaCount
    }

    /// Members are listed with a group's own and inherited criteria in one query: refuses a
    /// hierarchy (`nodes`, as written) in which `id` or a group below it is past what a query
    /// combines. Stores check it in the write's transaction.
    public static func checkCombinedCriteria(of id: String, in nodes: [String: DeviceGroupNode]) throws {
        var children: [String: [String]] = [:]
        for (child, node) in nodes { if let parent = node.parentID { children[parent, default: []].append(child) } }
        var pending = [id]
        var visited: Set<String> = []
        while let next = pending.popLast() {
            guard visited.insert(next).inserted else { continue }
            var combined = 0
            var current: String? = next
            var path: Set<String> = []
            while let groupID = current, path.insert(groupID).inserted, let node = nodes[groupID] {
                combined += node.criteriaCount
                current = node.parentID
            }
            if combined > Filter.maximumCombined {
                let whose = next == id ? "'\(id)'" : "its subgroup '\(next)'"
                throw SheduError.badRequest(
                    "\(combined) criteria for \(whose) with those inherited from parent groups; at most \(Filter.maximumCombined) may be combined")
            }
            pending += children[next] ?? []
        }
    }
}

/// Where device groups are kept.
public protocol DeviceGroupStore: Sendable {
    /// Adds a group; a duplicate id or name is a conflict.
    func insert(_ group: DeviceGroup, events: [DomainEvent]) async throws
    /// A group with its inherited criteria.
    func group(id: String) async throws -> DeviceGroup?
    func list(_ query: ListQuery) async throws -> Page<DeviceGroup>
    /// The ids of a group's ancestors, nearest first.
    func ancestors(of id: String) async throws -> [String]
    /// Writes a group's own fields; false when there is none. A duplicate name is a conflict.
    func update(_ group: DeviceGroup, events: [DomainEvent]) async throws -> Bool
    /// Removes a group and the groups below it; false when there was none.
    func delete(id: String, events: [DomainEvent]) async throws -> Bool
}
