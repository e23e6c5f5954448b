import ArgumentParser
import Foundation
import SheduCore
import SheduServer

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bearer tokens signed with the data folder's key.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one JWT and nothing else.")

        @Option(help: "The server's data folder. [env: SHEDU_DATA_DIR, default: ./shedu-data]")
        var dataDir: String?

        @Option(help: "Who the token stands for (its sub claim).")
        var subject: String

        @Option(help: "admin, operator or viewer.")
        var role: String

        @Option(help: "How long the token lives, e.g. 24h, 30d, 1y.")
        var ttl: String = "24h"

        @Option(help: "Token claim (dotted path) carrying roles. [env: SHEDU_ROLES_CLAIM, default: roles]")
        var rolesClaim: String?

        func validate() throws {
            guard Role(claimValue: role) != nil, role.lowercased() != "pki-admin" else {
                throw ValidationError("--role must be admin, operator or viewer, not '\(role)'")
            }
            guard !subject.isEmpty else { throw ValidationError("--subject must not be empty") }
            _ = try resolvedRolesClaim(rolesClaim)
            do {
                let lifetime = try TimeDuration(parsing: ttl, field: "--ttl")
                guard lifetime.milliseconds > 0 else { throw ValidationError("--ttl must be longer than 0") }
            } catch let error as SheduError {
                throw ValidationError(error.message)
            }
        }

        func run() async throws {
            do {
                let folder = try existingDataFolder(dataDir)
                let token = try await LocalTokenIssuer.makeToken(
                    signingKeyPEM: try folder.read(folder.tokenSigningKey), subject: subject,
                    role: Role(claimValue: role)!, lifetime: try TimeDuration(parsing: ttl, field: "--ttl"),
                    rolesClaim: try resolvedRolesClaim(rolesClaim))
                print(token)
            } catch let error as SheduError {
                exitWithError(error.message)
            }
        }
    }
}
