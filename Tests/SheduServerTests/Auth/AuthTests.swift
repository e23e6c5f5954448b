import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import Testing

@testable import SheduServer

@Suite("Bearer tokens and roles")
struct AuthTests {
    static let profile = #"{"validity":{"type":"Duration","duration":"1d"}}"#

    @Test func missingAndBadTokensAre401() async throws {
        let app = try await TestApp.make()
        let foreignKey = P256.Signing.PrivateKey().pemRepresentation
        let foreign = try await LocalTokenIssuer.makeToken(
            signingKeyPEM: foreignKey, subject: "mallory", role: .admin, lifetime: .seconds(600))
        let expired = try await LocalTokenIssuer.makeToken(
            signingKeyPEM: try app.dataFolder.readSigningKeyAfterPrepare(host: app.configuration.host), subject: "old",
            role: .admin, lifetime: .seconds(60), now: Date().addingTimeInterval(-7200))
        // Signed with the data folder's key, but with a header Shedu must refuse (RFC 7515
        // §4.1.11, RFC 8725 §3.1).
        let signingKeyPEM = try app.dataFolder.readSigningKeyAfterPrepare(host: app.configuration.host)
        let genuine = try await LocalTokenIssuer.makeToken(signingKeyPEM: signingKeyPEM, subject: "alice", role: .admin, lifetime: .seconds(600))
        func resigned(header: String) throws -> String {
            let base64URL = { (data: Data) in
                data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: "")
            }
            let input = base64URL(Data(header.utf8)) + "." + genuine.split(separator: ".")[1]
            let signature = try P256.Signing.PrivateKey(pemRepresentation: signingKeyPEM).signature(for: Data(input.utf8))
            return input + "." + base64URL(signature.rawRepresentation)
        }
        let critical = try resigned(header: #"{"alg":"ES256","typ":"JWT","crit":["exp-ext"],"exp-ext":1}"#)
        let mislabelled = try resigned(header: #"{"alg":"ES384","typ":"JWT"}"#)
        #expect(try await TokenAuthenticator(
            localPublicKeyPEM: try P256.Signing.PrivateKey(pemRepresentation: signingKeyPEM).publicKey.pemRepresentation,
            rolesClaim: "roles", oidc: nil, clock: SystemClock()
        ).authenticate(bearer: try resigned(header: #"{"alg":"ES256","typ":"JWT"}"#)).subject == "alice", "re-signing itself keeps a token valid")
        try await app.withRouter { client in
            let cases: [(HTTPFields, String)] = [
                ([.authorization: "Bearer \(critical)"], "the bearer token's header lists critical extensions (crit)"),
                ([.authorization: "Bearer \(mislabelled)"], "the bearer token's header must name alg ES256"),
                ([:], "a bearer token is required"),
                ([.authorization: "Basic YTpi"], "the Authorization header must be 'Bearer <token>'"),
                ([.authorization: "Bearer not-a-jwt"], "the bearer token is not valid"),
                ([.authorization: "Bearer \(foreign)"], "the bearer token is not valid"),
                ([.authorization: "Bearer \(expired)"], "the bearer token expired at"),
            ]
            for (headers, message) in cases {
                let response = try await client.executeRequest(uri: "/api/ca/v1/profiles", method: .get, headers: headers, body: nil)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                #expect(try response.json()["err"]?.stringValue?.hasPrefix(message) == true, "\(message)")
            }
        }
        await app.cleanup()
    }

    @Test func rolesDecideWhatMayBeDone() async throws {
        let app = try await TestApp.make()
        let viewer = try await app.token(.viewer)
        let operatorToken = try await app.token(.operator)
        try await app.withRouter { client in
            #expect(try await client.send(.get, "/api/ca/v1/profiles", token: viewer).status == .ok)
            let refused = try await client.send(.post, "/api/ca/v1/profiles", token: viewer, json: Self.profile)
            #expect(refused.status == .forbidden)
            #expect(try refused.json()["err"] == "role 'viewer' may not POST /api/ca/v1/profiles; it needs 'operator'")
            #expect(try await client.send(.post, "/api/ca/v1/profiles", token: operatorToken, json: Self.profile).status == .created)
        }
        await app.cleanup()
    }

    @Test func rolesComeFromTheConfiguredClaimOrKeycloak() async throws {
        let app = try await TestApp.make { $0.rolesClaim = "app.groups" }
        let key = try app.dataFolder.readSigningKeyAfterPrepare(host: app.configuration.host)
        let groups = try await LocalTokenIssuer.makeToken(
            signingKeyPEM: key, subject: "svc", role: .operator, lifetime: .seconds(600), rolesClaim: "app.groups")
        let keycloak = try await LocalTokenIssuer.makeToken(
            signingKeyPEM: key, subject: "kc", role: .admin, lifetime: .seconds(600), rolesClaim: "realm_access.roles")
        let wrongClaim = try await LocalTokenIssuer.makeToken(
            signingKeyPEM: key, subject: "nobody", role: .admin, lifetime: .seconds(600), rolesClaim: "roles")
        try await app.withRouter { client in
            #expect(try await client.send(.post, "/api/ca/v1/profiles", token: groups, json: Self.profile).status == .created)
            #expect(try await client.send(.post, "/api/ca/v1/profiles", token: keycloak, json: Self.profile).status == .created)
            let none = try await client.send(.get, "/api/ca/v1/profiles", token: wrongClaim)
            #expect(none.status == .forbidden)
            #expect(try none.json()["err"]?.stringValue?.contains("carries no Shedu role") == true)
        }
        await app.cleanup()
    }

    @Test func pkiAdminCountsAsAdmin() {
        #expect(Role(claimValue: "pki-admin") == .admin)
        #expect(Role(claimValue: "Operator") == .operator)
        #expect(Role(claimValue: "root") == nil)
    }

    @Test func tokensNeverReachTheLogs() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            _ = try await client.send(.post, "/api/ca/v1/profiles", token: token, json: Self.profile)
            _ = try await client.send(.get, "/api/ca/v1/profiles", token: token)
            _ = try await client.send(.get, "/api/ca/v1/profiles", token: token + "x")
        }
        let lines = app.logs.all
        #expect(lines.contains { $0.contains("POST /api/ca/v1/profiles 201") && $0.contains("auth.subject=tester") })
        let signature = String(token.split(separator: ".").last!)
        #expect(!lines.contains { $0.contains(signature) })
        await app.cleanup()
    }
}

extension DataFolder {
    func readSigningKeyAfterPrepare(host: String) throws -> String {
        try prepare(serverNames: DataFolder.serverNames(host: host))
        return try read(tokenSigningKey)
    }
}
