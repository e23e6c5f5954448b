import Logging
import ServiceLifecycle
import SheduCore

/// Marks certificates and CAs EXPIRED when their validity ends, every `interval`, by indexed
/// range updates (never a scan of every certificate).
struct ExpiryMonitor: Service {
    let ca: CAService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let expired = try await ca.expire()
                if expired > 0 { logger.info("expired certificates", metadata: ["certificates.expired": "\(expired)"]) }
            } catch {
                logger.error("expiry monitor pass failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
