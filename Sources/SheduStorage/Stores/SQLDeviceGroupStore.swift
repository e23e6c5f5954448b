import Foundation
import SQLKit
import SheduCore

/// Device groups in SQL: criteria as a JSON document; a child group goes with its parent.
public struct SQLDeviceGroupStore: DeviceGroupStore {
    let database: SheduDatabase
    private let compiler: ListQueryCompiler

    public init(database: SheduDatabase) {
        self.database = database
        compiler = ListQueryCompiler(
            dialect: database.dialect,
            table: ResourceTable(
                from: "device_groups", primaryKey: "id",
                columns: [
                    "id": .init("id", .text), "name": .init("name", .text), "parent_id": .init("parent_id", .text, nullable: true),
                    "created_at": .init("created_at", .epochMilliseconds), "updated_at": .init("updated_at", .epochMilliseconds),
                ]))
    }

    private var dialect: SQLDialectKind { database.dialect }

    private var columns: SQLQueryString {
        "id, name, description, parent_id, created_at, updated_at, \(unsafeRaw: dialect.jsonText("criteria")) AS criteria"
    }

    static func decode(_ row: any SQLRow) throws -> DeviceGroup {
        DeviceGroup(
            id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            parentID: try row.decode(column: "parent_id", as: String?.self),
            criteria: try DomainJSON.decode([GroupCriterion].self, from: row.decode(column: "criteria", as: String.self)),
            creationDate: Date(epochMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updateDate: Date(epochMilliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }

    /// Fills in the criteria of the group's ancestors, nearest first.
    private func withInheritance(_ group: DeviceGroup, on db: any SQLDatabase) async throws -> DeviceGroup {
        var group = group
        var parentID = group.parentID
        var seen: Set<String> = [group.id]
        while let id = parentID, seen.insert(id).inserted,
            let row = try await db.raw("SELECT \(columns) FROM device_groups WHERE id = \(bind: id)").first()
        {
            let parent = try Self.decode(row)
            group.inheritedCriteria += parent.criteria
            parentID = parent.parentID
        }
        return group
    }

    public func insert(_ group: DeviceGroup, events: [DomainEvent]) async throws {
        let dialect = self.dialect
        try await database.write { db in
            do {
                try await db.raw(
                    """
                    INSERT INTO device_groups (id, name, description, parent_id, criteria, created_at, updated_at)
                    VALUES (\(bind: group.id), \(bind: group.name), \(bind: group.description), \(bind: group.parentID),
                        \(dialect.jsonBind(try DomainJSON.text(group.criteria))), \(bind: group.creationDate.epochMilliseconds),
                        \(bind: group.updateDate.epochMilliseconds))
                    """
                ).run()
            } catch where SheduDatabase.isUniqueViolation(error) {
                throw SheduError.conflict("a device group with id '\(group.id)' or name '\(group.name)' already exists")
            }
            // In the transaction: two writes at once cannot each stay under the limit alone.
            try DeviceGroupNode.checkCombinedCriteria(of: group.id, in: try await Self.hierarchy(on: db, dialect: dialect))
            try await Outbox.insert(events, on: db, dialect: dialect)
        }
    }

    public func group(id: String) async throws -> DeviceGroup? {
        let columns = self.columns
        return try await database.read { db in
            guard let row = try await db.raw("SELECT \(columns) FROM device_groups WHERE id = \(bind: id)").first() else {
                return nil
            }
            return try await withInheritance(try Self.decode(row), on: db)
        }
    }

    public func list(_ query: ListQuery) async throws -> Page<DeviceGroup> {
        let columns = self.columns
        return try await database.read { db in
            let page = try await compiler.page(query, on: db, columns: columns, decode: Self.decode)
            var items: [DeviceGroup] = []
            for group in page.items { items.append(try await withInheritance(group, on: db)) }
            return Page(items: items, next: page.next)
        }
    }

    public func ancestors(of id: String) async throws -> [String] {
        try await database.read { db in
            var chain: [String] = []
            var current = id
            while let row = try await db.raw("SELECT parent_id FROM device_groups WHERE id = \(bind: current)").first(),
                let parent = try row.decode(column: "parent_id", as: String?.self), !chain.contains(parent)
            {
                chain.append(parent)
                current = parent
            }
            return chain
        }
    }

    /// Every group's parent and number of own criteria, as this transaction sees them (writes
    /// take turns, on PostgreSQL too: each sees the other's).
    private static func hierarchy(on db: any SQLDatabase, dialect: SQLDialectKind) async throws -> [String: DeviceGroupNode] {
        var nodes: [String: DeviceGroupNode] = [:]
        for row in try await db.raw(
            "SELECT id, parent_id, \(unsafeRaw: dialect.jsonText("criteria")) AS criteria FROM device_groups"
        ).all() {
            let criteria = try DomainJSON.decode([GroupCriterion].self, from: row.decode(column: "criteria", as: String.self))
            nodes[try row.decode(column: "id", as: String.self)] = DeviceGroupNode(
                parentID: try row.decode(column: "parent_id", as: String?.self), criteriaCount: criteria.count)
        }
        return nodes
    }

    public func update(_ group: DeviceGroup, events: [DomainEvent]) async throws -> Bool {
        let dialect = self.dialect
        return try await database.write { db in
            let updated: [any SQLRow]
            do {
                updated = try await db.raw(
                    """
                    UPDATE device_groups SET name = \(bind: group.name), description = \(bind: group.description),
                        parent_id = \(bind: group.parentID), criteria = \(dialect.jsonBind(try DomainJSON.text(group.criteria))),
                        updated_at = \(bind: group.updateDate.epochMilliseconds)
                    WHERE id = \(bind: group.id) RETURNING id
                    """
                ).all()
            } catch where SheduDatabase.isUniqueViolation(error) {
                throw SheduError.conflict("a device group named '\(group.name)' already exists")
            }
            guard !updated.isEmpty else { return false }
            try DeviceGroupNode.checkCombinedCriteria(of: group.id, in: try await Self.hierarchy(on: db, dialect: dialect))
            try await Outbox.insert(events, on: db, dialect: dialect)
            return true
        }
    }

    public func delete(id: String, events: [DomainEvent]) async throws -> Bool {
        let dialect = self.dialect
        return try await database.write { db in
            let deleted = try await db.raw("DELETE FROM device_groups WHERE id = \(bind: id) RETURNING id").all()
            guard !deleted.isEmpty else { return false }
            try await Outbox.insert(events, on: db, dialect: dialect)
            return true
        }
    }
}
