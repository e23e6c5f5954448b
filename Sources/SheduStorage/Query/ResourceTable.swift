import SQLKit
import SheduCore

/// How a resource's API fields map to SQL, so one compiler serves every list endpoint.
struct ResourceTable: Sendable {
    enum ColumnKind: Sendable {
        /// Text, stored as is.
        case text
        /// Instants, stored as BIGINT milliseconds since 1970.
        case epochMilliseconds
        /// Numbers.
        case number
        /// Booleans, exposed to filters as the enum values `true`/`false`.
        case boolean
        /// A JSON array of strings (TEXT on SQLite, JSONB on PostgreSQL).
        case jsonStringArray
        /// A JSON document (TEXT on SQLite, JSONB on PostgreSQL).
        case json
        /// A set of strings kept one per row in a side table (`table`: `owner` = the resource's
        /// primary key, `value` = one string), so that `contains` is an index lookup.
        case sideTable(table: String, owner: String, value: String)
    }

    struct Column: Sendable {
        var expression: String
        var kind: ColumnKind
        /// Nullable columns get an explicit NULLS FIRST/LAST; others keep index-friendly ORDER BY.
        var nullable: Bool
        /// When its index holds only `substr(expression, 1, n)` (a long random key): equality and
        /// `in` filters test that prefix too, so that they look it up.
        var indexedPrefix: Int?

        init(_ expression: String, _ kind: ColumnKind, nullable: Bool = false, indexedPrefix: Int? = nil) {
            self.expression = expression
            self.kind = kind
            self.nullable = nullable
            self.indexedPrefix = indexedPrefix
        }

        /// For a column with an ``indexedPrefix``: the condition that its prefix is one of
        /// `values`' prefixes, written as its index is (`substr(expression, 1, n)`); nil otherwise.
        func prefixLookup(_ values: [String]) -> SQLQueryString? {
            guard let length = indexedPrefix, !values.isEmpty else { return nil }
            // As `substr` counts: code points.
            let prefixes = Set(values.map { String(String.UnicodeScalarView($0.unicodeScalars.prefix(length))) }).sorted()
            let prefix: SQLQueryString = "substr(\(unsafeRaw: expression), 1, \(unsafeRaw: String(length)))"
            guard prefixes.count > 1 else { return "\(prefix) = \(bind: prefixes[0])" }
            return "\(prefix) IN (\(binds: prefixes))"
        }
    }

    /// The FROM clause: a table, or a join.
    var from: String
    /// The unique key that breaks ties in every order, and ends every keyset.
    var primaryKey: String
    /// API field name → column.
    var columns: [String: Column]

    /// Another way into the rows for lists filtered by one value of a side-table field: the side
    /// table's own index, ordered as the list is, drives the page (a rare tag is then as fast as
    /// a common one, at any depth).
    struct DrivingTable: Sendable {
        /// The API field whose `contains` filter selects this plan.
        var field: String
        /// The FROM clause, joining the side table (alias in `valueColumn`) to the resource.
        var from: String
        /// The side table's value column, compared with the filter's value.
        var valueColumn: String
        /// The primary key as the side table holds it.
        var primaryKey: String
        /// Sort fields the side table's index holds, with their columns there.
        var sortColumns: [String: String]
    }

    var drivingTables: [DrivingTable]

    init(from: String, primaryKey: String, columns: [String: Column], drivingTables: [DrivingTable] = []) {
        self.from = from
        self.primaryKey = primaryKey
        self.columns = columns
        self.drivingTables = drivingTables
    }
}
