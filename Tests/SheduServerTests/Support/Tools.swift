import Foundation

/// Runs a command-line tool (openssl, pkilint, curl) and returns its exit status and output.
@discardableResult
func runTool(_ executable: String, _ arguments: [String], input: Data? = nil, in directory: URL? = nil) throws
    -> (status: Int32, output: String, errors: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    if let directory { process.currentDirectoryURL = directory }
    let output = Pipe()
    let errors = Pipe()
    let stdin = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(input) }
    try stdin.fileHandleForWriting.close()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
}

/// `openssl` with arguments, failing the test's expectations loudly if it fails.
func openssl(_ arguments: [String], input: Data? = nil, in directory: URL? = nil) throws -> String {
    let result = try runTool("openssl", arguments, input: input, in: directory)
    guard result.status == 0 else {
        throw TestFailure("openssl \(arguments.joined(separator: " ")) failed: \(result.errors)")
    }
    return result.output
}
