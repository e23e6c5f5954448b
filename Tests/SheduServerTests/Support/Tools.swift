import Foundation
import SheduTestSupport

/// Runs a command-line tool (openssl, pkilint, curl) and returns its exit status and output.
@discardableResult
func runTool(_ executable: String, _ arguments: [String], input: Data? = nil, in directory: URL? = nil) throws
    -> (status: Int32, output: String, errors: String)
{
    try ChildProcess.run(executable, arguments, input: input.map { [UInt8]($0) }, directory: directory?.path)
}

/// `openssl` with arguments, failing the test's expectations loudly if it fails.
func openssl(_ arguments: [String], input: Data? = nil, in directory: URL? = nil) throws -> String {
    let result = try runTool("openssl", arguments, input: input, in: directory)
    guard result.status == 0 else {
        throw TestFailure("openssl \(arguments.joined(separator: " ")) failed: \(result.errors)")
    }
    return result.output
}
