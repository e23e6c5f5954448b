import Foundation
import Synchronization

/// What the VA keeps of each CA's CRL between downloads: the CRL it serves, how many changes
/// happened since it was built, and the generation in flight.
///
/// A status change only counts (``markChanged(caIDs:)``); the CRL is signed again by the next
/// download or refresh that finds it stale, once for all the changes before it, while concurrent
/// downloads wait for that one generation.
final class CRLPublications: Sendable {
    /// Monotonic counts of the changes that make a CA's CRL stale.
    struct Changes: Sendable, Hashable {
        var statuses: UInt64 = 0
        var options: UInt64 = 0
    }

    struct Slot {
        var published: PublishedCRL?
        var changes = Changes()
        var pending: Task<Void, any Error>?
    }

    private let slots = Mutex<[String: Slot]>([:])

    /// Whether `crl` may be served to a download that arrived when the counts were `wanted`.
    static func satisfies(_ crl: PublishedCRL, _ wanted: Changes, now: Date) -> Bool {
        guard now < crl.refreshAt, crl.builtFrom.options >= wanted.options else { return false }
        return !crl.regenerateOnRevoke || crl.builtFrom.statuses >= wanted.statuses
    }

    /// The CRL to serve now without signing, if there is one, for the CA `caID` whose key is
    /// `issuerKeyID`.
    func fresh(caID: String, issuerKeyID: String, now: Date) -> PublishedCRL? {
        slots.withLock { slots in
            guard let slot = slots[caID], let crl = slot.published, crl.issuerKeyID == issuerKeyID,
                Self.satisfies(crl, slot.changes, now: now)
            else { return nil }
            return crl
        }
    }

    func changes(caID: String) -> Changes {
        slots.withLock { $0[caID]?.changes ?? Changes() }
    }

    enum Step {
        case ready(PublishedCRL)
        case wait(Task<Void, any Error>)
    }

    /// The CRL when one satisfies `wanted`; else the generation to wait for, started with
    /// `generate` (given the counts it covers) when none is in flight.
    func next(
        caID: String, issuerKeyID: String, wanted: Changes, now: Date,
        generate: @escaping @Sendable (Changes) async throws -> PublishedCRL
    ) -> Step {
        slots.withLock { slots in
            var slot = slots[caID] ?? Slot()
            if let crl = slot.published, crl.issuerKeyID == issuerKeyID, Self.satisfies(crl, wanted, now: now) { return .ready(crl) }
            if let pending = slot.pending { return .wait(pending) }
            let covered = slot.changes
            let task = Task {
                do {
                    let crl = try await generate(covered)
                    self.finish(caID: caID, with: crl)
                } catch {
                    self.finish(caID: caID, with: nil)
                    throw error
                }
            }
            slot.pending = task
            slots[caID] = slot
            return .wait(task)
        }
    }

    private func finish(caID: String, with crl: PublishedCRL?) {
        slots.withLock { slots in
            slots[caID]?.pending = nil
            // One generation at a time per CA here, but another server's CRL, numbered higher, may
            // have been adopted meanwhile: the higher number is served. A CRL of another key (a CA
            // deleted and made again under its id) is replaced whatever its number.
            guard let crl else { return }
            if let kept = slots[caID]?.published, kept.issuerKeyID == crl.issuerKeyID, kept.summary.number >= crl.summary.number {
                return
            }
            slots[caID]?.published = crl
        }
    }

    /// The CRL kept for the CA whose key is `issuerKeyID`, fresh or not.
    func kept(caID: String, issuerKeyID: String) -> PublishedCRL? {
        slots.withLock { slots in slots[caID]?.published.flatMap { $0.issuerKeyID == issuerKeyID ? $0 : nil } }
    }

    /// Serves `crl`, which another server signed, when it is numbered higher than the kept one of
    /// the same key. It covers every change the kept one covered, as numbers follow contents
    /// (``VAStore/nextCRL(caSKI:issuedBy:defaults:)``); changes since are still owed.
    func adopt(_ crl: PublishedCRL, caID: String) -> Bool {
        slots.withLock { slots in
            guard let kept = slots[caID]?.published, kept.issuerKeyID == crl.issuerKeyID, kept.summary.number < crl.summary.number
            else { return false }
            var adopted = crl
            adopted.builtFrom = kept.builtFrom
            slots[caID]?.published = adopted
            return true
        }
    }

    /// The CAs' certificates changed status: their CRLs are stale.
    func markChanged(caIDs: some Sequence<String>) {
        slots.withLock { slots in
            for id in caIDs { slots[id, default: Slot()].changes.statuses &+= 1 }
        }
    }

    /// Anything may have changed (a CA cascade): every CRL is stale.
    func markAllChanged() {
        slots.withLock { slots in
            for id in slots.keys { slots[id]?.changes.statuses &+= 1 }
        }
    }

    /// The CA's CRL options changed: its CRL is stale, whatever `regenerate_on_revoke` says.
    func markOptionsChanged(caID: String) {
        slots.withLock { $0[caID, default: Slot()].changes.options &+= 1 }
    }
}
