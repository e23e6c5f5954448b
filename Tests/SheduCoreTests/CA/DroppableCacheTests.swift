import Synchronization
import Testing

@testable import SheduCore

@Suite("Kept CA state: a load that overlapped a drop is not kept")
struct DroppableCacheTests {
    /// The load read the store before a change whose drop came while it ran: keeping its value
    /// would serve the state before the change until the next drop (a CA's signing state after
    /// another replica revoked or reissued it).
    @Test func aValueLoadedAcrossADropIsUsedOnceAndNotKept() async throws {
        let cache = DroppableCache<String, Int>()
        let loads = Mutex(0)
        let first = try await cache.value("ca") {
            loads.withLock { $0 += 1 }
            cache.removeAll()  // a change announced while this load ran
            return 1
        }
        #expect(first == 1)
        let second = try await cache.value("ca") {
            loads.withLock { $0 += 1 }
            return 2
        }
        #expect(second == 2, "the load from before the drop was kept")
        #expect(try await cache.value("ca") { 3 } == 2, "a load with no drop is kept")
        #expect(loads.withLock { $0 } == 2)
        #expect(try await cache.value("missing") { nil } == nil)
    }
}
