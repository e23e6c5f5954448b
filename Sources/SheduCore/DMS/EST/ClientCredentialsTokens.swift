import Foundation
import Synchronization

/// Access tokens of the OIDC client-credentials grant (RFC 6749 §4.4), for enrollment webhooks
/// that want a bearer token: the token endpoint comes from the provider's discovery document, and
/// a token is reused until 30 s before it expires.
final class ClientCredentialsTokens: Sendable {
    private struct Client: Hashable {
        var wellKnownURL: String
        var clientID: String
        var clientSecret: String
    }

    private let tokens = Mutex<[Client: (token: String, until: Date)]>([:])

    /// Why no token could be had, in words that name neither the secret nor the token.
    struct Failure: Error {
        var reason: String
    }

    func token(
        wellKnownURL: String, clientID: String, clientSecret: String, http: any OutboundHTTP, tls: OutboundTLS,
        timeout: TimeDuration, now: Date
    ) async throws -> String {
        let client = Client(wellKnownURL: wellKnownURL, clientID: clientID, clientSecret: clientSecret)
        if let kept = tokens.withLock({ $0[client] }), kept.until > now { return kept.token }

        let discovery = try await http.send(
            method: "GET", url: wellKnownURL, headers: [("Accept", "application/json")], body: nil, timeout: timeout, tls: tls)
        guard discovery.status == 200, let endpoint = Self.json(discovery.body)?["token_endpoint"]?.stringValue else {
            throw Failure(reason: "the discovery document at \(wellKnownURL) (HTTP \(discovery.status)) names no token_endpoint")
        }
        let form = [("grant_type", "client_credentials"), ("client_id", clientID), ("client_secret", clientSecret)]
            .map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? "")" }
            .joined(separator: "&")
        let answer = try await http.send(
            method: "POST", url: endpoint,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(form.utf8), timeout: timeout, tls: tls)
        let document = Self.json(answer.body)
        guard answer.status == 200, let token = document?["access_token"]?.stringValue, !token.isEmpty else {
            throw Failure(reason: "the token endpoint \(endpoint) answered HTTP \(answer.status) without an access_token")
        }
        let lifetime = document?["expires_in"]?.numberValue ?? 60
        tokens.withLock { $0[client] = (token, now.addingTimeInterval(max(0, lifetime - 30))) }
        return token
    }

    /// RFC 3986's unreserved characters, left as they are in a form value.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private static func json(_ body: [UInt8]) -> JSONValue? {
        try? JSONValue.parse(String(decoding: body, as: UTF8.self), field: "response")
    }
}
