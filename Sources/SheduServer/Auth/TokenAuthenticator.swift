import Foundation
import JWTKit
import Logging
import SheduCore
import SheduPKI
import Synchronization

/// Checks bearer tokens: ES256 tokens signed with the data folder's key, and, when configured,
/// tokens of an external OIDC issuer through its JWKS. A verified token is cached until it
/// expires, so a request does not pay a signature check each time.
final class TokenAuthenticator: Sendable {
    static let localIssuer = "shedu"
    /// Allowed clock difference with other token issuers.
    static let leeway: TimeInterval = 60
    static let cacheLimit = 10_000

    private let localKeys: JWTKeyCollection
    private let oidc: OIDCKeySource?
    private let rolesClaim: String
    private let clock: any WallClock
    private let cache = Mutex<[String: (principal: Principal, expires: Date)]>([:])

    init(localPublicKeyPEM: String, rolesClaim: String, oidc: OIDCKeySource?, clock: any WallClock) async throws {
        localKeys = JWTKeyCollection()
        await localKeys.add(ecdsa: try ES256PublicKey(pem: localPublicKeyPEM))
        self.oidc = oidc
        self.rolesClaim = rolesClaim
        self.clock = clock
    }

    /// The caller a token stands for; 401 for a token that is not valid, 403 for one without a role.
    func authenticate(bearer token: String) async throws -> Principal {
        if let principal = cachedPrincipal(bearer: token) { return principal }
        let now = clock.now()
        let claims: TokenClaims
        let method: Principal.Method
        do {
            let unverified = try await localKeys.unverified(token, as: TokenClaims.self)
            if let oidc, unverified.issuer == oidc.issuer {
                try Self.checkHeader(of: token, expectedAlgorithm: nil)
                claims = try await oidc.verify(token)
                method = .oidcToken
            } else {
                try Self.checkHeader(of: token, expectedAlgorithm: "ES256")
                claims = try await localKeys.verify(token, as: TokenClaims.self)
                method = .localToken
            }
        } catch let error as SheduError {
            throw error
        } catch {
            throw SheduError.unauthorized("the bearer token is not valid: its signature or format was refused")
        }
        guard let expiration = claims.expiration else {
            throw SheduError.unauthorized("the bearer token has no expiry (exp)")
        }
        guard expiration.addingTimeInterval(Self.leeway) > now else {
            throw SheduError.unauthorized("the bearer token expired at \(RFC3339.format(expiration))")
        }
        if let notBefore = claims.notBefore, notBefore.addingTimeInterval(-Self.leeway) > now {
            throw SheduError.unauthorized("the bearer token is not valid before \(RFC3339.format(notBefore))")
        }
        let principal = try principal(of: claims, method: method)
        cache.withLock { entries in
            if entries.count >= Self.cacheLimit {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= Self.cacheLimit { entries.removeAll() }
            }
            entries[token] = (principal, expiration)
        }
        return principal
    }

    /// The caller of a token verified before and not expired yet, without checking it again; nil
    /// for any other token (``authenticate(bearer:)`` then decides).
    func cachedPrincipal(bearer token: String) -> Principal? {
        guard let cached = cache.withLock({ $0[token] }), cached.expires > clock.now() else { return nil }
        return cached.principal
    }

    /// A token's JWS header, without verifying anything; nil unless it is base64url of a JSON object.
    static func header(of token: String) -> [String: JSONValue]? {
        guard let encoded = token.split(separator: ".", maxSplits: 1).first,
            let data = Data(base64Encoded: PEMText.base64URLToStandard(String(encoded))),
            case .object(let header)? = try? JSONValue.parse(String(decoding: data, as: UTF8.self), field: "header")
        else { return nil }
        return header
    }

