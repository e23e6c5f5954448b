import ArgumentParser
import Foundation
import SheduCore
import SheduServer

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

/// A duration option's value (the flag, else the variable), refused below `minimum`, which the
/// message writes as `minimumText`.
func durationOption(
    _ flag: String?, _ variable: String, name: String, atLeast minimum: TimeDuration, _ minimumText: String, examples: String
) throws -> TimeDuration? {
    guard let text = resolved(flag, variable) else { return nil }
    guard let value = try? TimeDuration(parsing: text), value >= minimum else {
        throw ValidationError("\(name) must be a duration of at least \(minimumText) (e.g. \(examples)), not '\(text)'")
    }
    return value
}

/// `--public-url` (or `SHEDU_PUBLIC_URL`), checked: it is written into certificates.
func resolvedPublicURL(_ flag: String?) throws -> String? {
    let url = resolved(flag, "SHEDU_PUBLIC_URL")
    if let url, !ServerConfiguration.isPublicBaseURL(url) {
        throw ValidationError(
            "--public-url must be an http:// or https:// URL with a host and no query (it is written into certificates' CRL and OCSP addresses), not '\(url)'")
    }
    return url
}

/// `--roles-claim` (or `SHEDU_ROLES_CLAIM`, else `roles`), checked: a claim JWT registers would
/// be overwritten by the roles.
func resolvedRolesClaim(_ flag: String?) throws -> String {
    let claim = resolved(flag, "SHEDU_ROLES_CLAIM") ?? RolesClaim.standard
    if let problem = RolesClaim.problem(claim) { throw ValidationError(problem) }
    return claim
}

/// `--data-dir` (or `SHEDU_DATA_DIR`, or the default); an empty flag is refused rather than
/// making the working directory itself the data folder.
func dataDirectory(_ flag: String?) throws -> String {
    if flag?.isEmpty == true { throw ValidationError("--data-dir must not be empty") }
    return resolved(flag, "SHEDU_DATA_DIR") ?? "./shedu-data"
}

/// The data folder of a server that has started at least once: commands that sign with its keys
/// do not make a new folder, whose keys no running server would accept.
func existingDataFolder(_ flag: String?) throws -> DataFolder {
    let folder = DataFolder(path: try dataDirectory(flag))
    guard FileManager.default.fileExists(atPath: folder.tokenSigningKey.path) else {
        exitWithError(
            "\(folder.path.path) is not a Shedu data folder (it has no auth/signing-key.pem): give the server's --data-dir, or start `shedu serve` there once")
    }
    return folder
}
