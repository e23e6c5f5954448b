import ArgumentParser
import Foundation
import Logging
import SheduCore
import SheduServer

struct ClientCertificate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-cert", abstract: "Client certificates that authenticate machine clients of the API.",
        subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a key and certificate for an API client, written as <out>.pem and <out>-key.pem.")

        @Option(help: "The server's data folder. [env: SHEDU_DATA_DIR, default: ./shedu-data]")
        var dataDir: String?

        @Option(help: "sqlite://<path> or postgres://... as the server uses. [env: SHEDU_DATABASE_URL]")
        var databaseURL: String?

        @Option(help: "Who the certificate stands for (its subject CN).")
        var subject: String

        @Option(help: "admin, operator or viewer (written as urn:shedu:role:<role>).")
        var role: String

        @Option(help: "The API client CA that signs; a CA named shedu-api-clients is made and used when absent.")
        var ca: String?

        @Option(help: "How long the certificate lives, e.g. 90d, 1y.")
        var ttl: String = "90d"

        @Option(help: "Path prefix of the files written (default: the subject).")
        var out: String?

        @Option(help: "The server's --public-url, written into the certificate's CRL and OCSP addresses. [env: SHEDU_PUBLIC_URL]")
        var publicURL: String?

        func validate() throws {
            guard Role(claimValue: role) != nil, role.lowercased() != "pki-admin" else {
                throw ValidationError("--role must be admin, operator or viewer, not '\(role)'")
            }
            guard !subject.isEmpty else { throw ValidationError("--subject must not be empty") }
            do {
                _ = try TimeDuration(parsing: ttl, field: "--ttl")
            } catch let error as SheduError {
                throw ValidationError(error.message)
            }
            _ = try resolvedPublicURL(publicURL)
        }

        func run() async throws {
            var configuration = ServerConfiguration()
            configuration.dataDirectory = try existingDataFolder(dataDir).path.path
            configuration.databaseURL = resolved(databaseURL, "SHEDU_DATABASE_URL")
            configuration.publicURL = try resolvedPublicURL(publicURL)
            var logger = Logger(label: "shedu")
            logger.logLevel = .error
            do {
                let prefix = out ?? subject.replacingOccurrences(of: "/", with: "_")
                // Before issuing: a certificate whose key could not be written would be of no use.
                let folder = URL(fileURLWithPath: "\(prefix).pem").deletingLastPathComponent().path
                guard access(folder, W_OK) == 0 else {
                    exitWithError("cannot write to \(folder): \(String(cString: strerror(errno)).lowercased())")
                }
                let issued = try await APIClientCredentials.issue(
                    configuration: configuration, subject: subject, role: Role(claimValue: role)!, caID: ca,
                    lifetime: try TimeDuration(parsing: ttl, field: "--ttl"), logger: logger)
                do {
                    try Data(issued.certificatePEM.utf8).write(to: URL(fileURLWithPath: "\(prefix).pem"))
                } catch {
                    exitWithError("cannot write \(prefix).pem: \(SheduError.reason(ofFileError: error))")
                }
                let keyFile = "\(prefix)-key.pem"
                guard
                    FileManager.default.createFile(
                        atPath: keyFile, contents: Data(issued.keyPEM.utf8), attributes: [.posixPermissions: 0o600])
                else {
                    exitWithError("cannot write \(keyFile)")
                }
                print("\(prefix).pem: certificate \(issued.serialNumber) from CA '\(issued.caID)', role \(role)")
                print("\(keyFile): its private key (mode 0600)")
            } catch let error as SheduError {
                exitWithError(error.message)
            } catch {
                exitWithError("\(error)")
            }
        }
    }
}
