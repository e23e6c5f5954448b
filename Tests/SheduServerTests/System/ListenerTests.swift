import Foundation
import SheduCore
import SheduPKI
import Testing
import X509
import Crypto

@testable import SheduServer

@Suite("Listeners: HTTPS with optional client certificates, and plain HTTP")
struct ListenerTests {
    @Test func httpsAndTheOptionalHTTPListenerServeTheSameRoutes() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let token = try await app.token(.viewer)
        try await app.withLiveServer { client in
            let health = try await client.request(.GET, "/health")
            #expect(health.status == 200)
            #expect(try health.json()["health"] == true)
            #expect(try await client.request(.GET, "/api/ca/v1/profiles", token: token).status == 200)
            #expect(try await client.request(.GET, "/api/ca/v1/profiles").status == 401)
            let plain = try await client.request(.GET, "/api/ca/v1/profiles", token: token, plainHTTP: true)
            #expect(plain.status == 200)
        }
        await app.cleanup()
    }

    /// A client that asks the server to close (`Connection: close`) and then drops the TCP
    /// connection without TLS's close_notify, as curl does: the server's side closes at once, not
    /// after NIOSSL's default 5 s with the connection and its TLS state held all that time.
    @Test func connectionsTheServerClosesDoNotLinger() async throws {
        let app = try await TestApp.make()
        let port = app.configuration.port
        let caFile = app.dataFolder.caCertificate.path
        try await app.withLiveServer { _ in
            for _ in 0..<3 {
                let result = try await FastPathTests.onOwnThread {
                    try runTool(
                        "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", caFile, "-H", "Connection: close",
                                 "https://localhost:\(port)/health"])
                }
                #expect(result.output == "200")
            }
            var lingering = try Self.socketsInCloseWait(port: port)
            let deadline = ContinuousClock.now + .seconds(2)
            while lingering > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                lingering = try Self.socketsInCloseWait(port: port)
            }
            #expect(lingering == 0, "connections the client closed are still open on the server")
        }
        await app.cleanup()
    }

    /// A connection on which nothing is sent or received for the idle timeout is closed, on both
    /// listeners (on HTTPS, a TLS handshake that never starts); one kept busy by fast-path
    /// requests stays open across the timeout and is closed once it goes quiet.
    @Test func idleConnectionsAreClosed() async throws {
        let app = try await TestApp.make {
            $0.httpPort = try? freePort()
            $0.idleTimeout = .seconds(1)
        }
        let health = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        try await app.withLiveServer { _ in
            // Closed after one to two timeouts; the margin is for a loaded CI machine. Timed on the
            // socket's own thread, so that a busy task pool does not count.
            for port in [app.configuration.port, app.configuration.httpPort!] {
                let (silent, open) = try await FastPathTests.onOwnThread {
                    let start = ContinuousClock.now
                    return (try FastPathTests.blockingExchange(port: port, "", seconds: 30), ContinuousClock.now - start)
                }
                #expect(silent.isEmpty)
                #expect(open < .seconds(20), "port \(port): an idle connection stayed open")
            }
            // Two requests 0.7 s apart, then quiet: both answered, then closed by the server.
            let (first, second, open) = try await FastPathTests.onOwnThread {
                let start = ContinuousClock.now
                let (first, second) = try FastPathTests.blockingExchange(
                    port: app.configuration.httpPort!, health, seconds: 0.7, thenSend: health, seconds: 30)
                return (first, second, ContinuousClock.now - start)
            }
            #expect(first.contains(SystemRoutes.healthBody) && second.contains(SystemRoutes.healthBody), "\(first) \(second)")
            #expect(open < .seconds(20), "the connection was not closed once idle")
        }
        await app.cleanup()
    }

    /// A request sent a byte at a time (slowloris) is never idle: its connection is closed once
    /// the request timeout has passed since its first byte. It stayed open as long as the bytes
    /// came. A slow request that arrives within the timeout is answered.
    @Test func aRequestTrickledByteByByteIsCutOffAtTheRequestTimeout() async throws {
        let app = try await TestApp.make {
            $0.httpPort = try? freePort()
            $0.idleTimeout = .seconds(60)
            $0.requestTimeout = .seconds(1)
        }
        let port = app.configuration.httpPort!
        try await app.withLiveServer { _ in
            let endless = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + String(repeating: "a", count: 400)
            let (cutOffAfter, unanswered) = try await FastPathTests.onOwnThread {
                try Self.trickle(endless, to: port, secondsPerByte: 0.05)
            }
            #expect(unanswered.isEmpty, "\(unanswered)")
            #expect(cutOffAfter.map { $0 < .seconds(12) } == true, "a trickled request kept its connection open: \(String(describing: cutOffAfter))")

            // 34 bytes in about 0.35 s: within the timeout.
            let (_, answered) = try await FastPathTests.onOwnThread {
                try Self.trickle("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", to: port, secondsPerByte: 0.01)
            }
            #expect(answered.hasPrefix("HTTP/1.1 200"), "\(answered)")

        }
        await app.cleanup()
    }

    /// A request answered before its body was read (401), whose body comes after the answer, is
    /// read in full well within the request timeout: the connection then waits for its next
    /// request as long as the idle timeout allows. The body's bytes after the answer started a
    /// deadline no answer would end, and the connection was closed at the request timeout.
    @Test func aBodyArrivingAfterAnEarlyAnswerKeepsTheConnection() async throws {
        let app = try await TestApp.make {
            $0.httpPort = try? freePort()
            $0.idleTimeout = .seconds(60)
            $0.requestTimeout = .seconds(3)
        }
        let port = app.configuration.httpPort!
        try await app.withLiveServer { _ in
            let half = String(repeating: " ", count: 100_000)
            let head = "POST /api/ca/v1/profiles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(2 * half.utf8.count)\r\n\r\n"
            let replies = try await FastPathTests.onOwnThread {
                try Self.conversation(port: port, [
                    (head + half, until: "required\"}", seconds: 20),
                    (half, until: nil, seconds: 4.5),
                    ("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", until: "\"0.1.0\"}", seconds: 20),
                ])
            }
            #expect(replies[0].hasPrefix("HTTP/1.1 401"), "\(replies[0].prefix(200))")
            #expect(replies[1].isEmpty, "\(replies[1])")
            #expect(replies[2].hasPrefix("HTTP/1.1 200"), "the connection was closed: \(replies[2])")
        }
        await app.cleanup()
    }

    /// Sends each step's text on one connection to a plain-HTTP port, then reads until its
    /// `until` text arrived or for `seconds`: what each step read.
    static func conversation(port: Int, _ steps: [(send: String, until: String?, seconds: Double)]) throws -> [String] {
        let descriptor = try connectedLoopbackSocket(port: port)
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        return steps.map { step in
            let bytes = Array(step.send.utf8)
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBufferPointer { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if count <= 0 { break }
                sent += count
            }
            var received: [UInt8] = []
            let deadline = ContinuousClock.now + .milliseconds(Int64(step.seconds * 1000))
            while ContinuousClock.now < deadline {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count == 0 { break }
                if count > 0 { received += buffer[0..<count] }
                if let until = step.until, String(decoding: received, as: UTF8.self).contains(until) { break }
            }
            return String(decoding: received, as: UTF8.self)
        }
    }

    /// Sends `text` to a plain-HTTP port one byte at a time, then reads for a second: how long
    /// after the first byte the server closed the connection (nil if it did not), and what it sent.
    static func trickle(_ text: String, to port: Int, secondsPerByte: Double) throws -> (Duration?, String) {
        let descriptor = try connectedLoopbackSocket(port: port)
        defer { close(descriptor) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        /// Reads what has arrived without waiting; true once the server has closed.
        func closedByServer() -> Bool {
            while true {
                let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count > 0 { received += buffer[0..<count] } else { return count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) }
            }
        }
        let start = ContinuousClock.now
        for byte in Array(text.utf8) {
            // MSG_NOSIGNAL: a write to a connection the server closed fails instead of raising SIGPIPE.
            var value = byte
            if send(descriptor, &value, 1, Int32(MSG_NOSIGNAL)) != 1 || closedByServer() { return (ContinuousClock.now - start, String(decoding: received, as: UTF8.self)) }
            usleep(UInt32(secondsPerByte * 1_000_000))
        }
        let deadline = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < deadline {
            if closedByServer() { return (ContinuousClock.now - start, String(decoding: received, as: UTF8.self)) }
            usleep(10_000)
        }
        return (nil, String(decoding: received, as: UTF8.self))
    }

    /// This host's TCP sockets on local `port` in CLOSE_WAIT: the peer closed, this side did not.
    static func socketsInCloseWait(port: Int) throws -> Int {
        let localPort = ":" + String(format: "%04X", port)
        var count = 0
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end: /proc files report a size of 0.
            guard let file = FileHandle(forReadingAtPath: table) else { continue }
            defer { try? file.close() }
            guard let data = try file.readToEnd() else { continue }
            let text = String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // sl, local_address, rem_address, st: 08 is CLOSE_WAIT.
                if fields.count > 3, fields[1].hasSuffix(localPort), fields[3] == "08" { count += 1 }
            }
        }
        return count
    }

    @Test func aClientCertificateIsAcceptedButNotRequired() async throws {
        let app = try await TestApp.make()
        let identity = try TestCertificates.clientIdentity(commonName: "some device")
        let token = try await app.token(.viewer)
        try await app.withLiveServer { client in
            let withCertificate = try LiveClient(
                baseURL: client.baseURL, httpBaseURL: nil, caCertificatePath: app.dataFolder.caCertificate.path,
                identity: (identity.certificatePEM, identity.privateKeyPEM))
            let result = await Result(catching: { try await withCertificate.request(.GET, "/api/ca/v1/profiles", token: token) })
            try await withCertificate.shutdown()
            #expect(try result.get().status == 200)
        }
        await app.cleanup()
    }
}

/// Certificates made up by tests.
enum TestCertificates {
    /// A self-signed P-256 client certificate (digitalSignature, clientAuth) and its key.
    static func clientIdentity(commonName: String) throws -> (certificatePEM: String, privateKeyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let certificate = try Certificate(
            version: .v3, serialNumber: .generate(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(3600), issuer: name,
            subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
            },
            issuerPrivateKey: .init(key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }
}
