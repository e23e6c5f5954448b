import SQLKit
import SheduCore

/// Writes domain events into the outbox table, inside the caller's transaction.
enum Outbox {
    static func insert(_ events: [DomainEvent], on db: any SQLDatabase, dialect: SQLDialectKind) async throws {
        guard !events.isEmpty else { return }
        // Multi-row VALUES in chunks, to stay below bind-parameter limits.
        for chunk in stride(from: 0, to: events.count, by: 100).map({ events[$0..<min($0 + 100, events.count)] }) {
            let rows: [SQLQueryString] = chunk.map { event in
                """
                (\(bind: event.id), \(bind: event.type), \(bind: event.source), \(bind: event.subject), \
                \(bind: event.time.epochMilliseconds), \(dialect.jsonBind(event.data.jsonText())))
                """
            }
            try await db.raw(
                "INSERT INTO events (id, type, source, subject, time, data) VALUES \(rows.joined(separator: ", "))"
            ).run()
        }
    }
}
