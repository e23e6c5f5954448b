import SQLKit

/// The two SQL dialects the store speaks, and the few places where they differ.
public enum SQLDialectKind: Sendable {
    case sqlite
    case postgres

    /// Column type for JSON documents: TEXT on SQLite, JSONB on PostgreSQL.
    var jsonType: String { self == .sqlite ? "TEXT" : "JSONB" }
    /// Column type for identifiers and other text compared byte-wise on both backends.
    var textType: String { self == .sqlite ? "TEXT" : "TEXT COLLATE \"C\"" }
    var blobType: String { self == .sqlite ? "BLOB" : "BYTEA" }
    var booleanType: String { self == .sqlite ? "INTEGER" : "BOOLEAN" }

    /// A bound JSON text, cast so PostgreSQL stores it as JSONB.
    func jsonBind(_ text: String) -> SQLQueryString {
        self == .sqlite ? "\(bind: text)" : "CAST(\(bind: text) AS JSONB)"
    }

    /// A JSON column read back as text.
    func jsonText(_ column: String) -> String {
        self == .sqlite ? column : "\(column)::text"
    }

    var beginWrite: SQLQueryString { self == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN" }
}
