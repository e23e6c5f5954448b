import Synchronization

/// Where stores announce committed certificate status changes and caches hear of them.
///
/// A store publishes after its transaction committed and before its call returns, so a cache that
/// subscribed has dropped what the change made stale by the time the caller is told it is done.
public final class CertificateStatusFeed: Sendable {
    private let observers = Mutex<[@Sendable (CertificateStatusChange) -> Void]>([])

    public init() {}

    public func subscribe(_ observer: @escaping @Sendable (CertificateStatusChange) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    public func publish(_ change: CertificateStatusChange) {
        if case .certificates(let changed) = change, changed.isEmpty { return }
        for observer in observers.withLock({ $0 }) {
            observer(change)
        }
    }
}
