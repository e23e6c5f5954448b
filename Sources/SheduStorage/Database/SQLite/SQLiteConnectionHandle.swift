import CSheduSQLite
// The SQLite library that sqlite-nio builds: its C module comes with the SQLiteKit dependency.
import VaporCSQLite

/// One SQLite connection, used synchronously by the thread that holds it, with its prepared
/// statements kept for the next execution of the same SQL.
///
/// sqlite-nio prepares every statement anew and runs it on a thread pool, two thread hops and a
/// parse per statement; here a statement costs a lookup, and runs on the caller's thread. The
/// connection is opened without SQLite's own mutex: a pool or the single writer hands it to one
/// thread at a time.
final class SQLiteConnectionHandle: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var statements: [String: CachedStatement] = [:]
    let path: String

    /// Kept statements per connection. Multi-row statements come in a few chunk sizes (see
    /// ``ChunkSizes``), so the texts a server runs are far fewer; past this, all are dropped.
    static let maximumCachedStatements = 512

    /// `batchingWAL`: the connection that writes appends its WAL frames through the batching VFS
    /// (CSheduSQLite.c): one write call per batch of frames instead of two per frame. Only for a
    /// connection that syncs every commit (`synchronous=FULL`), as the writer does.
    init(path: String, batchingWAL: Bool = false) throws {
        self.path = path
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        if batchingWAL {
            let registered = shedu_sqlite_register_batch_vfs()
            guard registered == SQLITE_OK else { throw SQLiteFailure(code: registered, message: "cannot register the WAL-batching VFS") }
        }
        let status = sqlite_nio_sqlite3_open_v2(path, &opened, flags, batchingWAL ? SHEDU_SQLITE_BATCH_VFS : nil)
        guard status == SQLITE_OK, let opened else {
            let message = opened.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "cannot open"
            if let opened { sqlite_nio_sqlite3_close_v2(opened) }
            throw SQLiteFailure(code: status, message: message)
        }
        handle = opened
        // Plans that do not depend on bound values: otherwise a WHERE term with a parameter, checked
        // against a partial index's condition, makes SQLite prepare the statement again at every
        // execution, and a kept statement saves nothing.
        let stability = shedu_sqlite_enable_query_planner_stability(UnsafeMutableRawPointer(opened))
        guard stability == SQLITE_OK else {
            sqlite_nio_sqlite3_close_v2(opened)
            throw SQLiteFailure(code: stability, message: "cannot enable the query planner stability guarantee")
        }
        // Readers never wait for the writer in WAL mode; a checkpoint or a second process may briefly.
        sqlite_nio_sqlite3_busy_timeout(opened, 10_000)
    }

    deinit {
        close()
    }

    var isClosed: Bool { handle == nil }

    func close() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement.pointer) }
        statements = [:]
        if let handle { sqlite_nio_sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Runs one statement with its parameters, handing each result row to `onRow`.
    func execute(_ sql: String, _ binds: [SQLiteValue], onRow: (SQLiteResultRow) -> Void) throws {
        guard let handle else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "the connection is closed") }
        let statement = try prepared(sql, on: handle)
        defer {
            sqlite_nio_sqlite3_reset(statement.pointer)
            sqlite_nio_sqlite3_clear_bindings(statement.pointer)
        }
        for (offset, value) in binds.enumerated() {
            let status = bind(value, at: Int32(offset + 1), to: statement.pointer)
            guard status == SQLITE_OK else { throw failure(status, on: handle) }
        }
        while true {
            let status = sqlite_nio_sqlite3_step(statement.pointer)
            switch status {
            case SQLITE_ROW:
                onRow(SQLiteResultRow(columns: statement.columns, values: row(of: statement)))
            case SQLITE_DONE:
                return
            default:
                throw failure(status, on: handle)
            }
        }
    }

    /// Runs statements that take no parameters and return nothing (pragmas).
    func run(_ sql: String) throws {
        try execute(sql, []) { _ in }
    }

    /// How often SQLite had to prepare a kept statement again (after a schema change, say).
    func repreparations(of sql: String) -> Int? {
        statements[sql].map { Int(sqlite_nio_sqlite3_stmt_status($0.pointer, SQLITE_STMTSTATUS_REPREPARE, 0)) }
    }

    // MARK: Statements

    private struct CachedStatement {
        let pointer: OpaquePointer
        let columns: SQLiteColumns
    }

    private func prepared(_ sql: String, on handle: OpaquePointer) throws -> CachedStatement {
        if let cached = statements[sql] { return cached }
        var pointer: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard status == SQLITE_OK, let pointer else { throw failure(status, on: handle) }
        let count = sqlite_nio_sqlite3_column_count(pointer)
        var names: [String] = []
        names.reserveCapacity(Int(count))
        for index in 0..<count {
            names.append(sqlite_nio_sqlite3_column_name(pointer, index).map { String(cString: $0) } ?? "")
        }
        let statement = CachedStatement(pointer: pointer, columns: SQLiteColumns(names))
        if statements.count >= Self.maximumCachedStatements {
            for old in statements.values { sqlite_nio_sqlite3_finalize(old.pointer) }
            statements.removeAll(keepingCapacity: true)
        }
        statements[sql] = statement
        return statement
    }

    private func bind(_ value: SQLiteValue, at index: Int32, to statement: OpaquePointer) -> Int32 {
        switch value {
        case .null:
            return sqlite_nio_sqlite3_bind_null(statement, index)
        case .integer(let integer):
            return sqlite_nio_sqlite3_bind_int64(statement, index, integer)
        case .real(let real):
            return sqlite_nio_sqlite3_bind_double(statement, index, real)
        case .text(let text):
            var text = text
            return text.withUTF8 { utf8 in
                // An empty string still binds text, not NULL: SQLite needs a pointer for that.
                guard let base = utf8.baseAddress else {
                    return sqlite_nio_sqlite3_bind_text64(statement, index, "", 0, sqliteTransient, UInt8(SQLITE_UTF8))
                }
                return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                    sqlite_nio_sqlite3_bind_text64(statement, index, $0, UInt64(utf8.count), sqliteTransient, UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            guard !bytes.isEmpty else { return sqlite_nio_sqlite3_bind_zeroblob(statement, index, 0) }
            return bytes.withUnsafeBytes { raw in
                sqlite_nio_sqlite3_bind_blob64(statement, index, raw.baseAddress, UInt64(raw.count), sqliteTransient)
            }
        }
    }

    private func row(of statement: CachedStatement) -> [SQLiteValue] {
        let pointer = statement.pointer
        let count = Int32(statement.columns.names.count)
        var values: [SQLiteValue] = []
        values.reserveCapacity(Int(count))
        for index in 0..<count {
            switch sqlite_nio_sqlite3_column_type(pointer, index) {
            case SQLITE_INTEGER:
                values.append(.integer(sqlite_nio_sqlite3_column_int64(pointer, index)))
            case SQLITE_FLOAT:
                values.append(.real(sqlite_nio_sqlite3_column_double(pointer, index)))
            case SQLITE_TEXT:
                let bytes = Int(sqlite_nio_sqlite3_column_bytes(pointer, index))
                let text = sqlite_nio_sqlite3_column_text(pointer, index).map {
                    String(decoding: UnsafeBufferPointer(start: $0, count: bytes), as: UTF8.self)
                }
                values.append(.text(text ?? ""))
            case SQLITE_BLOB:
                let bytes = Int(sqlite_nio_sqlite3_column_bytes(pointer, index))
                let blob = sqlite_nio_sqlite3_column_blob(pointer, index).map {
                    Array(UnsafeRawBufferPointer(start: $0, count: bytes))
                }
                values.append(.blob(blob ?? []))
            default:
                values.append(.null)
            }
        }
        return values
    }

    private func failure(_ status: Int32, on handle: OpaquePointer) -> SQLiteFailure {
        let extended = sqlite_nio_sqlite3_extended_errcode(handle)
        let message = sqlite_nio_sqlite3_errmsg(handle).map { String(cString: $0) } ?? "error \(status)"
        return SQLiteFailure(code: extended != 0 ? extended : status, message: message)
    }
}

/// SQLite copies a bound value before the bind call returns.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A SQLite error, with its extended result code.
public struct SQLiteFailure: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String

    public var description: String { "SQLite error \(code): \(message)" }

    /// SQLITE_CONSTRAINT_UNIQUE or SQLITE_CONSTRAINT_PRIMARYKEY (the macros do not import into Swift).
    var isUniqueViolation: Bool { code == 19 | (8 << 8) || code == 19 | (6 << 8) }

    /// SQLITE_CONSTRAINT_FOREIGNKEY.
    var isForeignKeyViolation: Bool { code == 19 | (3 << 8) }
}
