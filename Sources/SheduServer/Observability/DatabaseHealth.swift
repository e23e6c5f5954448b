import Synchronization

/// Whether this server reaches its database, as `/health` tells load balancers. On PostgreSQL
/// the replica watcher's pass, every 250 ms, is the probe; an embedded database is always reached.
final class DatabaseHealth: Sendable {
    /// A probe that has not succeeded for this long counts as failed: a pass may hang while it
    /// connects to a server that is gone.
    static let staleAfter = Duration.seconds(5)

    private struct State {
        var lastSuccess: ContinuousClock.Instant
        var failing = false
    }

    /// nil when nothing is probed.
    private let state: Mutex<State>?

    init(probed: Bool) {
        state = probed ? Mutex(State(lastSuccess: .now)) : nil
    }

    /// Records a probe that succeeded. When `/health` said 503 before it (a probe failed, or none
    /// succeeded for ``staleAfter``: a stalled one), how long since the last probe that succeeded.
    @discardableResult
    func succeeded() -> Duration? {
        state?.withLock { state in
            let now = ContinuousClock.now
            defer { state = State(lastSuccess: now) }
            let silence = now - state.lastSuccess
            return state.failing || silence >= Self.staleAfter ? silence : nil
        } ?? nil
    }

    /// Records a probe that failed; true when the database was reachable before it.
    @discardableResult
    func failed() -> Bool {
        state?.withLock { state in
            defer { state.failing = true }
            return !state.failing
        } ?? false
    }

    var isReachable: Bool {
        state?.withLock { !$0.failing && ContinuousClock.now - $0.lastSuccess < Self.staleAfter } ?? true
    }
}
