import Logging
import NIOCore
import SQLKit
import SQLiteKit

/// SQLKit over one ``SQLiteConnectionHandle``: a query runs to its end on the calling thread and
/// its statement stays prepared. The stores' SQL is unchanged; SQLiteKit's dialect writes it.
struct SQLiteDirectDatabase: SQLDatabase {
    let connection: SQLiteConnectionHandle
    let logger: Logger
    /// For SQLKit's future-returning API only; no work is scheduled on it.
    let eventLoop: any EventLoop

    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        if let rendered = query as? RenderedSQL {
            // Its text is SQLite's already, and its values need no cast.
            return try connection.execute(rendered.text, rendered.sqliteBinds) { onRow($0) }
        }
        let (sql, binds) = serialize(query)
        try connection.execute(sql, try binds.map(SQLiteValue.init(binding:))) { onRow($0) }
    }
}
