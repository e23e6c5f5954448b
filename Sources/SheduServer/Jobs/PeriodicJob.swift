import Logging
import ServiceLifecycle

/// A background pass run every `interval` until shutdown (the expiry monitor, the device window
/// monitor, ...). A failed pass is logged and the next one runs as planned.
struct PeriodicJob: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    /// One pass; returns how many things it changed, logged when not zero.
    let pass: @Sendable () async throws -> Int

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let start = ContinuousClock.now
            do {
                let changed = try await pass()
                if changed > 0 {
                    let elapsed = ContinuousClock.now - start
                    let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                    logger.info(
                        "\(name) pass",
                        metadata: ["job.changed": "\(changed)", "job.duration_ms": "\(Int(milliseconds.rounded()))"])
                }
            } catch {
                logger.error("\(name) pass failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
