import SheduCore
import Synchronization

/// Stored JSON documents decoded once per distinct text. DMS settings and issuance profiles are
/// read on every enrollment and signature, and decoding them cost more than reading them; keyed by
/// the stored text itself, an entry is never stale, on this replica or any other.
final class DecodedDocuments<Value: Decodable & Sendable>: Sendable {
    private let entries = Mutex<[String: Value]>([:])
    private let limit: Int

    init(limit: Int = 1_024) {
        self.limit = limit
    }

    func decode(_ text: String) throws -> Value {
        if let value = entries.withLock({ $0[text] }) { return value }
        let value = try DomainJSON.decode(Value.self, from: text)
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[text] = value
        }
        return value
    }
}
