import AsyncHTTPClient
import Foundation
import JWTKit
import Logging
import NIOCore
import SheduCore

/// The signing keys of an external OIDC issuer, fetched from its JWKS and cached. A token signed
/// with a key id not seen yet triggers one refetch (at most every 30 seconds), so key rotation at
/// the issuer needs no restart.
actor OIDCKeySource {
    nonisolated let issuer: String
    private let configuredJWKSURL: String?
    private let audience: String?
    private let httpClient: HTTPClient
    private let logger: Logger
    private var keys = JWTKeyCollection()
    private var knownKeyIDs: Set<String> = []
    /// On the monotonic clock: a wall clock stepped back would otherwise hold off the refetch
    /// that a rotated key needs for as long as the step.
    private var lastFetch: ContinuousClock.Instant?
    private let refetchInterval: Duration
    private static let maximumAge: Duration = .seconds(3600)

    init(configuration: ServerConfiguration.OIDC, httpClient: HTTPClient, logger: Logger) {
        issuer = configuration.issuer
        configuredJWKSURL = configuration.jwksURL
        audience = configuration.audience
        refetchInterval = .seconds(configuration.refetchInterval)
        self.httpClient = httpClient
        self.logger = logger
    }

    func verify(_ token: String) async throws -> TokenClaims {
        if lastFetch.map({ ContinuousClock.now - $0 > Self.maximumAge }) ?? true {
            try await refresh()
        }
        // jwt-kit falls back to a default key for an unknown key id, so the id is checked here.
        if let keyID = Self.keyID(of: token), !knownKeyIDs.contains(keyID) {
            if let lastFetch, ContinuousClock.now - lastFetch >= refetchInterval {
                try await refresh()
            }
            guard knownKeyIDs.contains(keyID) else {
                throw SheduError.unauthorized("the bearer token is signed with key '\(keyID)', which the issuer does not publish")
            }
        }
        let claims = try await keys.verify(token, as: TokenClaims.self)
        if let audience, !claims.audiences.contains(audience) {
            throw SheduError.unauthorized("the bearer token is not issued for audience '\(audience)'")
        }
        return claims
    }

    private func refresh() async throws {
        let url = try await jwksURL()
        let document = try await fetch(url)
        let fresh = JWTKeyCollection()
        do {
            try await fresh.add(jwksJSON: String(decoding: document, as: UTF8.self))
        } catch {
            throw SheduError.unavailable("the JWKS at \(url) could not be read: \(error)")
        }
        keys = fresh
        knownKeyIDs = Set(
            (try? JSONValue.parse(String(decoding: document, as: UTF8.self), field: "JWKS"))?["keys"]?.arrayValue?
                .compactMap { $0["kid"]?.stringValue } ?? [])
        lastFetch = ContinuousClock.now
        logger.info("loaded OIDC signing keys", metadata: ["oidc.jwks": "\(url)"])
    }

    /// The `kid` of a token's header, without verifying anything.
    static func keyID(of token: String) -> String? {
        TokenAuthenticator.header(of: token)?["kid"]?.stringValue
    }

    private func jwksURL() async throws -> String {
        if let configuredJWKSURL { return configuredJWKSURL }
        let discovery = issuer.hasSuffix("/") ? "\(issuer).well-known/openid-configuration"
            : "\(issuer)/.well-known/openid-configuration"
        let document = try await fetch(discovery)
        guard case .object(let members) = try JSONValue.parse(String(decoding: document, as: UTF8.self), field: discovery),
            let url = members["jwks_uri"]?.stringValue
        else {
            throw SheduError.unavailable("the OIDC discovery document at \(discovery) names no jwks_uri")
        }
        return url
    }

    private func fetch(_ url: String) async throws -> Data {
        do {
            let response = try await httpClient.execute(HTTPClientRequest(url: url), timeout: .seconds(3))
            guard response.status == .ok else {
                throw SheduError.unavailable("\(url) answered HTTP \(response.status.code)")
            }
            let body = try await response.body.collect(upTo: 1 << 20)
            return Data(body.readableBytesView)
        } catch let error as SheduError {
            throw error
        } catch {
            throw SheduError.unavailable("cannot fetch \(url): \(error)")
        }
    }
}
