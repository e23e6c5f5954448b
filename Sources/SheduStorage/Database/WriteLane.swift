import Logging
import SQLKit
import SheduCore
import Synchronization

/// The single writer: runs write jobs one after another on one connection, and groups the jobs
/// that arrive while a transaction is running into the next one (group commit).
///
/// A group first runs as one plain transaction; when a job of it fails, the others run again,
/// each inside its own savepoint, so a job that fails leaves no trace and does not affect the
/// others. A job's result is handed back only after its COMMIT succeeded: what a caller is told
/// is written, is durable.
final class WriteLane: Sendable {
    struct Job: Sendable {
        /// Runs the job's statements; returns what to do once the transaction is committed.
        let run: @Sendable (any SQLDatabase) async throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var pending: [Job] = []
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }

    static let maximumGroupSize = 512

    private let state = Mutex(State())
    private let dialect: SQLDialectKind
    /// Names this writer's transactions to the database (``SQLDialectKind/beginWrite(on:writer:)``).
    let writerID = RandomUUID.lowercased()
    private let open: @Sendable () async throws -> PooledConnection
    private let logger: Logger
    private let runner = Mutex<Task<Void, Never>?>(nil)
    /// Runs on the writer's connection after each group, outside any transaction.
    private let betweenGroups: (@Sendable (any SQLDatabase) async -> Void)?

    init(
        dialect: SQLDialectKind, logger: Logger, open: @escaping @Sendable () async throws -> PooledConnection,
        betweenGroups: (@Sendable (any SQLDatabase) async -> Void)? = nil
    ) {
        self.dialect = dialect
        self.open = open
        self.logger = logger
        self.betweenGroups = betweenGroups
    }

    func start(with connection: PooledConnection, executor: (any TaskExecutor)? = nil) {
        let task = Task(executorPreference: executor) { await self.run(connection: connection) }
        runner.withLock { $0 = task }
    }

    func submit(_ job: Job) {
        let action: (waiter: CheckedContinuation<Void, Never>?, rejected: Bool) = state.withLock { state in
            guard !state.closed else { return (nil, true) }
            state.pending.append(job)
            let waiter = state.waiter
            state.waiter = nil
            return (waiter, false)
        }
        if action.rejected { job.fail(SheduError.databaseClosed) }
        action.waiter?.resume()
    }

    /// Stops taking jobs, finishes the queued ones, and closes the connection.
    func close() async {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            state.closed = true
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
        await runner.withLock { $0 }?.value
    }

    private func nextGroup() async -> [Job]? {
        while true {
            enum Next { case group([Job]), finished, wait }
            let next: Next = state.withLock { state in
                if !state.pending.isEmpty {
                    let count = min(state.pending.count, Self.maximumGroupSize)
                    let group = Array(state.pending.prefix(count))
                    state.pending.removeFirst(count)
                    return .group(group)
                }
                return state.closed ? .finished : .wait
            }
            switch next {
            case .group(let group): return group
            case .finished: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if state.pending.isEmpty && !state.closed {
                            state.waiter = continuation
                            return false
                        }
                        return true
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    private func run(connection initial: PooledConnection) async {
        var connection: PooledConnection? = initial
        while let group = await nextGroup() {
            if connection == nil || connection!.isClosed() {
                do {
                    connection = try await open()
                } catch {
                    logger.error("database writer cannot reconnect", metadata: ["error": "\(error)"])
                    connection = nil
                    for job in group { job.fail(error) }
                    continue
                }
            }
            await execute(group, on: connection!.sql)
            await betweenGroups?(connection!.sql)
        }
        await connection?.close()
    }

    /// Runs a group optimistically: one transaction and no savepoint per job, two statements fewer
    /// each. A job that fails undoes the group; it alone is told, and the others run again, each in
    /// a savepoint of its own.
    private func execute(_ group: [Job], on db: any SQLDatabase) async {
        guard group.count > 1 else { return await executeIsolated(group, on: db) }
        guard await begin(group, on: db) else { return }
        var completions: [@Sendable () -> Void] = []
        completions.reserveCapacity(group.count)
        for (index, job) in group.enumerated() {
            do {
                completions.append(try await job.run(db))
            } catch {
                await rollback(db)
                job.fail(error)
                var others = group
                others.remove(at: index)
                return await executeIsolated(others, on: db)
            }
        }
        await commit(group, completions: completions, on: db)
    }

    /// Runs each job of a group inside its own savepoint, so that a failing one leaves no trace.
    private func executeIsolated(_ group: [Job], on db: any SQLDatabase) async {
        guard !group.isEmpty, await begin(group, on: db) else { return }
        let useSavepoints = group.count > 1
        var completions: [@Sendable () -> Void] = []
        completions.reserveCapacity(group.count)
        var succeeded: [Job] = []
        for (index, job) in group.enumerated() {
            do {
                if useSavepoints { try await db.raw("SAVEPOINT job").run() }
                let completion = try await job.run(db)
                if useSavepoints { try await db.raw("RELEASE SAVEPOINT job").run() }
                completions.append(completion)
                succeeded.append(job)
            } catch {
                job.fail(error)
                guard useSavepoints else { break }
                do {
                    try await db.raw("ROLLBACK TO SAVEPOINT job").run()
                    try await db.raw("RELEASE SAVEPOINT job").run()
                } catch {
                    // The transaction itself is broken: undo everything and fail the rest.
                    await rollback(db)
                    for other in succeeded { other.fail(error) }
                    for other in group[(index + 1)...] { other.fail(error) }
                    return
                }
            }
        }
        if succeeded.isEmpty {
            await rollback(db)
            return
        }
        await commit(succeeded, completions: completions, on: db)
    }

    private func begin(_ group: [Job], on db: any SQLDatabase) async -> Bool {
        do {
            try await dialect.beginWrite(on: db, writer: writerID)
            return true
        } catch {
            for job in group { job.fail(error) }
            return false
        }
    }

    /// Commits, then hands each job its result: what a caller is told is written, is durable.
    private func commit(_ jobs: [Job], completions: [@Sendable () -> Void], on db: any SQLDatabase) async {
        do {
            try await db.raw("COMMIT").run()
        } catch {
            logger.error("database commit failed", metadata: ["error": "\(error)"])
            await rollback(db)
            for job in jobs { job.fail(error) }
            return
        }
        for completion in completions { completion() }
    }

    private func rollback(_ db: any SQLDatabase) async {
        do {
            try await db.raw("ROLLBACK").run()
        } catch {
            logger.debug("rollback failed", metadata: ["error": "\(error)"])
        }
    }
}
