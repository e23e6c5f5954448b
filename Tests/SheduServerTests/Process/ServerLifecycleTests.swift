import Foundation
import SheduCore
import SheduTestSupport
import Synchronization
import Testing

@testable import SheduServer

@Suite("Running shedu serve: shutdown and crashes", .serialized)
struct ServerLifecycleTests {
    struct Running {
        let process: SheduProcess
        let client: LiveClient
        let data: String
        let port: Int

        /// Stops the server as an operator would (SIGTERM) and closes the client.
        func terminate() async throws {
            process.signal(SIGTERM)
            try await process.waitForExit()
            try await client.shutdown()
        }
    }

    static func serve(data: String, port: Int) async throws -> Running {
        let process = try SheduProcess.start(["serve", "--data-dir", data, "--port", "\(port)"])
        // The CA file appears on first start; wait for it, then for /health.
        let ca = DataFolder(path: data).caCertificate.path
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: ca) {
            try await Task.sleep(for: .milliseconds(25))
        }
        let client = try LiveClient(baseURL: "https://localhost:\(port)", httpBaseURL: nil, caCertificatePath: ca)
        try await client.waitUntilReady()
        return Running(process: process, client: client, data: data, port: port)
    }

    static func token(data: String) async throws -> String {
        let folder = DataFolder(path: data)
        return try await LocalTokenIssuer.makeToken(
            signingKeyPEM: try folder.read(folder.tokenSigningKey), subject: "test", role: .admin, lifetime: .seconds(3600))
    }

    /// What the server writes is its own, also in a data folder an operator made world-readable:
    /// the database (webhook credentials, sealed keys) and its log files are 0600.
    @Test func theDatabaseIsReadableByTheServerAlone() async throws {
        let folder = try makeTemporaryFolder()
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let server = try await Self.serve(data: data.path, port: try freePort())
        defer { server.process.removeCapturedOutput() }
        let token = try await Self.token(data: data.path)
        let created = try await server.client.request(
            .POST, "/api/ca/v1/profiles", token: token, body: #"{"id":"p","validity":{"type":"Duration","duration":"1d"}}"#)
        #expect(created.status == 201, "\(created.text)")
        let names = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasPrefix("shedu.sqlite") && !$0.hasSuffix(".lock") }
        #expect(names.contains("shedu.sqlite") && names.contains("shedu.sqlite-wal"), "\(names)")
        func mode(_ path: String) throws -> Int {
            try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent(path).path)[.posixPermissions] as? Int ?? 0
        }
        // The database and the secrets are 0600; the certificates clients are given stay readable.
        for (name, expected) in names.map({ ($0, 0o600) }) + [
            ("master.key", 0o600), ("tls/ca-key.pem", 0o600), ("tls/ca.pem", 0o644), ("tls/server.pem", 0o644),
        ] {
            let actual = try mode(name)
            #expect(actual == expected, "\(name): \(String(actual, radix: 8))")
        }
        try await server.terminate()

        // A folder an earlier version left readable to others is made the server's again.
        for name in names + ["master.key", "auth/signing-key.pem", "tls/ca-key.pem"] {
            chmod(data.appendingPathComponent(name).path, 0o644)
        }
        let again = try await Self.serve(data: data.path, port: try freePort())
        for name in names + ["master.key", "auth/signing-key.pem", "tls/ca-key.pem"]
        where FileManager.default.fileExists(atPath: data.appendingPathComponent(name).path) {
            let actual = try mode(name)
            #expect(actual == 0o600, "after a restart, \(name): \(String(actual, radix: 8))")
        }
        try await again.terminate()
        again.process.removeCapturedOutput()
    }

    @Test func sigtermLetsTheRequestInFlightFinish() async throws {
        let folder = try makeTemporaryFolder()
        let data = folder.appendingPathComponent("data").path
        let server = try await Self.serve(data: data, port: try freePort())
        defer { server.process.removeCapturedOutput() }
        let token = try await Self.token(data: data)

        // A request whose body trickles in over about three seconds.
        let body = folder.appendingPathComponent("body.json")
        let padding = String(repeating: "x", count: 6000)
        try Data(#"{"id":"slow","description":"\#(padding)","validity":{"type":"Duration","duration":"1d"}}"#.utf8).write(to: body)
        let status = folder.appendingPathComponent("status")
        let curl = try ChildProcess(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", DataFolder(path: data).caCertificate.path,
                "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json", "--data-binary", "@\(body.path)",
                "--limit-rate", "2K", "https://localhost:\(server.port)/api/ca/v1/profiles",
            ], output: .file(status.path))
        try await Task.sleep(for: .seconds(1))
        server.process.signal(SIGTERM)
        curl.waitUntilExit()
        #expect(try String(contentsOf: status, encoding: .utf8) == "201")
        try await server.process.waitForExit(timeout: .seconds(20))
        #expect(server.process.process.terminationStatus == 0, "\(server.process.standardError)")
        try await server.client.shutdown()

        // The acknowledged profile is there after a restart.
        let again = try await Self.serve(data: data, port: try freePort())
        defer { again.process.removeCapturedOutput() }
        #expect(try await again.client.request(.GET, "/api/ca/v1/profiles/slow", token: token).status == 200)
        try await again.terminate()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs `write` from 16 tasks until `target` writes were acknowledged (or 20 s, slower on a
    /// busy machine), then kills the server mid-stream; returns what was acknowledged, by key.
    /// `write` answers nil for a write that was not acknowledged, and throws once the server is gone.
    static func acknowledgedBeforeKill<Value: Sendable>(
        _ server: Running, target: Int, write: @escaping @Sendable (_ writer: Int, _ index: Int) async throws -> (key: String, value: Value)?
    ) async throws -> [String: Value] {
        let acknowledged = Shared<[String: Value]>([:])
        let stop = Shared(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    var index = 0
                    while !stop.withLock({ $0 }) {
                        let outcome: (key: String, value: Value)?
                        do {
                            outcome = try await write(writer, index)
                        } catch {
                            return
                        }
                        index += 1
                        if let outcome { acknowledged.withLock { $0[outcome.key] = outcome.value } }
                    }
                }
            }
            let deadline = ContinuousClock.now + .seconds(20)
            try await Task.sleep(for: .milliseconds(500))
            while acknowledged.withLock({ $0.count }) < target, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            server.process.signal(SIGKILL)
            stop.withLock { $0 = true }
            try await group.waitForAll()
        }
        try await server.process.waitForExit()
        try await server.client.shutdown()
        let written = acknowledged.withLock { $0 }
        #expect(written.count > 100, "the writers were too slow to test anything: \(written.count)")
        return written
    }

    @Test func acknowledgedWritesSurviveKill9() async throws {
        let folder = try makeTemporaryFolder()
        let data = folder.appendingPathComponent("data").path
        let server = try await Self.serve(data: data, port: try freePort())
        defer { server.process.removeCapturedOutput() }
        let token = try await Self.token(data: data)
        let ids = try await Self.acknowledgedBeforeKill(server, target: 150) { writer, index -> (key: String, value: Bool)? in
            let id = "w\(writer)-\(index)"
            let body = #"{"id":"\#(id)","validity":{"type":"Duration","duration":"1d"}}"#
            let reply = try await server.client.request(.POST, "/api/ca/v1/profiles", token: token, body: body)
            return reply.status == 201 ? (id, true) : nil
        }.keys

        let again = try await Self.serve(data: data, port: try freePort())
        defer { again.process.removeCapturedOutput() }
        var missing: [String] = []
        for id in ids where try await again.client.request(.GET, "/api/ca/v1/profiles/\(id)", token: token).status != 200 {
            missing.append(id)
        }
        #expect(missing.isEmpty, "acknowledged but lost: \(missing)")
        try await again.terminate()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Signed certificates take their own write path (group commits of concurrent issuances,
    /// WAL frames written in batches): each one answered before the kill is there after it,
    /// with the same bytes.
    @Test func acknowledgedCertificatesSurviveKill9() async throws {
        let folder = try makeTemporaryFolder()
        let data = folder.appendingPathComponent("data").path
        let server = try await Self.serve(data: data, port: try freePort())
        defer { server.process.removeCapturedOutput() }
        let token = try await Self.token(data: data)
        for (path, body) in [
            ("/api/ca/v1/profiles", deviceProfile),
            ("/api/ca/v1/cas", #"{"id":"root-ca","subject":{"common_name":"Crash Root"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"5y"}}"#),
            ("/api/ca/v1/cas", #"{"id":"issuing-ca","parent_id":"root-ca","subject":{"common_name":"Crash Issuing"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"2y"}}"#),
        ] {
            let reply = try await server.client.request(.POST, path, token: token, body: body)
            #expect(reply.status == 201, "\(path): \(reply.text)")
        }
        // Serial number → the certificate as answered.
        let issued = try await Self.acknowledgedBeforeKill(server, target: 300) { writer, index -> (key: String, value: String)? in
            let csr = try TestPKI.csr(commonName: "crash-\(writer)-\(index)", key: try TestPKI.key("ECDSA", 256))
            let body = #"{"csr":"\#(csr)","profile_id":"device-profile"}"#
            let reply = try await server.client.request(.POST, "/api/ca/v1/cas/issuing-ca/sign", token: token, body: body)
            guard reply.status == 201, let answer = try? reply.json(),
                let serial = answer["serial_number"]?.stringValue, let certificate = answer["certificate"]?.stringValue
            else { return nil }
            return (serial, certificate)
        }

        let again = try await Self.serve(data: data, port: try freePort())
        defer { again.process.removeCapturedOutput() }
        var lost: [String] = []
        for (serial, certificate) in issued {
            let reply = try await again.client.request(.GET, "/api/ca/v1/certificates/\(serial)", token: token)
            if reply.status != 200 || (try? reply.json())?["certificate"]?.stringValue != certificate { lost.append(serial) }
        }
        #expect(lost.isEmpty, "\(lost.count) of \(issued.count) acknowledged certificates lost: \(lost.prefix(5))")
        try await again.terminate()
        try? FileManager.default.removeItem(at: folder)
    }
}
