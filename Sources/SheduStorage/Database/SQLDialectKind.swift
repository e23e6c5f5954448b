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

    /// A top-level text member of a JSON column (`key` is the program's own, never input).
    func jsonMember(_ column: String, _ key: String) -> String {
        self == .sqlite ? "json_extract(\(column), '$.\(key)')" : "(\(column) ->> '\(key)')"
    }

    /// Key of the PostgreSQL lock every write transaction takes first ("SHEDU").
    static let writeLockKey = 0x5348_4544_5500

    /// Opens a write transaction. On PostgreSQL the writes of every replica then take turns, as
    /// SQLite's single writer's do: a rule checked inside a write (a revocation's current status,
    /// a key one CA holds, a device's revision) holds across replicas, and concurrent writes of
    /// one key cannot deadlock. The transaction carries `writer` (`shedu.writer`), which the
    /// change-counting triggers record (``Migration/replicaWriters``).
    func beginWrite(on db: any SQLDatabase, writer: String) async throws {
        guard self == .postgres else { return try await db.raw("BEGIN IMMEDIATE").run() }
        try await db.raw("BEGIN").run()
        do {
            try await db.raw(
                "SELECT pg_advisory_xact_lock(\(literal: Self.writeLockKey)), set_config('shedu.writer', \(bind: writer), true)"
            ).run()
        } catch {
            try? await db.raw("ROLLBACK").run()
            throw error
        }
    }

    /// A JSON object built in SQL from key/value expressions.
    func jsonObject(_ pairs: [(String, RenderedSQL)]) -> RenderedSQL {
        let arguments = pairs.map { "'\(unsafeRaw: $0.0)', \($0.1)" as RenderedSQL }
        return .joined(arguments, separator: ", ", prefix: self == .sqlite ? "json_object(" : "jsonb_build_object(", suffix: ")")
    }

    /// A random event id made in SQL.
    var randomID: RenderedSQL {
        self == .sqlite ? "lower(hex(randomblob(16)))" : "CAST(gen_random_uuid() AS TEXT)"
    }
}
