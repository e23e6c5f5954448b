import Foundation
import Logging
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("Logs")
struct LoggingTests {
    @Test func jsonLinesCarryLevelMessageAndMetadata() throws {
        let lines = Shared<[String]>([])
        var logger = Logger(label: "shedu") { label in
            JSONLogHandler(label: label, level: .info) { line in lines.withLock { $0.append(line) } }
        }
        logger[metadataKey: "hb.request.id"] = "r-1"
        logger.debug("hidden")
        logger.info("POST /api/ca/v1/profiles 201", metadata: ["auth.subject": "alice", "list": ["a", "b"]])
        let captured = lines.value
        #expect(captured.count == 1)
        let line = try #require(captured.first)
        #expect(line.hasSuffix("\n") && line.dropLast().contains("\n") == false)
        let object = try JSONValue.parse(line, field: "log line")
        #expect(object["level"] == "info")
        #expect(object["message"] == "POST /api/ca/v1/profiles 201")
        #expect(object["hb.request.id"] == "r-1")
        #expect(object["auth.subject"] == "alice")
        #expect(object["list"] == ["a", "b"])
        #expect(object["time"]?.stringValue.flatMap { RFC3339.parse($0) } != nil)
    }

    @Test func textLinesCarryLevelMessageAndMetadata() throws {
        let lines = Shared<[String]>([])
        var logger = Logger(label: "shedu") { label in
            TextLogHandler(label: label, level: .info) { line in lines.withLock { $0.append(line) } }
        }
        logger[metadataKey: "hb.request.id"] = "r-1"
        logger.debug("hidden")
        logger.warning("dependency unavailable", metadata: ["error": "timeout"])
        let captured = lines.value
        #expect(captured.count == 1)
        let line = try #require(captured.first)
        let fields = line.dropLast().split(separator: " ")
        #expect(fields.count == 7, "\(line)")
        #expect(RFC3339.parse(String(fields[0])) != nil)
        #expect(fields[1...].joined(separator: " ") == "warning shedu: dependency unavailable error=timeout hb.request.id=r-1")

        // A value a client chose (a token's subject) cannot start a line of its own.
        logger.info("POST /x 201", metadata: ["auth.subject": "evil\n2026-12-05T03:00:00.000Z info shedu: FORGED\u{2028}x\u{1b}"])
        let forged = try #require(lines.value.last)
        #expect(forged.dropLast().contains("\n") == false, "\(forged)")
        #expect(forged.hasSuffix(#"auth.subject=evil\n2026-12-05T03:00:00.000Z info shedu: FORGED\u{2028}x\u{1b} hb.request.id=r-1"# + "\n"), "\(forged)")
    }

    @Test func serveWritesJSONLinesWhenAsked() async throws {
        let folder = try makeTemporaryFolder()
        let data = folder.appendingPathComponent("data").path
        let port = try freePort()
        let server = try SheduProcess.start(["serve", "--data-dir", data, "--port", "\(port)", "--log-format", "json"])
        for _ in 0..<200 where !server.standardOutput.contains("listening") {
            try await Task.sleep(for: .milliseconds(25))
        }
        server.signal(SIGTERM)
        try await server.waitForExit()
        let lines = server.standardOutput.split(separator: "\n")
        #expect(lines.count >= 2, "\(server.standardOutput)")
        for line in lines {
            let object = try JSONValue.parse(String(line), field: "log line")
            #expect(object["message"] != nil && object["level"] != nil)
        }
        #expect(lines.contains { $0.contains("listening on 127.0.0.1:\(port)") })
        server.removeCapturedOutput()
        try? FileManager.default.removeItem(at: folder)
    }
}
