import Foundation
import SheduTestSupport

/// The built `shedu` executable, run as a user would run it.
struct SheduProcess {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var executable: URL {
        get throws {
            let candidates = [".build/debug/shedu", ".build/release/shedu"].map { packageRoot.appendingPathComponent($0) }
            guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw TestFailure("the shedu executable is not built; run `swift build` (scripts/test does)")
            }
            return found
        }
    }

    let process: ChildProcess
    let output: URL
    let errors: URL

    /// Starts `shedu` with `arguments` (in `directory`, else the tests' own); standard output and
    /// error go to files.
    static func start(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> SheduProcess {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SHEDU_") }
        env.merge(environment) { _, new in new }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shedu-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let output = folder.appendingPathComponent("stdout")
        let errors = folder.appendingPathComponent("stderr")
        let process = try ChildProcess(
            try executable.path, arguments, environment: env, directory: directory?.path, output: .file(output.path),
            errors: .file(errors.path))
        return SheduProcess(process: process, output: output, errors: errors)
    }

    /// Runs `shedu` to completion and returns its exit status, output and errors.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil, timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, output: String, errors: String) {
        let running = try start(arguments, environment: environment, directory: directory)
        try await running.waitForExit(timeout: timeout)
        let result = (running.process.waitUntilExit(), running.standardOutput, running.standardError)
        running.removeCapturedOutput()
        return result
    }

    var standardOutput: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

    func waitForExit(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.signal(SIGTERM)
                throw TestFailure("shedu did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Deletes the folder holding standard output and error, once they have been read.
    func removeCapturedOutput() {
        try? FileManager.default.removeItem(at: output.deletingLastPathComponent())
    }

    func signal(_ signal: Int32) {
        process.signal(signal)
    }
}
