import Logging
import NIOCore
import NIOPosix

/// Copies the SQLite write-ahead log into the database file on a thread of its own.
///
/// SQLite checkpoints inside the COMMIT that crosses its threshold, and the single writer then
/// stops for it while every enrollment waits. The writer's connection turns that off, and this
/// runs a passive checkpoint (which neither waits for nor blocks readers and the writer) at a
/// fixed interval instead.
final class WALCheckpointer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let connection: SQLiteConnectionHandle
    private let task: RepeatedTask

    init(path: String, interval: TimeAmount, logger: Logger) throws {
        let connection = try SQLiteConnectionHandle(path: path)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.connection = connection
        self.group = group
        task = group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            do {
                try connection.run("PRAGMA wal_checkpoint(PASSIVE)")
            } catch {
                logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
            }
        }
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
