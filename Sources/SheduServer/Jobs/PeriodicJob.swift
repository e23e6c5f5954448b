import Logging
import ServiceLifecycle
import SheduCore
import SheduStorage

/// A background pass run every `interval` until shutdown (the expiry monitor, the device window
/// monitor, ...). A failed pass is logged and the next one runs as planned.
struct PeriodicJob: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    /// Set for a singleton job, which one server of those sharing a database runs: each pass
    /// first takes or renews the job's lease, named by `name`, for `leaseDuration`.
    var leases: SQLJobLeases? = nil
    /// How long another server waits to take the job over from one that died: three intervals,
    /// unless said.
    var leaseDuration: Duration? = nil
    /// One pass; returns how many things it changed, logged when not zero.
    let pass: @Sendable () async throws -> Int

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let start = ContinuousClock.now
            do {
                // A singleton job whose lease another server holds skips the pass here.
                if try await leases?.hold(name, for: TimeDuration(leaseDuration ?? interval * 3)) ?? true {
                    let changed = try await pass()
                    if changed > 0 {
                        let elapsed = ContinuousClock.now - start
                        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                        logger.info(
                            "\(name) pass",
                            metadata: ["job.changed": "\(changed)", "job.duration_ms": "\(Int(milliseconds.rounded()))"])
                    }
                }
            } catch {
                logger.error("\(name) pass failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        // Another server takes the job over at its next pass, not once the lease has run out.
        try? await leases?.release(name)
    }
}
