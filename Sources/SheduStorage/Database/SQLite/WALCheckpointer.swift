import Logging
import NIOCore
import NIOPosix
import SQLKit
import Synchronization

/// Copies the SQLite write-ahead log into the database file on a thread of its own, and keeps
/// the log from growing without end.
///
/// SQLite checkpoints inside the COMMIT that crosses its threshold, and the single writer then
/// stops for it while every enrollment waits. The writer's connection turns that off, and this
/// runs a passive checkpoint (which neither waits for nor blocks readers and the writer) at a
/// fixed interval instead.
///
/// SQLite starts the log over only when a write transaction begins with every frame of it
/// copied, and under steady writes the writer appends while the checkpoint copies: measured,
/// 250 MB of log after 10 s of signing, growing for as long as the load lasts (disk, page cache,
/// and a long replay after a crash). So once the log is past `restartFrames`, this catches up with
/// the writer in a few shorter passes and asks the writer to copy the rest itself between two
/// transactions (``writerIsIdle(_:)``); nothing is appended meanwhile, so its next commit writes
/// from the log's beginning. Nothing waits for a lock: a reader still in the log only postpones
/// the restart to the next tick.
final class WALCheckpointer: Sendable {
    /// What a restarted log file is cut back to if a burst grew it past that; kept on the
    /// writer's connection, which truncates (`PRAGMA journal_size_limit`).
    static let logSizeLimitBytes = 64 << 20
    /// A pass that found fewer new frames than this leaves the writer little to copy.
    private static let shortPassFrames = 512
    private static let catchUpPasses = 3
    private static let passiveCheckpoint = "PRAGMA wal_checkpoint(PASSIVE)"

    private let group: MultiThreadedEventLoopGroup
    private let connection: SQLiteConnectionHandle
    private let task: RepeatedTask
    private let restart = RestartRequest()
    private let logger: Logger

    init(path: String, interval: TimeAmount, restartFrames: Int, logger: Logger) throws {
        let connection = try SQLiteConnectionHandle(path: path)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.connection = connection
        self.group = group
        self.logger = logger
        task = group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { [restart] _ in
            do {
                var logFrames = try Self.checkpoint(connection)
                guard logFrames >= restartFrames else { return }
                // Each pass copies what the writer appended during the one before, in less time.
                for _ in 0..<Self.catchUpPasses {
                    let before = logFrames
                    logFrames = try Self.checkpoint(connection)
                    if logFrames - before < Self.shortPassFrames { break }
                }
                restart.wanted.store(true, ordering: .releasing)
            } catch {
                logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Run by the writer between two transactions: when the log is due to start over, copies what
    /// the checkpointer has not reached yet.
    func writerIsIdle(_ writer: any SQLDatabase) async {
        guard restart.wanted.exchange(false, ordering: .acquiring) else { return }
        do {
            try await writer.raw(SQLQueryString(Self.passiveCheckpoint)).run()
        } catch {
            logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs a passive checkpoint; returns the frames in the log, as SQLite reports them.
    private static func checkpoint(_ connection: SQLiteConnectionHandle) throws -> Int {
        var logFrames = 0
        try connection.execute(Self.passiveCheckpoint, []) { row in
            if row.values.count == 3, case .integer(let frames) = row.values[1] { logFrames = Int(frames) }
        }
        return logFrames
    }

    private final class RestartRequest: Sendable {
        let wanted = Atomic(false)
    }

    /// Stops checkpointing; closing the last connection checkpoints the rest.
    func close() async {
        let cancelled = group.next().makePromise(of: Void.self)
        task.cancel(promise: cancelled)
        try? await cancelled.futureResult.get()
        connection.close()
        try? await group.shutdownGracefully()
    }
}
