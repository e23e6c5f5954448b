import Logging
import SQLKit
import SheduCore

/// One open database connection with the means to close it.
struct PooledConnection: Sendable {
    let sql: any SQLDatabase
    let isClosed: @Sendable () -> Bool
    let close: @Sendable () async -> Void
}

/// A fixed-size pool of connections handed out one request at a time; waiters queue in order.
actor ConnectionPool {
    private let open: @Sendable () async throws -> PooledConnection
    private let size: Int
    private var idle: [PooledConnection] = []
    private var opened = 0
    private var waiters: [CheckedContinuation<PooledConnection?, any Error>] = []
    private var closed = false
    /// ``close()`` waiting for the connections still checked out.
    private var drained: [CheckedContinuation<Void, Never>] = []

    init(size: Int, open: @escaping @Sendable () async throws -> PooledConnection) {
        self.size = size
        self.open = open
    }

    nonisolated func withConnection<T: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let connection = try await checkout()
        do {
            let result = try await body(connection.sql)
            await checkin(connection)
            return result
        } catch {
            await checkin(connection)
            throw error
        }
    }

    private func checkout() async throws -> PooledConnection {
        guard !closed else { throw SheduError.databaseClosed }
        while let connection = idle.popLast() {
            if !connection.isClosed() { return connection }
            opened -= 1
        }
        if opened < size {
            opened += 1
            do {
                return try await open()
            } catch {
                releaseSlot()
                throw error
            }
        }
        let handed: PooledConnection? = try await withCheckedThrowingContinuation { waiters.append($0) }
        guard let handed else { return try await checkout() }
        return handed
    }

    private func checkin(_ connection: PooledConnection) async {
        if closed {
            // Handed back after the pool closed: close it rather than leak it.
            await connection.close()
            releaseSlot()
            return
        }
        if connection.isClosed() {
            opened -= 1
            // A waiter may now open a fresh connection.
            if !waiters.isEmpty { waiters.removeFirst().resume(returning: nil) }
            return
        }
        if !waiters.isEmpty {
            waiters.removeFirst().resume(returning: connection)
        } else {
            idle.append(connection)
        }
    }

    /// Closes every connection, waiting for those in use to be handed back: a connection closed
    /// after its database's thread pool stopped would stay open (and SQLite asserts on that).
    func close() async {
        closed = true
        for waiter in waiters { waiter.resume(throwing: SheduError.databaseClosed) }
        waiters = []
        let connections = idle
        idle = []
        opened -= connections.count
        for connection in connections { await connection.close() }
        if opened > 0 {
            await withCheckedContinuation { drained.append($0) }
        }
    }

    private func releaseSlot() {
        opened -= 1
        guard closed, opened == 0 else { return }
        for waiter in drained { waiter.resume() }
        drained = []
    }
}

extension SheduError {
    /// A request that reaches the database after it closed (the server is stopping, or one of its
    /// services failed): 503, as for any dependency that cannot answer, rather than a 500.
    static var databaseClosed: SheduError {
        .unavailable("the database is closed: the server is stopping")
    }
}
