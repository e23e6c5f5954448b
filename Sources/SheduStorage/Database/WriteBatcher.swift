import SQLKit
import SheduCore
import Synchronization

/// Writes items submitted concurrently together: one write job per batch, in which `write` stores
/// them all with a few multi-row statements instead of a few statements each. Every submitter is
/// answered once its batch has committed, with its own item's outcome.
///
/// Items that arrive while a batch waits for the writer join it, so batches grow with the load.
final class WriteBatcher<Item: Sendable>: Sendable {
    /// Stores `items` on `db`, inside the writer's transaction; returns each item's outcome, in order.
    typealias Write = @Sendable (_ items: [Item], _ db: any SQLDatabase) async throws -> [Result<Void, any Error>]

    private struct Pending {
        var item: Item
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var scheduled = false
    }

    private let state = Mutex(State())
    private let database: SheduDatabase
    private let maximumBatch: Int
    private let write: Write

    init(database: SheduDatabase, maximumBatch: Int = 256, write: @escaping Write) {
        self.database = database
        self.maximumBatch = maximumBatch
        self.write = write
    }

    /// Returns once `item` is committed; throws its own failure (or its batch's).
    func submit(_ item: Item) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let schedule = state.withLock { state -> Bool in
                state.pending.append(Pending(item: item, continuation: continuation))
                guard !state.scheduled else { return false }
                state.scheduled = true
                return true
            }
            if schedule { scheduleBatch() }
        }
    }

    private func scheduleBatch() {
        Task {
            let taken = TakenBatch()
            do {
                let outcomes = try await database.write { db -> [Result<Void, any Error>] in
                    // Taken when the writer first runs the job, so everything queued until then
                    // joins; later arrivals go to the next job, queued behind this one. The writer
                    // runs a job again when another job of its group failed: the same items then.
                    let batch = taken.items { self.take() }
                    guard !batch.isEmpty else { return [] }
                    return try await self.write(batch.map(\.item), db)
                }
                for (index, pending) in taken.items({ self.take() }).enumerated() {
                    pending.continuation.resume(
                        with: index < outcomes.count ? outcomes[index] : .failure(SheduError.internal("a batched write gave no outcome")))
                }
            } catch {
                // Also when the job never ran (its transaction did not begin): items already
                // queued would otherwise wait forever, as the batch was scheduled.
                for pending in taken.items({ self.take() }) { pending.continuation.resume(throwing: error) }
            }
        }
    }

    /// The items a batch job took, taken once however often the writer runs the job.
    private final class TakenBatch: Sendable {
        private let taken = Mutex<[Pending]?>(nil)

        func items(_ take: () -> [Pending]) -> [Pending] {
            taken.withLock { taken in
                if let taken { return taken }
                let items = take()
                taken = items
                return items
            }
        }
    }

    /// The next batch; schedules another job when items remain, else lets the next arrival do it.
    private func take() -> [Pending] {
        let (batch, remaining) = state.withLock { state -> ([Pending], Bool) in
            let count = min(state.pending.count, maximumBatch)
            let batch = Array(state.pending.prefix(count))
            state.pending.removeFirst(count)
            if state.pending.isEmpty { state.scheduled = false }
            return (batch, !state.pending.isEmpty)
        }
        if remaining { scheduleBatch() }
        return batch
    }
}
