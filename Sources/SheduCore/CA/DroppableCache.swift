import Synchronization

/// Values loaded from the store and kept until dropped. A value whose load overlapped a drop is
/// used for its own call only: a load that read before a change (here or on another replica)
/// never outlives the drop that announced it.
final class DroppableCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let state = Mutex<(values: [Key: Value], generation: UInt64)>(([:], 0))

    /// The kept value, else `load`'s, kept unless dropped meanwhile; nil (not kept) when `load` finds none.
    func value(_ key: Key, load: () async throws -> Value?) async rethrows -> Value? {
        let (cached, generation) = state.withLock { ($0.values[key], $0.generation) }
        if let cached { return cached }
        guard let loaded = try await load() else { return nil }
        state.withLock { state in
            if state.generation == generation { state.values[key] = loaded }
        }
        return loaded
    }

    func removeAll() {
        state.withLock { state in
            state.values.removeAll()
            state.generation &+= 1
        }
    }
}
