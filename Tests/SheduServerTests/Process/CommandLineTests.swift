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
        // A folder no server has started in: no token is signed with a key made up for it.
        let tooEarly = try await SheduProcess.run(["token", "create", "--data-dir", data, "--subject", "ops", "--role", "operator"])
        #expect(tooEarly.status != 0)
        #expect(tooEarly.errors.contains("is not a Shedu data folder (it has no auth/signing-key.pem)"), "\(tooEarly.errors)")
        #expect(tooEarly.output.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: data), "nothing was created")

        // A key file that is not a key: a message that names it.
        let broken = folder.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken.appendingPathComponent("auth"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: broken.appendingPathComponent("auth/signing-key.pem").path, contents: Data())
        let unreadable = try await SheduProcess.run(["token", "create", "--data-dir", broken.path, "--subject", "ops", "--role", "operator"])
        #expect(unreadable.status != 0)
        #expect(unreadable.errors.contains("auth/signing-key.pem) is not a P-256 private key in PEM"), "\(unreadable.errors)")

        try DataFolder(path: data).prepare(serverNames: ["localhost"])  // as the server's first start does
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
        (["serve", "--public-url", "not a url"], "--public-url must be an http:// or https:// URL with a host and no query"),
        (["serve", "--public-url", "ftp://pki.example.com"], "not 'ftp://pki.example.com'"),
        (["serve", "--public-url", "https://"], "--public-url must be"),
        (["serve", "--public-url", "https://pki.example.com/?x=1"], "--public-url must be"),
        (["serve", "--public-url", "http://pki.example.com/pa th"], "--public-url must be"),
        (["serve", "--public-url", "http://pki.example.com:99999"], "--public-url must be"),
        (["serve", "--oidc-issuer", "not a url"], "--oidc-issuer must be the issuer's http:// or https:// URL, not 'not a url'"),
        // Past what a bucket counts, the server trapped once its database was open.
        (["serve", "--rate-limit-clients", "1e300"], "--rate-limit-clients must be RATE or RATE/BURST"),
        (["serve", "--rate-limit-public", "10/1e30"], "--rate-limit-public must be RATE or RATE/BURST"),
        (["serve", "--request-timeout", "500ms"], "--request-timeout must be a duration of at least 1s (e.g. 30s, 2m), not '500ms'"),
        (["serve", "--idle-timeout", "soon"], "--idle-timeout must be a duration of at least 1s"),
        // Roles there would overwrite the token's expiry, or land nowhere.
        (["serve", "--roles-claim", "exp"], "--roles-claim 'exp' is a claim JWT registers"),
        (["token", "create", "--subject", "x", "--role", "admin", "--roles-claim", "sub"], "--roles-claim 'sub' is a claim JWT registers"),
        (["token", "create", "--subject", "x", "--role", "admin", "--roles-claim", "a..b"], "--roles-claim must be a claim name or a dotted path"),
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
        // The plain HTTP port taken: named alone, without a "listening" line for the other one.
        let free = try freePort()
        let httpTaken = try await SheduProcess.run([
            "serve", "--data-dir", folder.appendingPathComponent("a2").path, "--port", "\(free)", "--http-port", "\(port)",
        ])
        #expect(httpTaken.status == 1)
        #expect(httpTaken.errors == "shedu: cannot listen on 127.0.0.1:\(port): address already in use\n", "\(httpTaken.errors)")
        #expect(!httpTaken.output.contains("listening"), "\(httpTaken.output)")
        blocker.close()

        // A host that is no address (it printed NIO's error value).
        let noHost = try await SheduProcess.run([
            "serve", "--data-dir", folder.appendingPathComponent("h").path, "--host", "999.1.1.1", "--port", "\(free)",
        ])
        #expect(noHost.status == 1)
        #expect(
            noHost.errors == "shedu: cannot listen on 999.1.1.1:\(free): neither an address nor a name that resolves here\n",
            "\(noHost.errors)")

        // A data folder that cannot be made names why (it named the lock file inside it).
        let plainFile = folder.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: plainFile)
        let uncreatable = try await SheduProcess.run(["serve", "--data-dir", plainFile.appendingPathComponent("data").path, "--port", "\(try freePort())"])
        #expect(uncreatable.status == 1)
        #expect(uncreatable.errors.hasPrefix("shedu: cannot create the data folder \(plainFile.appendingPathComponent("data").path): "), "\(uncreatable.errors)")
        #expect(uncreatable.errors.split(separator: "\n").count == 1)

        // A database that does not answer; its password never shows.
        let unreachable = try await SheduProcess.run([
            "serve", "--data-dir", folder.appendingPathComponent("b").path, "--port", "\(try freePort())",
            "--database-url", "postgres://shedu:hunter2@127.0.0.1:1/shedu",
        ])
        #expect(unreachable.status == 1)
        #expect(unreachable.errors.hasPrefix("shedu: cannot connect to PostgreSQL at postgres://shedu:***@127.0.0.1:1/shedu"))
        #expect(unreachable.errors.split(separator: "\n").count == 1)
        #expect(!unreachable.errors.contains("hunter2"))
        // Nor when the URL does not parse.
        for url in ["postgres://shedu:hunter2@[::1", "postgres://u:hunter2@h:notaport/db", "postgres://u:hunter2@127.0.0.1:99999/db"] {
            let malformed = try await SheduProcess.run([
                "serve", "--data-dir", folder.appendingPathComponent("c").path, "--port", "\(try freePort())", "--database-url", url,
            ])
            #expect(malformed.status != 0)
            #expect(malformed.errors.contains("is not a valid PostgreSQL URL"), "\(malformed.errors)")
            #expect(malformed.errors.contains("***@"), "\(malformed.errors)")
            #expect(!malformed.errors.contains("hunter2"), "\(malformed.errors)")
        }

        // An empty data folder name, which would have made the working directory the data folder.
        for command in [["serve", "--port", "\(try freePort())"], ["token", "create", "--subject", "x", "--role", "admin"]] {
            let empty = try await SheduProcess.run(command + ["--data-dir", ""], directory: folder)
            #expect(empty.status != 0)
            #expect(empty.errors.contains("--data-dir must not be empty"), "\(empty.errors)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("master.key").path))
        }

        // Passwords that parse as something else (a port and a path), or sit in the query.
        for url in ["postgres://u:123/hunter2@127.0.0.1:1/db", "postgres://127.0.0.1:1/shedu?sslmode=disable&password=hunter2"] {
            let hidden = try await SheduProcess.run([
                "serve", "--data-dir", folder.appendingPathComponent("d").path, "--port", "\(try freePort())", "--database-url", url,
            ])
            #expect(hidden.status != 0)
            #expect(!hidden.errors.contains("hunter2"), "\(hidden.errors)")
        }

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
