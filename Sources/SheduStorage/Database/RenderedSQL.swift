import SQLKit

/// SQL text with its bound values, written directly: for the statements every issuance and
/// enrollment runs (certificate rows, events, devices).
///
/// SQLKit's `SQLQueryString` keeps every fragment and bind boxed and walks them again when the
/// statement runs, on the single writer; here the text is one string with `?` for each value,
/// made on the caller's thread, and SQLite runs it as it is (``SQLiteDirectDatabase``). Pieces
/// concatenate, so rows rendered ahead join into one multi-row statement.
struct RenderedSQL: SQLExpression, Sendable {
    /// The SQL, a `?` standing for each bound value in order.
    private(set) var text: String
    private(set) var binds: [any Encodable & Sendable]

    init(_ text: String = "") {
        precondition(!text.utf8.contains(Self.placeholder), "a literal '?' in rendered SQL would shift its binds")
        self.text = text
        binds = []
    }

    /// A value of a list or a column.
    enum Value {
        case bind(any Encodable & Sendable)
        /// A JSON document's text, stored as JSONB on PostgreSQL.
        case json(String)
        /// SQL NULL.
        case null
    }

    mutating func append(_ sql: String) {
        precondition(!sql.utf8.contains(Self.placeholder), "a literal '?' in rendered SQL would shift its binds")
        text += sql
    }

    mutating func append(_ other: RenderedSQL) {
        text += other.text
        binds += other.binds
    }

    mutating func append(_ value: Value, dialect: SQLDialectKind) {
        switch value {
        case .bind(let bound):
            text += "?"
            binds.append(bound)
        case .json(let document):
            text += dialect == .sqlite ? "?" : "CAST(? AS JSONB)"
            binds.append(document)
        case .null:
            text += "NULL"
        }
    }

    /// `v1, v2, ...`: values separated by commas.
    static func list(_ values: [Value], dialect: SQLDialectKind) -> RenderedSQL {
        var list = RenderedSQL()
        list.binds.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            if index > 0 { list.text += ", " }
            list.append(value, dialect: dialect)
        }
        return list
    }

    /// `(v1, v2, ...)`: a row of values.
    static func row(_ values: [Value], dialect: SQLDialectKind) -> RenderedSQL {
        var row = RenderedSQL("(")
        row.append(list(values, dialect: dialect))
        row.text += ")"
        return row
    }

    /// `column1 = v1, column2 = v2, ...`: the SET list of an UPDATE.
    static func assignments(_ pairs: [(column: String, value: Value)], dialect: SQLDialectKind) -> RenderedSQL {
        var list = RenderedSQL()
        list.binds.reserveCapacity(pairs.count)
        for (index, pair) in pairs.enumerated() {
            list.append(index > 0 ? ", \(pair.column) = " : "\(pair.column) = ")
            list.append(pair.value, dialect: dialect)
        }
        return list
    }

    /// `prefix` followed by `parts` separated by `separator`, then `suffix`.
    static func joined(_ parts: some Collection<RenderedSQL>, separator: String, prefix: String, suffix: String = "")
        -> RenderedSQL
    {
        var joined = RenderedSQL(prefix)
        joined.binds.reserveCapacity(parts.reduce(0) { $0 + $1.binds.count })
        for (index, part) in parts.enumerated() {
            if index > 0 { joined.append(separator) }
            joined.append(part)
        }
        joined.append(suffix)
        return joined
    }

    /// For databases other than the direct SQLite one: each `?` becomes the dialect's placeholder.
    func serialize(to serializer: inout SQLSerializer) {
        var bindIndex = 0
        var segmentStart = text.utf8.startIndex
        for index in text.utf8.indices where text.utf8[index] == Self.placeholder {
            serializer.write(String(text[segmentStart..<index]))
            serializer.write(bind: binds[bindIndex])
            bindIndex += 1
            segmentStart = text.utf8.index(after: index)
        }
        serializer.write(String(text[segmentStart...]))
    }

    func run(on db: any SQLDatabase) async throws {
        try await db.execute(sql: self) { _ in }
    }

    func all(on db: any SQLDatabase) async throws -> [any SQLRow] {
        // As SQLKit's own `all()`: rows arrive one at a time, before `execute` returns.
        nonisolated(unsafe) var rows: [any SQLRow] = []
        try await db.execute(sql: self) { rows.append($0) }
        return rows
    }

    private static let placeholder = UInt8(ascii: "?")
}
