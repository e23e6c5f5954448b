import Logging
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

    /// One pass: true when the caches were dropped. CRLs the other servers signed are not counted
    /// as changes (each server would sign again for the others, without end): newer ones are
    /// taken as they are stored.
    /// Throws ``Unreachable`` when its first read fails: the pass is also `/health`'s probe.
    @discardableResult
    func pass() async throws -> Bool {
        let counted: Int64?
        do {
            counted = try await changes.othersChanges()
        } catch {
            throw Unreachable(underlying: error)
        }
        guard let generation = counted else { return false }
        // The first pass drops too: what was kept before it may predate a change it never saw.
        let moved = seen.withLock { seen in
            defer { seen = generation }
            return seen != generation
        }
        if moved {
            services.ca.invalidate()
            services.va.certificateStatusesChanged(.authorities)
        }
        try await services.va.adoptNewerStoredCRLs()
        return moved
    }

    /// A pass as `/health`'s probe: records whether the database answered, and logs only when
    /// that changes (a database that stays down is logged once, not four times a second).
    func probe(recordingIn health: DatabaseHealth, logger: Logger) async throws {
        func answered() {
            if let silence = health.succeeded() {
                logger.notice(
                    "the database answers again; /health said 503 meanwhile",
                    metadata: ["silence_s": "\(silence.components.seconds)"])
            }
        }
        do {
            try await pass()
        } catch let error as Unreachable {
            if health.failed() { logger.error("the database does not answer; /health says 503", metadata: ["error": "\(error)"]) }
            return
        } catch {
            answered()
            throw error
        }
        answered()
    }

    /// The database did not answer the pass's first read.
    struct Unreachable: Error, CustomStringConvertible {
        let underlying: any Error
        var description: String { "\(underlying)" }
    }
}
