import ArgumentParser
import Foundation

@main
struct Shedu: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shedu",
        abstract: "IoT PKI and device identity: CAs, issuance, device inventory, EST, OCSP and CRLs.",
        subcommands: [Serve.self, Token.self, ClientCertificate.self],
        defaultSubcommand: Serve.self)
}

/// Prints a one-line error on standard error and exits, instead of a stack trace.
func exitWithError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("shedu: \(message)\n".utf8))
    exit(1)
}

/// A flag's value, else its environment variable, else the default (DESIGN.md: every flag of
/// `serve` has a `SHEDU_` variable).
func resolved(_ flag: String?, _ variable: String) -> String? {
    if let flag { return flag }
    if let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty { return value }
    return nil
}
