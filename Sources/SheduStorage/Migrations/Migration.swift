/// One versioned change of the schema. Migrations are applied in order, each once, at start.
///
/// A migration that has landed is never edited: a change of schema is a new migration.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: @Sendable (SQLDialectKind) -> [String]

    public init(version: Int, name: String, statements: @escaping @Sendable (SQLDialectKind) -> [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// Every migration of the schema, in order.
    public static let all: [Migration] = [
        .foundation,
        .certificateAuthorities,
        .devices,
        .va,
        .deviceStatsByDMS,
        .deviceRevisions,
        .liveExpiryOrder,
        .deviceStatusCounts,
        .certificateStatusCounts,
        .subjectKeyIDPrefix,
        .replicaChanges,
        .replicaWriters,
        .jobLeases,
    ]
}
