import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import SheduCore
import SheduTestSupport
import Synchronization

@testable import SheduServer

/// A Shedu server for one test: its own data folder and database, built by the same
/// `buildApplication` that `shedu serve` runs.
struct TestApp {
    let folder: URL
    let scratch: ScratchDatabase
    var configuration: ServerConfiguration
    let logs: LogCapture
    var clock: any WallClock = SystemClock()

    static func make(
        _ backend: TestBackend = .sqlite, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> TestApp {
        let folder = try makeTemporaryFolder()
        let scratch = try await ScratchDatabase.make(backend)
        var configuration = ServerConfiguration(
            dataDirectory: folder.appendingPathComponent("data").path, port: try freePort(), databaseURL: scratch.url)
        configure(&configuration)
        return TestApp(folder: folder, scratch: scratch, configuration: configuration, logs: LogCapture())
    }

    var dataFolder: DataFolder { DataFolder(path: configuration.dataDirectory) }

    var logger: Logger {
        var logger = Logger(label: "shedu-test") { _ in CapturingLogHandler(capture: logs) }
        logger.logLevel = .debug
        return logger
    }

    /// A token signed with the data folder's key (made on first use, as `shedu token create` does).
    func token(_ role: Role, subject: String = "tester", lifetime: TimeDuration = .seconds(3600)) async throws -> String {
        try dataFolder.prepare(serverNames: DataFolder.serverNames(host: configuration.host))
        return try await LocalTokenIssuer.makeToken(
            signingKeyPEM: try dataFolder.read(dataFolder.tokenSigningKey), subject: subject, role: role,
            lifetime: lifetime, rolesClaim: configuration.rolesClaim)
    }

    /// Runs `body` against the router, without sockets.
    func withRouter(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await withRouter { client, _ in try await body(client) }
    }

    /// Runs `body` against the router, with the services behind it (to run a background job's pass).
    func withRouter(_ body: @escaping @Sendable (any TestClientProtocol, SheduServices) async throws -> Void) async throws {
        let server = try await buildServer(configuration: configuration, logger: logger, clock: clock)
        do {
            try await server.application.test(.router) { client in try await body(client, server.services) }
        } catch {
            // A failed test must still close the database (the framework's shutdown may not run).
            await server.services.database.close()
            throw error
        }
    }

    /// Runs the real server (TLS listener and all) in this process and gives `body` a client that
    /// trusts the data folder's CA.
    func withLiveServer(_ body: @escaping @Sendable (LiveClient) async throws -> Void) async throws {
        let app = try await buildApplication(configuration: configuration, logger: logger, clock: clock)
        let serviceGroup = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let client = try LiveClient(
            baseURL: "https://localhost:\(configuration.port)",
            httpBaseURL: configuration.httpPort.map { "http://127.0.0.1:\($0)" },
            caCertificatePath: dataFolder.caCertificate.path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serviceGroup.run() }
            do {
                try await client.waitUntilReady()
                try await body(client)
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                try? await client.shutdown()
                throw error
            }
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            try await client.shutdown()
        }
    }

    func cleanup() async {
        await scratch.drop()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// An HTTPS client for a live test server.
struct LiveClient: Sendable {
    let baseURL: String
    let httpBaseURL: String?
    let http: HTTPClient

    init(baseURL: String, httpBaseURL: String?, caCertificatePath: String, identity: (certificatePEM: String, keyPEM: String)? = nil) throws {
        self.baseURL = baseURL
        self.httpBaseURL = httpBaseURL
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caCertificatePath)
        if let identity {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(identity.certificatePEM.utf8)).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(identity.keyPEM.utf8), format: .pem))
        }
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        func json() throws -> JSONValue { try JSONValue.parse(text, field: "response") }
    }

    func request(
        _ method: HTTPMethod, _ path: String, token: String? = nil, body: String? = nil,
        headers: [(String, String)] = [], plainHTTP: Bool = false
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: (plainHTTP ? httpBaseURL! : baseURL) + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Reply(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Data(collected.readableBytesView))
    }

    func waitUntilReady() async throws {
        for _ in 0..<200 {
            if let reply = try? await request(.GET, "/health"), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("the server did not answer /health")
    }

    func shutdown() async throws {
        try await http.shutdown()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A port for a test listener that nothing else takes before the listener binds it.
///
/// A port bound to 0 and released (as this did before) is an ephemeral port: the kernel hands it
/// to the next outgoing connection of any test, and a listener that then cannot bind stops its
/// server's services, the database with them (a CI run failed so, with 500s from a closed
/// database). These ports come from below the ephemeral range, each once per test process, and
/// are checked free when handed out.
func freePort() throws -> Int {
    for _ in 0..<TestPorts.range.count {
        let port = TestPorts.next()
        if TestPorts.isFree(port) { return port }
    }
    throw TestFailure("no free port in \(TestPorts.range)")
}

enum TestPorts {
    /// The 10,000 ports below the kernel's ephemeral range (32768-60999 by default).
    static let range: Range<Int> = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let ephemeralStart = text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
        let upper = max(ephemeralStart, 11_024)
        return (upper - 10_000)..<upper
    }()

    /// Where this process starts in the range, so that two test processes seldom meet.
    private static let offset = Int.random(in: 0..<range.count)
    private static let handedOut = Atomic<Int>(0)

    static func next() -> Int {
        let index = handedOut.wrappingAdd(1, ordering: .relaxed).oldValue
        return range.lowerBound + (offset + index) % range.count
    }

    /// Nothing listens on it, and it is not waiting to close.
    static func isFree(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = loopbackAddress(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// The IPv4 loopback address with `port` (0: the kernel chooses), for tests' own sockets.
/// A TCP socket connected to `port` on loopback, tried for up to 10 s (a listener still
/// starting, a loaded machine), whose reads time out after 200 ms. The caller closes it.
func connectedLoopbackSocket(port: Int) throws -> Int32 {
    var address = loopbackAddress(port: port)
    for _ in 0..<500 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        if connected {
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return descriptor
        }
        close(descriptor)
        usleep(20_000)
    }
    throw TestFailure("cannot connect to port \(port)")
}

func loopbackAddress(port: Int = 0) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return address
}

extension TestResponse {
    var text: String { String(buffer: body) }
    func json() throws -> JSONValue { try JSONValue.parse(text, field: "response") }
}

extension TestClientProtocol {
    /// A request with a bearer token and a JSON body.
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await executeRequest(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}
