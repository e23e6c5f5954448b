import SheduCore
import SheduStorage
import Synchronization

/// Brings other replicas' changes of CAs and certificate statuses to this server's caches (kept
/// OCSP answers, CRLs, CA signing contexts) on PostgreSQL: when the count of the other servers'
/// changes moved since the last pass, every cache is dropped through its one invalidation entry
/// point (this server's own changes dropped what they touched as they were made).
/// A revocation made through another replica is seen here within one interval.
final class ReplicaChangeWatcher: Sendable {
    static let interval = Duration.milliseconds(250)

    private let changes: SQLReplicaChanges
    private let services: SheduServices
    private let seen = Mutex<Int64?>(nil)

    init(services: SheduServices) {
        self.services = services
        changes = SQLReplicaChanges(database: services.database)
    }

    /// One pass: true when the caches were dropped.
    @discardableResult
    func pass() async throws -> Bool {
        guard let generation = try await changes.othersChanges() else { return false }
        // The first pass drops too: what was kept before it may predate a change it never saw.
        let moved = seen.withLock { seen in
            defer { seen = generation }
            return seen != generation
        }
        guard moved else { return false }
        services.ca.invalidate()
        services.va.certificateStatusesChanged(.authorities)
        return true
    }
}
