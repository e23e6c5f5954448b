import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SheduCore
import Synchronization

/// The store's connection to its database, SQLite or PostgreSQL alike.
///
/// Reads go through a pool of connections; writes go through one ``WriteLane`` that groups
/// concurrent writes into one transaction and answers only after COMMIT. On SQLite a statement
/// runs on the calling thread (the writer's own thread for writes), prepared once per connection.
/// On SQLite the file is in WAL mode with `synchronous=FULL`: a committed write survives a crash
/// of the process and a loss of power.
public final class SheduDatabase: Sendable {
    public let dialect: SQLDialectKind
    public let location: DatabaseLocation
    private let readers: ConnectionPool
    private let writer: WriteLane
    private let writerLoop: MultiThreadedEventLoopGroup
    private let checkpointer: WALCheckpointer?
    private let closing = Mutex<Task<Void, Never>?>(nil)
    /// The lock ``hold(_:)`` was given, released by ``close()``.
    private let serverLock = Mutex<SQLiteServerLock?>(nil)

    private init(
        dialect: SQLDialectKind, location: DatabaseLocation, readers: ConnectionPool, writer: WriteLane,
        writerLoop: MultiThreadedEventLoopGroup, checkpointer: WALCheckpointer?
    ) {
        self.dialect = dialect
        self.location = location
        self.readers = readers
        self.writer = writer
        self.writerLoop = writerLoop
        self.checkpointer = checkpointer
    }

    /// Opens the database and brings its schema up to date.
    /// - Parameter checkpointInterval: how often SQLite's write-ahead log is copied into the
    ///   database file, off the writer's thread.
    /// - Parameter walRestartFrames: the size of the write-ahead log, in frames (16 MB of 1 KB
    ///   pages by default), past which a checkpoint also makes the log start over.
    public static func open(
        _ location: DatabaseLocation, readerCount: Int = 4, logger: Logger, migrations: [Migration] = Migration.all,
        checkpointInterval: Duration = .seconds(1), walRestartFrames: Int = 16_384
    ) async throws -> SheduDatabase {
        let dialect: SQLDialectKind
        // The writer runs on a loop of its own (see EventLoopExecutor); its connection completes there.
        let writerLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let writerEventLoop = writerLoop.next()
        let openReader: @Sendable () async throws -> PooledConnection
        let openWriter: @Sendable () async throws -> PooledConnection
        switch location {
        case .sqlite(let path):
            dialect = .sqlite
            // A read runs on the thread of the task that asks; the writer's statements run on the
            // writer's own thread, so they never queue behind reads.
            openReader = {
                try openSQLite(path: path, on: MultiThreadedEventLoopGroup.singleton.any(), isWriter: false, logger: logger)
            }
            openWriter = { try openSQLite(path: path, on: writerEventLoop, isWriter: true, logger: logger) }
        case .postgres(let url):
            dialect = .postgres
            let configuration: SQLPostgresConfiguration
            do {
                // A port past 65535 would be cut to 16 bits by the connection, reaching another one.
                if let port = URLComponents(string: url)?.port, !(1...65_535).contains(port) { throw SheduError.badRequest("port") }
                configuration = try SQLPostgresConfiguration(url: url)
            } catch {
                throw SheduError.badRequest("database URL '\(location.redactedDescription)' is not a valid PostgreSQL URL")
            }
            openReader = {
                try await openPostgres(configuration, location: location, on: MultiThreadedEventLoopGroup.singleton.any(), logger: logger)
            }
            openWriter = { try await openPostgres(configuration, location: location, on: writerEventLoop, logger: logger) }
        }

        let writerConnection: PooledConnection
        do {
            writerConnection = try await openWriter()
        } catch {
            try? await writerLoop.shutdownGracefully()
            throw error
        }
        do {
            try await Migrator(dialect: dialect, logger: logger).migrate(writerConnection.sql, migrations: migrations)
        } catch {
            await writerConnection.close()
            try? await writerLoop.shutdownGracefully()
            throw error
        }
        var checkpointer: WALCheckpointer?
        if case .sqlite(let path) = location {
            do {
                checkpointer = try WALCheckpointer(
                    path: path, interval: .init(checkpointInterval), restartFrames: walRestartFrames, logger: logger)
            } catch {
                await writerConnection.close()
                try? await writerLoop.shutdownGracefully()
                throw SheduError.unavailable("cannot open the SQLite database at \(path): \(error)")
            }
        }
        var betweenGroups: (@Sendable (any SQLDatabase) async -> Void)?
        if let checkpointer {
            let writerPageCache = WriterPageCache(fullKilobytes: cacheKilobytes)
            betweenGroups = { @Sendable writer in
                await checkpointer.writerIsIdle(writer)
                do {
                    try await writerPageCache.writerIsIdle(writer)
                } catch {
                    logger.warning("sizing the writer's page cache failed", metadata: ["error": "\(error)"])
                }
            }
        }
        let writer = WriteLane(dialect: dialect, logger: logger, open: openWriter, betweenGroups: betweenGroups)
        writer.start(with: writerConnection, executor: EventLoopExecutor(writerEventLoop))
        return SheduDatabase(
            dialect: dialect, location: location, readers: ConnectionPool(size: readerCount, open: openReader),
            writer: writer, writerLoop: writerLoop, checkpointer: checkpointer)
    }

