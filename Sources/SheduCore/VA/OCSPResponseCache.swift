import Foundation
import SheduPKI
import Synchronization
import X509

/// Pre-signed OCSP responses: one per certificate and CertID encoding, answered to every request
/// without a nonce that asks exactly that, until it is half-way to its nextUpdate.
///
/// Entries are filled by the signing path and dropped by ``remove(serialNumbers:)`` and
/// ``removeAll()`` (fed by ``VAService/certificateStatusesChanged(_:)``). A fill carries the
/// ``generation`` read before the status was read from the store, and is refused when an
/// invalidation happened since: a response signed from a status that changed meanwhile is never kept.
final class OCSPResponseCache: Sendable {
    struct Entry: Sendable {
        var reply: OCSPReply
        /// After this instant the entry is signed again.
        var refreshAt: Date
    }

    private struct State {
        /// By serial number, then by the DER of the CertID asked about (algorithm and encoding).
        var entries: [Certificate.SerialNumber: [ByteKey: Entry]] = [:]
        var count = 0
        var generation: UInt64 = 0
        /// Requests seen before, to the entry that answers them: a pure function of the request's
        /// bytes, so never stale (an entry it names may be gone, then the request is parsed again).
        var shortcuts: [OCSPRequestKey: Shortcut] = [:]
    }

    /// Where a request's answer is kept, and that answer as of `generation`: while nothing was
    /// invalidated since, it is still right, and one lookup finds it.
    private struct Shortcut {
        var serial: Certificate.SerialNumber
        var certID: ByteKey
        var entry: Entry
        var generation: UInt64
    }

    /// At most this many responses are kept (about 100 MB with 4096-bit RSA signatures).
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 250_000) {
        self.capacity = capacity
    }

    /// The response to send for `certID`, when one is kept and still fresh at `now`; it is also
    /// remembered as the answer to `request`.
    func response(for certID: OCSPCertID, now: Date, remembering request: OCSPRequestKey? = nil) -> OCSPReply? {
        let certIDKey = ByteKey(certID.derBytes)
        return state.withLock { state in
            guard let entry = state.entries[certID.serialNumber]?[certIDKey], now < entry.refreshAt else { return nil }
            if let request {
                if state.shortcuts.count >= capacity { state.shortcuts.removeAll() }
                state.shortcuts[request] = Shortcut(
                    serial: certID.serialNumber, certID: certIDKey, entry: entry, generation: state.generation)
            }
            return entry.reply
        }
    }

    /// The kept, fresh response to a request answered before, without parsing it.
    func response(to request: OCSPRequestKey, now: Date) -> OCSPReply? {
        state.withLock { state in
            guard let shortcut = state.shortcuts[request] else { return nil }
            if shortcut.generation == state.generation {
                return now < shortcut.entry.refreshAt ? shortcut.entry.reply : nil
            }
            guard let entry = state.entries[shortcut.serial]?[shortcut.certID], now < entry.refreshAt else { return nil }
            state.shortcuts[request] = Shortcut(
                serial: shortcut.serial, certID: shortcut.certID, entry: entry, generation: state.generation)
            return entry.reply
        }
    }

    /// Read before the status a response is signed from.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Keeps `entry` for `certID` unless something was invalidated since `generation`.
    func insert(_ entry: Entry, for certID: OCSPCertID, ifGeneration generation: UInt64) {
        let certIDKey = ByteKey(certID.derBytes)
        state.withLock { state in
            guard state.generation == generation else { return }
            let serial = certID.serialNumber
            if state.entries[serial]?[certIDKey] == nil {
                if state.count >= capacity, let victim = state.entries.first {
                    // Any entry will do: it is signed again when next asked for.
                    state.count -= victim.value.count
                    state.entries.removeValue(forKey: victim.key)
                }
                state.count += 1
            }
            state.entries[serial, default: [:]][certIDKey] = entry
        }
    }

    /// Drops the responses about these certificates (lowercase hex serial numbers).
    func remove(serialNumbers: [String]) {
        let serials = serialNumbers.compactMap(Certificate.SerialNumber.init(hexString:))
        state.withLock { state in
            state.generation &+= 1
            for serial in serials {
                state.count -= state.entries.removeValue(forKey: serial)?.count ?? 0
            }
        }
    }

    func removeAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
            state.count = 0
        }
    }

    var count: Int { state.withLock { $0.count } }
}