    /// Refuses a JWS header listing critical extensions (RFC 7515 §4.1.11: Shedu implements none)
    /// or, for Shedu's own tokens, naming another algorithm than they are signed with (RFC 8725 §3.1).
    static func checkHeader(of token: String, expectedAlgorithm: String?) throws {
        guard let header = header(of: token) else {
            throw SheduError.unauthorized("the bearer token is not valid: its header is not base64url JSON")
        }
        if header["crit"] != nil {
            throw SheduError.unauthorized("the bearer token's header lists critical extensions (crit), which Shedu does not implement")
        }
        if let expectedAlgorithm, header["alg"] != .string(expectedAlgorithm) {
            throw SheduError.unauthorized("the bearer token's header must name alg \(expectedAlgorithm), the algorithm of Shedu's tokens")
        }
    }

    /// The token of an `Authorization` header value `Bearer <token>` (the scheme in any case).
    static func bearerToken(in authorization: String) -> String? {
        guard authorization.utf8.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return nil }
        return String(authorization.dropFirst(7))
    }

    private func principal(of claims: TokenClaims, method: Principal.Method) throws -> Principal {
        guard let subject = claims.subject, !subject.isEmpty else {
            throw SheduError.unauthorized("the bearer token has no subject (sub)")
        }
        let names = claims.strings(atPath: rolesClaim) + claims.strings(atPath: "realm_access.roles")
        guard let role = names.compactMap(Role.init(claimValue:)).max() else {
            throw SheduError.forbidden(
                "the token of '\(subject)' carries no Shedu role (admin, operator or viewer) in claim '\(rolesClaim)'")
        }
        return Principal(subject: subject, role: role, method: method)
    }
}

/// The token claim that carries roles (`--roles-claim`).
public enum RolesClaim {
    /// The claim when none is configured.
    public static let standard = "roles"

    /// Claims JWT registers (RFC 7519 §4.1): roles put there would overwrite them.
    static let registeredClaims: Set<String> = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]

    /// Why `path` cannot name it, or nil: a claim name or a dotted path of them
    /// (realm_access.roles), not one JWT registers.
    public static func problem(_ path: String) -> String? {
        let names = path.split(separator: ".", omittingEmptySubsequences: false)
        if names.contains(where: \.isEmpty) {
            return "--roles-claim must be a claim name or a dotted path of them (such as roles or realm_access.roles), not '\(path)'"
        }
        if let first = names.first, registeredClaims.contains(String(first)) {
            return "--roles-claim '\(path)' is a claim JWT registers (\(registeredClaims.sorted().joined(separator: ", "))); name another"
        }
        return nil
    }
}

/// Makes the tokens `shedu token create` prints.
public enum LocalTokenIssuer {
    public static func makeToken(
        signingKeyPEM: String, subject: String, role: Role, lifetime: TimeDuration, rolesClaim: String = RolesClaim.standard,
        now: Date = Date()
    ) async throws -> String {
        let keys = JWTKeyCollection()
        let key: ES256PrivateKey
        do {
            key = try ES256PrivateKey(pem: signingKeyPEM)
        } catch {
            throw SheduError.unavailable("the data folder's token signing key (auth/signing-key.pem) is not a P-256 private key in PEM")
        }
        await keys.add(ecdsa: key)
        var claims: [String: JSONValue] = [
            "sub": .string(subject), "iss": .string(TokenAuthenticator.localIssuer),
            "iat": .int(Int64(now.timeIntervalSince1970)),
            "exp": .int(Int64(now.addingTimeInterval(lifetime.timeInterval).timeIntervalSince1970)),
            "jti": .string(RandomUUID.lowercased()),
        ]
        // The roles claim may be a dotted path such as realm_access.roles.
        let path = rolesClaim.split(separator: ".").map(String.init)
        var value: JSONValue = .array([.string(role.rawValue)])
        for key in path.dropFirst().reversed() { value = .object([key: value]) }
        claims[path.first ?? RolesClaim.standard] = value
        return try await keys.sign(TokenClaims(claims: claims))
    }
}