    /// The id this database handle's writes carry: one per server, so that a server can tell
    /// other servers' changes from its own (``SQLReplicaChanges``).
    public var writerID: String { writer.writerID }

    /// Runs read-only statements on a pooled connection.
    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            return try await readers.withConnection(body)
        } catch {
            throw Self.refusedInput(error) ?? error
        }
    }

    /// Runs `body` inside a write transaction and returns once its changes are committed.
    ///
    /// If `body` throws, none of its changes are kept. Writes are serialized, so a body that reads
    /// before it writes sees no concurrent change of this server in between.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            writer.submit(
                WriteLane.Job(
                    run: { db in
                        let value = try await body(db)
                        return { continuation.resume(returning: value) }
                    },
                    fail: { continuation.resume(throwing: Self.refusedInput($0) ?? $0) }))
        }
    }

    /// Makes an embedded (SQLite) database this server's alone until ``close()``: see
    /// ``SQLiteServerLock``. Taken before anything is written (the data folder, migrations).
    public func hold(_ lock: SQLiteServerLock?) {
        serverLock.withLock { $0 = lock }
    }

    /// Finishes queued writes and closes every connection. A second call waits for the first:
    /// closing again would schedule work on the writer's stopped event loop, which never runs it.
    public func close() async {
        let closing = closing.withLock { closing in
            if let closing { return closing }
            // In a task of its own: a caller that was cancelled (a service group stopping on an
            // error) must still finish the queued writes and close.
            let task = Task { [self, writer, readers, writerLoop, checkpointer] in
                await writer.close()
                await readers.close()
                await checkpointer?.close()
                try? await writerLoop.shutdownGracefully()
                serverLock.withLock { $0.take() }?.release()
            }
            closing = task
            return task
        }
        await closing.value
    }

    /// The page size of a new SQLite database (an existing one keeps its own). Small pages
    /// because writes land on random rows of big tables: a monitor pass moves 100,000 of a
    /// million devices, one on most pages, and every page it touches goes through the WAL.
    /// Measured against 4 KB: 3.4× fewer bytes through the WAL per pass (median pass 6.5 → 3.2 s),
    /// 43% fewer per signed certificate; registrations and list pages unchanged.
    static let sqlitePageSize = 1024

    /// Each connection's page cache.
    static let cacheKilobytes = 16_000

    private static func openSQLite(path: String, on eventLoop: any EventLoop, isWriter: Bool, logger: Logger) throws
        -> PooledConnection
    {
        let connection: SQLiteConnectionHandle
        do {
            connection = try SQLiteConnectionHandle(path: path, batchingWAL: isWriter)
            for pragma in [
                "PRAGMA page_size=\(sqlitePageSize)",
                "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
                "PRAGMA temp_store=MEMORY", "PRAGMA cache_size=-\(cacheKilobytes)",
            ] {
                try connection.run(pragma)
            }
            if isWriter {
                // The writer never stops to checkpoint: ``WALCheckpointer`` does it beside it, and a
                // log it restarts is cut back to the limit at the writer's next commit.
                try connection.run("PRAGMA wal_autocheckpoint=0")
                try connection.run("PRAGMA journal_size_limit=\(WALCheckpointer.logSizeLimitBytes)")
            }
        } catch let error as SQLiteFailure {
            throw SheduError.unavailable("cannot open the SQLite database at \(path): \(error.message)")
        }
        return PooledConnection(
            sql: SQLiteDirectDatabase(connection: connection, logger: logger, eventLoop: eventLoop),
            isClosed: { connection.isClosed }, close: { connection.close() })
    }

    private static func openPostgres(
        _ configuration: SQLPostgresConfiguration, location: DatabaseLocation, on eventLoop: any EventLoop, logger: Logger
    ) async throws -> PooledConnection {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                on: eventLoop, configuration: configuration.coreConfiguration,
                id: Int.random(in: 0..<Int.max), logger: logger)
        } catch {
            throw SheduError.unavailable(
                "cannot connect to PostgreSQL at \(location.redactedDescription): \(describe(error))")
        }
        return PooledConnection(
            sql: connection.sql(queryLogLevel: nil), isClosed: { connection.isClosed },
            close: { try? await connection.close() })
    }

    /// A short reason for a database error, without the query's bound values.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

extension SheduDatabase {
    /// Whether `error` is a violation of a unique index or primary key.
    public static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? SQLiteFailure {
            return error.isUniqueViolation
        }
        if let error = error as? PSQLError {
            return error.serverInfo?[.sqlState] == "23505"
        }
        return false
    }

    /// A 400 for a value the database refuses to hold: PostgreSQL stores no NUL character (U+0000)
    /// in text or JSON, wherever it came from (a path, a filter, a CSR's subject). Nothing was
    /// written: the statement, and its write's transaction, failed.
    static func refusedInput(_ error: any Error) -> SheduError? {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return nil }
        // invalid byte sequence for the encoding; a JSON \u0000 that cannot be converted to text
        guard state == "22021" || state == "22P05" else { return nil }
        return .badRequest("a value contains the NUL character (U+0000), which cannot be stored")
    }

    /// Whether `error` is a row naming another that does not exist (a foreign key).
    public static func isForeignKeyViolation(_ error: any Error) -> Bool {
        if let error = error as? SQLiteFailure {
            return error.isForeignKeyViolation
        }
        if let error = error as? PSQLError {
            return error.serverInfo?[.sqlState] == "23503"
        }
        return false
    }
}
