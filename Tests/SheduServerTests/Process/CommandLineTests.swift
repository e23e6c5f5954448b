import Crypto
import Foundation
import JWTKit
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("The shedu command line", .serialized)
struct CommandLineTests {
    @Test func tokenCreatePrintsOneJWTSignedByTheDataFolder() async throws {
        let folder = try makeTemporaryFolder()
        let data = folder.appendingPathComponent("data").path
        let result = try await SheduProcess.run(["token", "create", "--data-dir", data, "--subject", "ops", "--role", "operator"])
        #expect(result.status == 0, "\(result.errors)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 1)
        let token = String(try #require(lines.first))
        #expect(token.split(separator: ".").count == 3)
        let keys = JWTKeyCollection()
        let folderKey = DataFolder(path: data)
        await keys.add(ecdsa: try ES256PublicKey(pem: try P256PublicKeyPEM.fromPrivateKeyPEM(folderKey.read(folderKey.tokenSigningKey))))
        let claims = try await keys.verify(token, as: TokenClaims.self)
        #expect(claims.subject == "ops")
        #expect(claims.strings(atPath: "roles") == ["operator"])
        let lifetime = try #require(claims.expiration).timeIntervalSinceNow
        #expect(lifetime > 23 * 3600 && lifetime <= 24 * 3600)

        let withEnvironment = try await SheduProcess.run(
            ["token", "create", "--subject", "x", "--role", "viewer", "--ttl", "30d"], environment: ["SHEDU_DATA_DIR": data])
        #expect(withEnvironment.status == 0)
        try? FileManager.default.removeItem(at: folder)
    }

    @Test(arguments: [
        (["token", "create", "--subject", "x", "--role", "root"], "--role must be admin, operator or viewer"),
        (["token", "create", "--subject", "x", "--role", "admin", "--ttl", "soon"], "is not a duration"),
        (["serve", "--port", "70000"], "--port must be between 1 and 65535"),
        (["serve", "--bogus"], "Unknown option '--bogus'"),
        (["serve", "--log-format", "xml"], "--log-format must be text or json"),
        (["serve", "--database-url", "mysql://x"], "--database-url must start with sqlite:// or postgres://"),
    ])
    func badFlagsAreClearErrors(_ arguments: [String], _ message: String) async throws {
        let result = try await SheduProcess.run(arguments + ["--data-dir", "/tmp/shedu-never-created-\(UUID())"])
        #expect(result.status != 0)
        #expect(result.errors.contains(message), "\(result.errors)")
        #expect(!result.errors.contains("Fatal error") && !result.errors.contains("Stack dump"))
    }

    @Test func startupFailuresAreOneLine() async throws {
        let folder = try makeTemporaryFolder()
        // A port that is taken.
        let blocker = try ListeningSocket()
        let port = blocker.port
        let taken = try await SheduProcess.run([
            "serve", "--data-dir", folder.appendingPathComponent("a").path, "--port", "\(port)",
        ])
        #expect(taken.status == 1)
        #expect(taken.errors == "shedu: cannot listen on 127.0.0.1:\(port): address already in use\n", "\(taken.errors)")
        blocker.close()

        // A database that does not answer; its password never shows.
        let unreachable = try await SheduProcess.run([
            "serve", "--data-dir", folder.appendingPathComponent("b").path, "--port", "\(try freePort())",
            "--database-url", "postgres://shedu:hunter2@127.0.0.1:1/shedu",
        ])
        #expect(unreachable.status == 1)
        #expect(unreachable.errors.hasPrefix("shedu: cannot connect to PostgreSQL at postgres://shedu:***@127.0.0.1:1/shedu"))
        #expect(unreachable.errors.split(separator: "\n").count == 1)
        #expect(!unreachable.errors.contains("hunter2"))

        // A data folder that cannot be one.
        let file = folder.appendingPathComponent("file")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8))
        let notAFolder = try await SheduProcess.run(["serve", "--data-dir", file.path, "--port", "\(try freePort())"])
        #expect(notAFolder.status == 1)
        #expect(notAFolder.errors == "shedu: \(file.path) exists and is not a folder\n")
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A TCP socket listening on a loopback port, to make that port busy.
final class ListeningSocket {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = loopbackAddress()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 1) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard ok else { throw TestFailure("cannot listen") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
