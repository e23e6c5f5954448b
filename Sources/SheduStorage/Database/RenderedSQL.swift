import SQLKit

/// SQL text with its bound values, written directly: for the statements every issuance and
/// enrollment runs (certificate rows, events, devices and their status rule).
///
/// SQLKit's `SQLQueryString` keeps every fragment and bind boxed and walks them again when the
/// statement runs, on the single writer; here the text is one string with `?` for each value,
/// made on the caller's thread, and SQLite runs it as it is (``SQLiteDirectDatabase``), each
/// value converted without a cast. Pieces concatenate and interpolate like `SQLQueryString`
/// (`"... WHERE id = \(bind: id)"`), so rows rendered ahead join into one multi-row statement.
struct RenderedSQL: SQLExpression, Sendable, ExpressibleByStringInterpolation, StringInterpolationProtocol {
    /// The SQL, a `?` standing for each bound value in order.
    private(set) var text: String
    private(set) var binds: [any Bindable]

    /// What can be bound: SQLite's form is read through the value's own type, PostgreSQL's
    /// encoding keeps it (so that a NULL keeps its column's type).
    typealias Bindable = SQLiteBindable & Encodable & Sendable

    init(_ text: String = "") {
        Self.checkLiteral(text)
        self.text = text
        binds = []
    }

    init(stringLiteral value: String) {
        self.init(value)
    }

    init(literalCapacity: Int, interpolationCount: Int) {
        self.init()
        text.reserveCapacity(literalCapacity + interpolationCount)
    }

    init(stringInterpolation: RenderedSQL) {
        self = stringInterpolation
    }

    // MARK: Building

    mutating func appendLiteral(_ literal: String) {
        append(literal)
    }

    mutating func appendInterpolation(bind value: some Bindable) {
        text += "?"
        binds.append(value)
    }

    /// `?, ?, ...`: one placeholder per value.
    mutating func appendInterpolation(binds values: [some Bindable]) {
        for (index, value) in values.enumerated() {
            text += index > 0 ? ", ?" : "?"
            binds.append(value)
        }
    }

    mutating func appendInterpolation(_ other: RenderedSQL) {
        append(other)
    }

    /// SQL text made by the program, never from input.
    mutating func appendInterpolation(unsafeRaw sql: String) {
        append(sql)
    }

    mutating func appendInterpolation(literal integer: Int) {
        text += String(integer)
    }

    mutating func append(_ sql: String) {
        Self.checkLiteral(sql)
        text += sql
    }

    mutating func append(_ other: RenderedSQL) {
        text += other.text
        binds += other.binds
    }

    /// A value of a list or a column.
    enum Value {
        case bind(any Bindable)
        /// A JSON document's text, stored as JSONB on PostgreSQL.
        case json(String)
        /// SQL NULL.
        case null
    }

    mutating func append(_ value: Value, dialect: SQLDialectKind) {
        switch value {
        case .bind(let bound):
            appendInterpolation(bind: bound)
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
        list.appendList(values, dialect: dialect)
        return list
    }

    /// `(v1, v2, ...)`: a row of values.
    static func row(_ values: [Value], dialect: SQLDialectKind) -> RenderedSQL {
        // Written in place: wrapping a rendered list copied its text and every bind again.
        var row = RenderedSQL("(")
        row.appendList(values, dialect: dialect)
        row.text += ")"
        return row
    }

    private mutating func appendList(_ values: [Value], dialect: SQLDialectKind) {
        binds.reserveCapacity(binds.count + values.count)
        for (index, value) in values.enumerated() {
            if index > 0 { text += ", " }
            append(value, dialect: dialect)
        }
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
    static func joined(_ parts: some Collection<RenderedSQL>, separator: String, prefix: String = "", suffix: String = "")
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

    // MARK: Running

    /// The values as SQLite binds them.
    var sqliteBinds: [SQLiteValue] { binds.map(\.sqliteValue) }

    /// For databases other than the direct SQLite one, and inside an `SQLQueryString`: each `?`
    /// becomes the dialect's placeholder.
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

    /// Literals are the program's own text, so the debug builds the tests run catch a stray `?`;
    /// release builds skip the scan of every fragment of every statement.
    private static func checkLiteral(_ sql: String) {
        assert(!sql.utf8.contains(placeholder), "a literal '?' in rendered SQL would shift its binds")
    }
}
