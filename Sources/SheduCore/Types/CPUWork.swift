import Dispatch

/// Runs CPU-bound work — checking and making signatures — on Dispatch's threads, so the
/// cooperative pool stays free for the continuations of I/O: the single database writer then
/// resumes at once instead of waiting behind dozens of signatures.
public enum CPUWork {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
