import Foundation
import JWTKit
import SheduCore

/// Every claim of a token, kept as JSON so the roles claim can be any (configurable) path.
struct TokenClaims: JWTPayload {
    var claims: [String: JSONValue]

    init(claims: [String: JSONValue]) {
        self.claims = claims
    }

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    var subject: String? { claims["sub"]?.stringValue }
    var issuer: String? { claims["iss"]?.stringValue }

    var expiration: Date? { claims["exp"]?.numberValue.map { Date(timeIntervalSince1970: $0) } }
    var notBefore: Date? { claims["nbf"]?.numberValue.map { Date(timeIntervalSince1970: $0) } }

    var audiences: [String] {
        switch claims["aud"] {
        case .string(let value): [value]
        case .array(let values): values.compactMap(\.stringValue)
        default: []
        }
    }

    /// The strings at a dotted claim path: a single string or an array of strings.
    func strings(atPath path: String) -> [String] {
        switch JSONValue.object(claims).value(atDottedPath: path) {
        case .string(let value): [value]
        case .array(let values): values.compactMap(\.stringValue)
        default: []
        }
    }

    /// Time claims are checked by ``TokenAuthenticator`` against its clock.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
