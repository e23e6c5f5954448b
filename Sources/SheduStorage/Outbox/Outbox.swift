import SQLKit
import SheduCore

/// Writes domain events into the outbox table, inside the caller's transaction.
///
/// The statements can be made before a write job (payloads rendered), so that the single
/// writer only runs them.
enum Outbox {
    static func insert(_ events: [DomainEvent], on db: any SQLDatabase, dialect: SQLDialectKind) async throws {
        for statement in statements(for: events, dialect: dialect) {
            try await statement.run(on: db)
        }
    }

    static func statements(for events: [DomainEvent], dialect: SQLDialectKind) -> [RenderedSQL] {
        statements(rows: events.map { row($0, dialect: dialect) })
    }

    /// One event's row of values, its payload rendered.
    static func row(_ event: DomainEvent, dialect: SQLDialectKind) -> RenderedSQL {
        .row(
            [
                .bind(event.id), .bind(event.type), .bind(event.source), .bind(event.subject),
                .bind(event.time.epochMilliseconds), .json(event.dataText),
            ], dialect: dialect)
    }

    /// Multi-row INSERTs of `rows`, in chunks that stay below bind-parameter limits.
    static func statements(rows: [RenderedSQL]) -> [RenderedSQL] {
        ChunkSizes.ranges(count: rows.count, limit: 64).map { range in
            .joined(rows[range], separator: ", ", prefix: "INSERT INTO events (id, type, source, subject, time, data) VALUES ")
        }
    }
}
