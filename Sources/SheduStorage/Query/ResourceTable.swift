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
    }

    struct Column: Sendable {
        var expression: String
        var kind: ColumnKind
        /// Nullable columns get an explicit NULLS FIRST/LAST; others keep index-friendly ORDER BY.
        var nullable: Bool

        init(_ expression: String, _ kind: ColumnKind, nullable: Bool = false) {
            self.expression = expression
            self.kind = kind
            self.nullable = nullable
        }
    }

    /// The FROM clause: a table, or a join.
    var from: String
    /// The unique key that breaks ties in every order, and ends every keyset.
    var primaryKey: String
    /// API field name → column.
    var columns: [String: Column]

    init(from: String, primaryKey: String, columns: [String: Column]) {
        self.from = from
        self.primaryKey = primaryKey
        self.columns = columns
    }
}
