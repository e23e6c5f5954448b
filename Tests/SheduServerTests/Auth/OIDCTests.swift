import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import ServiceLifecycle
import SheduCore
import Synchronization
import Testing
import _CryptoExtras

@testable import SheduServer

/// An OIDC issuer played by the test: a discovery document and a JWKS served over HTTP, and keys
/// to sign tokens with.
final class FakeIssuer: Sendable {
    let port: Int
    let ecKey = ES256PrivateKey()
    let rsaKey: JWTKit.Insecure.RSA.PrivateKey
    let rotatedKey = ES256PrivateKey()
    let published = Mutex<[JSONValue]>([])
    let jwksFetches = Mutex(0)

    var issuer: String { "http://127.0.0.1:\(port)/realms/lamassu" }

    init() throws {
        port = try freePort()
        rsaKey = try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        published.withLock { $0 = [Self.jwk(ecKey.publicKey, kid: "ec-1"), try! Self.jwk(rsaKey.publicKey, kid: "rsa-1")] }
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func jwk(_ key: ES256PublicKey, kid: String) -> JSONValue {
        let parameters = key.parameters!
        return ["kty": "EC", "crv": "P-256", "x": .string(parameters.x), "y": .string(parameters.y), "kid": .string(kid),
                "alg": "ES256", "use": "sig"]
    }

    static func jwk(_ key: JWTKit.Insecure.RSA.PublicKey, kid: String) throws -> JSONValue {
        let primitives = try key.getKeyPrimitives()
        return ["kty": "RSA", "n": .string(base64URL(primitives.modulus)), "e": .string(base64URL(primitives.publicExponent)),
                "kid": .string(kid), "alg": "RS256", "use": "sig"]
    }

    func publishRotatedKey() {
        published.withLock { $0.append(Self.jwk(rotatedKey.publicKey, kid: "ec-2")) }
    }

    func token(
        kid: String, issuer: String? = nil, audience: String = "shedu", roles: [String] = ["pki-admin"],
        expires: Date = Date().addingTimeInterval(600)
    ) async throws -> String {
        let keys = JWTKeyCollection()
        switch kid {
        case "rsa-1": await keys.add(rsa: rsaKey, digestAlgorithm: .sha256, kid: "rsa-1")
        case "ec-2": await keys.add(ecdsa: rotatedKey, kid: "ec-2")
        default: await keys.add(ecdsa: ecKey, kid: JWKIdentifier(string: kid))
        }
        let claims: [String: JSONValue] = [
            "iss": .string(issuer ?? self.issuer), "sub": "keycloak-user", "aud": .string(audience),
            "exp": .int(Int64(expires.timeIntervalSince1970)), "realm_access": ["roles": .array(roles.map { .string($0) })],
        ]
        return try await keys.sign(TokenClaims(claims: claims), kid: JWKIdentifier(string: kid))
    }

    func run(_ body: () async throws -> Void) async throws {
        let router = Router()
        let issuer = self.issuer
        router.get("/realms/lamassu/.well-known/openid-configuration") { _, _ in
            JSONValue.object(["issuer": .string(issuer), "jwks_uri": .string("\(issuer)/protocol/openid-connect/certs")])
                .jsonText()
        }
        router.get("/realms/lamassu/protocol/openid-connect/certs") { [self] _, _ in
            jwksFetches.withLock { $0 += 1 }
            return JSONValue.object(["keys": .array(published.withLock { $0 })]).jsonText()
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: app.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(200))
            do {
                try await body()
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
        }
    }
}

@Suite("OIDC tokens through the issuer's JWKS")
struct OIDCTests {
    @Test func acceptsES256AndRS256TokensAndFollowsKeyRotation() async throws {
        let fake = try FakeIssuer()
        try await fake.run {
            let app = try await TestApp.make {
                $0.oidc = .init(issuer: fake.issuer, audience: "shedu", refetchInterval: 0)
            }
            let ec = try await fake.token(kid: "ec-1")
            let rsa = try await fake.token(kid: "rsa-1", roles: ["viewer"])
            let wrongAudience = try await fake.token(kid: "ec-1", audience: "someone-else")
            let expired = try await fake.token(kid: "ec-1", expires: Date().addingTimeInterval(-3600))
            let rotated = try await fake.token(kid: "ec-2")
            let local = try await app.token(.viewer)
            try await app.withRouter { client in
                let profile = #"{"validity":{"type":"Duration","duration":"1d"}}"#
                #expect(try await client.send(.post, "/api/ca/v1/profiles", token: ec, json: profile).status == .created)
                #expect(try await client.send(.get, "/api/ca/v1/profiles", token: rsa).status == .ok)
                #expect(try await client.send(.post, "/api/ca/v1/profiles", token: rsa, json: profile).status == .forbidden)
                let audience = try await client.send(.get, "/api/ca/v1/profiles", token: wrongAudience)
                #expect(audience.status == .unauthorized)
                #expect(try audience.json()["err"] == "the bearer token is not issued for audience 'shedu'")
                #expect(try await client.send(.get, "/api/ca/v1/profiles", token: expired).status == .unauthorized)
                // Local tokens still work next to the issuer's.
                #expect(try await client.send(.get, "/api/ca/v1/profiles", token: local).status == .ok)
                // A key the issuer has not published yet is refused; once published, it is fetched.
                #expect(try await client.send(.get, "/api/ca/v1/profiles", token: rotated).status == .unauthorized)
                fake.publishRotatedKey()
                let afterRotation = try await client.send(.get, "/api/ca/v1/profiles", token: rotated)
                #expect(afterRotation.status == .ok, "\(afterRotation.text)")
                // Verified tokens are cached: asking again does not fetch the JWKS again.
                let fetches = fake.jwksFetches.withLock { $0 }
                for _ in 0..<5 { _ = try await client.send(.get, "/api/ca/v1/profiles", token: ec) }
                #expect(fake.jwksFetches.withLock { $0 } == fetches)
            }
            await app.cleanup()
        }
    }

    @Test func anUnreachableIssuerIsA503NotAnAcceptance() async throws {
        let port = try freePort()
        let app = try await TestApp.make {
            $0.oidc = .init(issuer: "http://127.0.0.1:\(port)/realms/x", jwksURL: "http://127.0.0.1:\(port)/jwks")
        }
        let fake = try FakeIssuer()
        let token = try await fake.token(kid: "ec-1", issuer: "http://127.0.0.1:\(port)/realms/x")
        try await app.withRouter { client in
            let response = try await client.send(.get, "/api/ca/v1/profiles", token: token)
            #expect(response.status == .serviceUnavailable)
            #expect(try response.json()["err"]?.stringValue?.contains("cannot fetch http://127.0.0.1:\(port)/jwks") == true)
        }
        await app.cleanup()
    }
}
