import SQLKit
import SheduCore

extension ListQueryCompiler {
    /// Runs a list query and returns one page with the bookmark of the next.
    ///
    /// One round trip: it asks for one row more than the page to learn whether there is a next page.
    /// - Parameter scope: a condition of the endpoint itself (not of the client's filters).
    func page<Item: Sendable>(
        _ query: ListQuery, on db: any SQLDatabase, columns: SQLQueryString, scope: SQLQueryString? = nil,
        decode: (any SQLRow) throws -> Item
    ) async throws -> Page<Item> {
        let compiled = try compile(query)
        var sql: SQLQueryString = "SELECT \(columns), \(cursorColumns(compiled)) FROM \(unsafeRaw: compiled.from)"
        let conditions = [scope, compiled.whereClause].compactMap { $0 }
        if !conditions.isEmpty { sql += " WHERE \(conditions.map { "(\($0))" as SQLQueryString }.joined(separator: " AND "))" }
        sql += " ORDER BY \(compiled.orderBy) LIMIT \(literal: query.pageSize + 1)"
        let rows = try await db.raw(sql).all()
        let pageRows = rows.prefix(query.pageSize)
        let items = try pageRows.map(decode)
        var next: String?
        if rows.count > query.pageSize, let last = pageRows.last {
            next = query.bookmark(after: try cursor(from: last, compiled: compiled))
        }
        return Page(items: items, next: next)
    }

    /// Rows matching `filters` (and `scope`) counted by the value of `groupBy`, an expression
    /// over the resource's table (all rows under the key "" without one).
    func counts(
        filters: [Filter], on db: any SQLDatabase, scope: SQLQueryString? = nil, groupBy: String? = nil
    ) async throws -> [String: Int] {
        var sql: SQLQueryString = "SELECT \(unsafeRaw: groupBy ?? "''") AS g, COUNT(*) AS n FROM \(unsafeRaw: table.from)"
        let conditions = [scope, try filterCondition(filters)].compactMap { $0 }
        if !conditions.isEmpty { sql += " WHERE \(conditions.map { "(\($0))" as SQLQueryString }.joined(separator: " AND "))" }
        if let groupBy { sql += " GROUP BY \(unsafeRaw: groupBy)" }
        var counts: [String: Int] = [:]
        for row in try await db.raw(sql).all() {
            counts[try row.decode(column: "g", as: String.self), default: 0] += try row.decode(column: "n", as: Int.self)
        }
        return counts
    }
}
