import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import SheduCore
import SheduServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every Shedu service in this process (SQLite in the data folder unless told otherwise).")

    @Option(help: "Keys, TLS material and the SQLite file. [env: SHEDU_DATA_DIR, default: ./shedu-data]")
    var dataDir: String?

    @Option(help: "Address to bind. [env: SHEDU_HOST, default: 127.0.0.1]")
    var host: String?

    @Option(help: "HTTPS port: API, EST, OCSP, CRL. [env: SHEDU_PORT, default: 8443]")
    var port: Int?

    @Option(help: "Optional plain-HTTP port, for use behind a TLS-terminating proxy. [env: SHEDU_HTTP_PORT]")
    var httpPort: Int?

    @Option(help: "sqlite://<path> or postgres://user:pass@host:port/db. [env: SHEDU_DATABASE_URL]")
    var databaseURL: String?

    @Option(help: "Base URL written into certificates' CRL and OCSP URLs. [env: SHEDU_PUBLIC_URL]")
    var publicURL: String?

    @Option(help: "Accept tokens from this OIDC issuer. [env: SHEDU_OIDC_ISSUER]")
    var oidcIssuer: String?

    @Option(help: "The issuer's JWKS URL (found through discovery when absent). [env: SHEDU_OIDC_JWKS_URL]")
    var oidcJwksURL: String?

    @Option(help: "Audience OIDC tokens must name. [env: SHEDU_OIDC_AUDIENCE]")
    var oidcAudience: String?

    @Option(help: "Token claim (dotted path) carrying roles. [env: SHEDU_ROLES_CLAIM, default: roles]")
    var rolesClaim: String?

    @Flag(help: "On the plain-HTTP listener, take client certificates (EST devices, API clients) from a proxy's header; only when the proxy alone reaches that port. [env: SHEDU_TRUST_FORWARDED_CLIENT_CERT]")
    var trustForwardedClientCert = false

    @Option(help: "A CA (by id) whose certificates authenticate API clients; repeatable. [env: SHEDU_API_CLIENT_CA, comma-separated]")
    var apiClientCa: [String] = []

    @Option(help: "DMS answering the label-less EST paths. [env: SHEDU_EST_DEFAULT_DMS]")
    var estDefaultDms: String?

    @Option(help: "How often the expiry and device-window monitors run, e.g. 60s, 5m. [env: SHEDU_MONITOR_INTERVAL, default: 60s]")
    var monitorInterval: String?

    @Option(help: "Close connections that send and receive nothing for this long (at most twice as long), e.g. 90s, 5m. [env: SHEDU_IDLE_TIMEOUT, default: 90s]")
    var idleTimeout: String?

    @Option(help: "Close a connection whose request is not received in full this long after its first byte (a client sending a byte at a time), e.g. 30s. [env: SHEDU_REQUEST_TIMEOUT, default: 30s]")
    var requestTimeout: String?

    @Option(help: "Requests/s (and burst) per source address on EST, OCSP and CRL routes, RATE[/BURST] or off. [env: SHEDU_RATE_LIMIT_PUBLIC, default: 2000/4000]")
    var rateLimitPublic: String?

    @Option(help: "Requests/s (and burst) per authenticated client, RATE[/BURST] or off. [env: SHEDU_RATE_LIMIT_CLIENTS, default: off]")
    var rateLimitClients: String?

    @Option(help: "text or json. [env: SHEDU_LOG_FORMAT, default: text]")
    var logFormat: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. [env: SHEDU_LOG_LEVEL, default: info]")
    var logLevel: String?

    func run() async throws {
        // Whatever the server writes is its own: the database holds webhook credentials and
        // sealed keys, and a data folder an operator made (mkdir, a volume) may be 0755.
        umask(0o077)
        let configuration = try makeConfiguration()
        let format = configuration.logFormat
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            switch format {
            case .json: return JSONLogHandler(label: label, level: level)
            case .text: return TextLogHandler(label: label, level: level)
            }
        }
        var logger = Logger(label: "shedu")
        logger.logLevel = level
        do {
            // Each listener starts on its own; a busy port found by the second one came after the
            // first had said it listened, in an error naming both ports.
            for port in [configuration.port] + (configuration.httpPort.map { [$0] } ?? []) {
                if let refusal = Self.listenRefusal(host: configuration.host, port: port) { exitWithError(refusal) }
            }
            let app = try await buildApplication(configuration: configuration, logger: logger)
            try await app.runService()
        } catch {
            exitWithError(Self.describe(error, configuration: configuration))
        }
    }

    func makeConfiguration() throws -> ServerConfiguration {
        func number(_ flag: Int?, _ variable: String) throws -> Int? {
            if let flag { return flag }
            guard let text = resolved(nil, variable) else { return nil }
            guard let value = Int(text) else { throw ValidationError("\(variable) must be a port number, not '\(text)'") }
            return value
        }
        var configuration = ServerConfiguration()
        configuration.dataDirectory = try dataDirectory(dataDir)
        configuration.host = resolved(host, "SHEDU_HOST") ?? configuration.host
        configuration.port = try number(port, "SHEDU_PORT") ?? configuration.port
        configuration.httpPort = try number(httpPort, "SHEDU_HTTP_PORT")
        for (name, value) in [("--port", configuration.port), ("--http-port", configuration.httpPort ?? 1)]
        where !(1...65535).contains(value) {
            throw ValidationError("\(name) must be between 1 and 65535, not \(value)")
        }
        if configuration.httpPort == configuration.port {
            throw ValidationError("--http-port must differ from --port")
        }
        configuration.databaseURL = resolved(databaseURL, "SHEDU_DATABASE_URL")
        configuration.publicURL = try resolvedPublicURL(publicURL)
        if let issuer = resolved(oidcIssuer, "SHEDU_OIDC_ISSUER") {
            // Tokens name their issuer, and its keys are fetched from it: a URL with a host.
            guard let components = URLComponents(string: issuer), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
                components.host?.isEmpty == false
            else {
                throw ValidationError("--oidc-issuer must be the issuer's http:// or https:// URL, not '\(issuer)'")
            }
            configuration.oidc = .init(
                issuer: issuer, jwksURL: resolved(oidcJwksURL, "SHEDU_OIDC_JWKS_URL"),
                audience: resolved(oidcAudience, "SHEDU_OIDC_AUDIENCE"))
        } else if resolved(oidcJwksURL, "SHEDU_OIDC_JWKS_URL") != nil || resolved(oidcAudience, "SHEDU_OIDC_AUDIENCE") != nil {
            throw ValidationError("--oidc-jwks-url and --oidc-audience need --oidc-issuer")
        }
        configuration.rolesClaim = try resolvedRolesClaim(rolesClaim)
        configuration.trustForwardedClientCertificate =
            trustForwardedClientCert
            || ["1", "true", "yes"].contains(resolved(nil, "SHEDU_TRUST_FORWARDED_CLIENT_CERT")?.lowercased() ?? "")
        configuration.estDefaultDMS = resolved(estDefaultDms, "SHEDU_EST_DEFAULT_DMS")
        configuration.apiClientCAs =
            apiClientCa.isEmpty
            // SHEDU_API_CLIENT_CAS is the name of earlier versions.
            ? (resolved(nil, "SHEDU_API_CLIENT_CA") ?? resolved(nil, "SHEDU_API_CLIENT_CAS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            : apiClientCa
        if let interval = try durationOption(
            monitorInterval, "SHEDU_MONITOR_INTERVAL", name: "--monitor-interval", atLeast: .init(milliseconds: 100), "100ms",
            examples: "60s, 5m")
        {
            configuration.monitorInterval = interval
        }
        if let timeout = try durationOption(idleTimeout, "SHEDU_IDLE_TIMEOUT", name: "--idle-timeout", atLeast: .seconds(1), "1s", examples: "90s, 5m") {
            configuration.idleTimeout = timeout
        }
        if let timeout = try durationOption(
            requestTimeout, "SHEDU_REQUEST_TIMEOUT", name: "--request-timeout", atLeast: .seconds(1), "1s", examples: "30s, 2m")
        {
            configuration.requestTimeout = timeout
        }
        do {
            if let text = resolved(rateLimitPublic, "SHEDU_RATE_LIMIT_PUBLIC") {
                configuration.publicRateLimit = try RateLimit.parse(text, option: "--rate-limit-public")
            }
            if let text = resolved(rateLimitClients, "SHEDU_RATE_LIMIT_CLIENTS") {
                configuration.clientRateLimit = try RateLimit.parse(text, option: "--rate-limit-clients")
            }
        } catch let error as SheduError {
            throw ValidationError(error.message)
        }
        if let text = resolved(logFormat, "SHEDU_LOG_FORMAT") {
            guard let format = ServerConfiguration.LogFormat(rawValue: text.lowercased()) else {
                throw ValidationError("--log-format must be text or json, not '\(text)'")
            }
            configuration.logFormat = format
        }
        if let text = resolved(logLevel, "SHEDU_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = level
        }
        if let url = configuration.databaseURL, !url.hasPrefix("sqlite://"), !url.hasPrefix("postgres://"),
            !url.hasPrefix("postgresql://")
        {
            throw ValidationError("--database-url must start with sqlite:// or postgres://")
        }
        return configuration
    }

    /// Why the server could not listen on `host:port`, found by binding a socket there and closing
    /// it (with SO_REUSEADDR, as the listener binds); nil when it can, or when `host` does not
    /// resolve here (the listener then says why).
    static func listenRefusal(host: String, port: Int) -> String? {
        guard let address = try? SocketAddress.makeAddressResolvingHost(host, port: port) else { return nil }
        let descriptor = socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { pointer, size in bind(descriptor, pointer, socklen_t(size)) }
        guard bound != 0 else { return nil }
        let reason = errno == EADDRINUSE ? "address already in use" : String(cString: strerror(errno)).lowercased()
        return "cannot listen on \(host):\(port): \(reason)"
    }

    static func describe(_ error: any Error, configuration: ServerConfiguration) -> String {
        if let error = error as? SheduError { return error.message }
        if let error = error as? IOError {
            let ports = [configuration.port] + (configuration.httpPort.map { [$0] } ?? [])
            let addresses = ports.map { "\(configuration.host):\($0)" }.joined(separator: " or ")
            if error.errnoCode == EADDRINUSE { return "cannot listen on \(addresses): address already in use" }
            if error.errnoCode == EACCES { return "cannot listen on \(addresses): permission denied" }
            if error.errnoCode == EADDRNOTAVAIL { return "cannot listen on \(addresses): no such local address" }
            return "cannot listen on \(addresses): \(String(cString: strerror(error.errnoCode)))"
        }
        if let error = error as? SocketAddressError.UnknownHost {
            return "cannot listen on \(error.host):\(error.port): neither an address nor a name that resolves here"
        }
        if let error = error as? SocketAddressError {
            return "cannot listen on \(configuration.host): \(error)"
        }
        return "\(error)"
    }
}
