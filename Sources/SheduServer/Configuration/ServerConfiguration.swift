import Foundation
import Logging
import SheduCore

/// Everything `shedu serve` is told by its flags and environment (DESIGN.md, the `serve` contract).
public struct ServerConfiguration: Sendable {
    public enum LogFormat: String, Sendable, CaseIterable {
        case text
        case json
    }

    /// Accepting tokens from an external OIDC issuer (Keycloak, Auth0, ...).
    public struct OIDC: Sendable {
        public var issuer: String
        /// Where the issuer's keys are; found through the issuer's discovery document when nil.
        public var jwksURL: String?
        /// The audience tokens must name; not checked when nil.
        public var audience: String?
        /// Shortest time between two fetches of the JWKS caused by an unknown key id.
        public var refetchInterval: TimeInterval

        public init(issuer: String, jwksURL: String? = nil, audience: String? = nil, refetchInterval: TimeInterval = 30) {
            self.issuer = issuer
            self.jwksURL = jwksURL
            self.audience = audience
            self.refetchInterval = refetchInterval
        }
    }

    public var dataDirectory: String
    public var host: String
    public var port: Int
    public var httpPort: Int?
    public var databaseURL: String?
    public var publicURL: String?
    public var oidc: OIDC?
    /// The claim (a dotted path) that carries roles in tokens.
    public var rolesClaim: String
    public var trustForwardedClientCertificate: Bool
    /// CAs (by id) whose certificates authenticate API clients, besides those flagged in their metadata.
    public var apiClientCAs: [String]
    public var estDefaultDMS: String?
    /// Requests per source address on unauthenticated routes (EST, OCSP, CRL); nil is unlimited.
    public var publicRateLimit: RateLimit?
    /// Requests per authenticated client (token subject or client certificate); nil is unlimited.
    public var clientRateLimit: RateLimit?
    /// How often the certificate expiry and device window monitors run.
    public var monitorInterval: TimeDuration
    /// A connection that neither sends nor receives for this long (at most twice as long) is
    /// closed: a device that lost power without closing, or a client that never finishes its TLS
    /// handshake or request.
    public var idleTimeout: TimeDuration
    /// A request must arrive in full within this long of its first byte, or its connection is
    /// closed: a client sending a byte at a time (slowloris) is never idle.
    public var requestTimeout: TimeDuration
    public var logFormat: LogFormat
    public var logLevel: Logger.Level

    public init(
        dataDirectory: String = "./shedu-data", host: String = "127.0.0.1", port: Int = 8443, httpPort: Int? = nil,
        databaseURL: String? = nil, publicURL: String? = nil, oidc: OIDC? = nil, rolesClaim: String = RolesClaim.standard,
        trustForwardedClientCertificate: Bool = false, apiClientCAs: [String] = [], estDefaultDMS: String? = nil, monitorInterval: TimeDuration = .seconds(60),
        idleTimeout: TimeDuration = .seconds(90), requestTimeout: TimeDuration = .seconds(30), publicRateLimit: RateLimit? = ServerConfiguration.defaultPublicRateLimit, clientRateLimit: RateLimit? = nil,
        logFormat: LogFormat = .text,
        logLevel: Logger.Level = .info
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.httpPort = httpPort
        self.databaseURL = databaseURL
        self.publicURL = publicURL
        self.oidc = oidc
        self.rolesClaim = rolesClaim
        self.trustForwardedClientCertificate = trustForwardedClientCertificate
        self.apiClientCAs = apiClientCAs
        self.estDefaultDMS = estDefaultDMS
        self.monitorInterval = monitorInterval
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.publicRateLimit = publicRateLimit
        self.clientRateLimit = clientRateLimit
        self.logFormat = logFormat
        self.logLevel = logLevel
    }

    /// Generous: a gateway behind one address can ask OCSP about a whole site's devices.
    public static let defaultPublicRateLimit = RateLimit(rate: 2000, burst: 4000)

    /// `--database-url`, or the SQLite file in the data folder.
    public var resolvedDatabaseURL: String {
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        return "sqlite://" + URL(fileURLWithPath: dataDirectory).appendingPathComponent("shedu.sqlite").path
    }

    /// Whether a `--public-url` can prefix the CRL and OCSP addresses written into certificates.
    public static func isPublicBaseURL(_ text: String) -> Bool {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, url.user == nil,
            (url.port.map { (1...65535).contains($0) } ?? true),
            // As written into certificates: printable ASCII, no space, percent-escapes that decode.
            text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }), url.percentEncodedPath.removingPercentEncoding != nil
        else { return false }
        return true
    }

    /// `--public-url`, or `https://<host>:<port>` (a wildcard bind address becomes `localhost`).
    public var resolvedPublicURL: String {
        if let publicURL, !publicURL.isEmpty {
            return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        }
        let name = ["0.0.0.0", "::", ""].contains(host) ? "localhost" : host
        let bracketed = name.contains(":") ? "[\(name)]" : name
        return "https://\(bracketed):\(port)"
    }
}
