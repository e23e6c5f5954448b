import Foundation
import SheduCore
import Testing

@testable import SheduServer

@Suite("The fast path in front of the router")
struct FastPathTests {
    /// ``blockingExchange(port:_:seconds:)`` on a thread of its own: blocking a thread of the
    /// cooperative pool would starve the server under test, whose requests run there.
    /// `halfClosing`: the client shuts its side down after sending, as it has nothing more to send.
    static func exchange(port: Int, _ request: String, seconds: Double = 2, halfClosing: Bool = false) async throws -> String {
        try await onOwnThread {
            try blockingExchange(port: port, request, seconds: seconds, thenSend: nil, seconds: 0, halfClosing: halfClosing).0
        }
    }

    /// How many answers `received` holds: their status lines.
    static func statusLines(in received: String) -> Int {
        received.matches(of: try! Regex(#"HTTP/1\.1 \d{3} "#)).count
    }

    /// Runs blocking socket work on a thread of its own (see ``exchange(port:_:seconds:)``).
    static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// Sends raw bytes to a plain-HTTP port and reads until the peer closes or `seconds` pass.
    static func blockingExchange(port: Int, _ request: String, seconds: Double) throws -> String {
        try blockingExchange(port: port, request, seconds: seconds, thenSend: nil, seconds: 0).0
    }

    /// ``blockingExchange(port:_:seconds:)``, then, when `more` is given, sends it on the same
    /// connection and reads again for `moreSeconds`.
    /// `until`: the first read also ends once this has arrived.
    static func blockingExchange(
        port: Int, _ request: String, seconds: Double, until: String? = nil, thenSend more: String?,
        seconds moreSeconds: Double, halfClosing: Bool = false
    ) throws -> (String, String) {
        let descriptor = try connectedLoopbackSocket(port: port)
        defer { close(descriptor) }
        func exchange(_ text: String, seconds: Double, until: String? = nil) -> String {
            _ = text.utf8CString.withUnsafeBufferPointer { send(descriptor, $0.baseAddress, $0.count - 1, 0) }
            if halfClosing { shutdown(descriptor, Int32(SHUT_WR)) }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count == 0 { break }
                if count > 0 { received += buffer[0..<count] }
                if let until, String(decoding: received, as: UTF8.self).contains(until) { break }
            }
            return String(decoding: received, as: UTF8.self)
        }
        let first = exchange(request, seconds: seconds, until: until)
        return (first, more.map { exchange($0, seconds: moreSeconds) } ?? "")
    }

    /// Sends a request's head and reads until an answer's blank line or `wait` seconds, then sends
    /// `body` and reads until the server closes (the requests say `Connection: close`), however
    /// loaded the machine: (answer before the body, answer after it).
    static func expectContinueExchange(port: Int, head: String, body: String, wait: Double) async throws -> (String, String) {
        try await onOwnThread { try blockingExchange(port: port, head, seconds: wait, until: "\r\n\r\n", thenSend: body, seconds: 60) }
    }

    @Test func answersExpectContinueBeforeTheBody() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let port = app.configuration.httpPort!
        let token = try await app.token(.admin)
        try await app.withLiveServer { _ in
            func head(_ version: String, length: Int) -> String {
                "POST /api/ca/v1/profiles \(version)\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(length)\r\nExpect: 100-continue\r\n"
                    + "Connection: close\r\n\r\n"
            }
            let body = #"{"id":"p1","validity":{"type":"Duration","duration":"1y"}}"#
            let (beforeBody, afterBody) = try await Self.expectContinueExchange(
                port: port, head: head("HTTP/1.1", length: body.utf8.count), body: body, wait: 30)
            #expect(beforeBody == "HTTP/1.1 100 Continue\r\n\r\n")
            // The request then runs as any other.
            #expect(afterBody.hasPrefix("HTTP/1.1 201"), "\(afterBody)")

            // Behind a routed answer still to come, the interim answer follows it (it never came).
            let pipelinedBody = body.replacingOccurrences(of: "p1", with: "p3")
            let pipelined =
                "GET /api/ca/v1/profiles/p1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n"
                + head("HTTP/1.1", length: pipelinedBody.utf8.count)
            let (routedThenContinue, afterPipelinedBody) = try await Self.onOwnThread {
                try Self.blockingExchange(
                    port: port, pipelined, seconds: 30, until: "HTTP/1.1 100 Continue\r\n\r\n", thenSend: pipelinedBody, seconds: 60)
            }
            #expect(routedThenContinue.hasPrefix("HTTP/1.1 200"), "\(routedThenContinue)")
            #expect(routedThenContinue.hasSuffix("HTTP/1.1 100 Continue\r\n\r\n"), "\(routedThenContinue)")
            #expect(afterPipelinedBody.hasPrefix("HTTP/1.1 201"), "\(afterPipelinedBody)")

            // HTTP/1.0 knows no interim answers: nothing comes before the body.
            let oldBody = body.replacingOccurrences(of: "p1", with: "p2")
            let (beforeOldBody, afterOldBody) = try await Self.expectContinueExchange(
                port: port, head: head("HTTP/1.0", length: oldBody.utf8.count), body: oldBody, wait: 1)
            #expect(beforeOldBody.isEmpty, "\(beforeOldBody)")
            #expect(afterOldBody.hasPrefix("HTTP/1.1 201"), "\(afterOldBody)")
        }
        await app.cleanup()
    }

    /// HEAD answers as GET would, without the body: the same status, type and length.
    @Test func answersHeadAsGetWithoutTheBody() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let port = app.configuration.httpPort!
        try await app.withLiveServer { _ in
            let answer = try await Self.exchange(port: port, "HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", seconds: 30)
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
            #expect(answer.lowercased().contains("content-length: \(SystemRoutes.healthBody.utf8.count)\r\n"), "\(answer)")
            #expect(answer.hasSuffix("\r\n\r\n"), "a body followed: \(answer)")
            let missing = try await Self.exchange(port: port, "HEAD /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", seconds: 30)
            #expect(missing.hasPrefix("HTTP/1.1 404"), "\(missing)")
        }
        await app.cleanup()
    }

    /// Routed answers after fast-path ones on one connection are framed as their own: a GET after
    /// a HEAD carries its body. The HTTP encoder paired each routed answer with the method of an
    /// older request the fast path had answered, and cut this GET's body (the client hung).
    /// A CONNECT is answered with a framed 404, not one the client must wait out.
    @Test func routedAnswersAfterFastPathOnesCarryTheirBodies() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let port = app.configuration.httpPort!
        try await app.withLiveServer { _ in
            let answers = try await Self.exchange(
                port: port,
                "GET /health HTTP/1.1\r\nHost: x\r\n\r\nHEAD /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", seconds: 30)
            let parts = answers.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(parts.map { String($0.prefix(3)) } == ["200", "200", "200"], "\(answers.prefix(600))")
            let last = try #require(parts.last)
            let length = try #require(last.firstMatch(of: #/content-length: (\d+)\r\n/#.ignoresCase()).flatMap { Int($0.1) })
            let body = try #require(last.range(of: "\r\n\r\n")).upperBound
            #expect(last[body...].utf8.count == length, "the GET's body was cut")

            let connect = try await Self.exchange(port: port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", seconds: 3)
            #expect(connect.hasPrefix("HTTP/1.1 404"), "\(connect)")
            #expect(connect.lowercased().contains("content-length:"), "an unframed answer: \(connect)")
        }
        await app.cleanup()
    }

    /// A routed request whose chunked body is malformed is the client's fault: a 400 that says
    /// so, not a 500 logged as a server error.
    @Test func aMalformedBodyOnARoutedRouteIsA400() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let port = app.configuration.httpPort!
        let token = try await app.token(.admin)
        try await app.withLiveServer { _ in
            let answer = try await Self.exchange(
                port: port,
                "POST /api/ca/v1/profiles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\nzz\r\n", seconds: 5)
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.hasSuffix(#"{"err":"a chunk of the request's body has an invalid size"}"#), "\(answer)")

            // Answered before its body was read (no token: 401), then its body breaks: one answer,
            // and the connection closed. Hummingbird's empty 400 followed, a second answer to one
            // request, which a client pipelining would read as its next request's.
            for body in ["Transfer-Encoding: chunked\r\n\r\nzz\r\n", "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\nzz\r\n"] {
                let (unauthorized, open) = try await Self.onOwnThread {
                    let start = ContinuousClock.now
                    let answer = try Self.blockingExchange(
                        port: port, "POST /api/ca/v1/profiles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + body,
                        seconds: 20)
                    return (answer, ContinuousClock.now - start)
                }
                #expect(unauthorized.hasPrefix("HTTP/1.1 401"), "\(unauthorized)")
                #expect(Self.statusLines(in: unauthorized) == 1, "more than one answer: \(unauthorized)")
                #expect(open < .seconds(15), "the connection was not closed")
            }
        }
        await app.cleanup()
    }

    /// An HTTP/1.1 request without a Host header, or with two (RFC 9112 §3.2), and an HTTP/1.0
    /// one with a transfer coding (§6.1), are refused with a reason and the connection closed;
    /// each was answered as any other.
    @Test func requestsWhoseHostOrFramingCannotBeTrustedAreRefused() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let port = app.configuration.httpPort!
        try await app.withLiveServer { _ in
            for head in ["GET /health HTTP/1.1\r\n", "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n", "POST /api/va/ocsp HTTP/1.1\r\nContent-Length: 3\r\n"] {
                let answer = try await Self.exchange(port: port, head + "\r\nabcGET /health HTTP/1.1\r\nHost: x\r\n\r\n", seconds: 10)
                #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
                #expect(answer.hasSuffix(#"{"err":"an HTTP/1.1 request names its host in one Host header (RFC 9112 §3.2)"}"#), "\(answer)")
            }
            // HTTP/1.0 needs none, and knows no transfer codings: a chunked body's framing is
            // faulty, and a request behind it is not answered (it was, on a connection kept open).
            #expect(try await Self.exchange(port: port, "GET /health HTTP/1.0\r\n\r\n", seconds: 10).hasPrefix("HTTP/1.1 200"))
            let smuggled = try await Self.exchange(
                port: port,
                "POST /api/va/ocsp HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                    + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", seconds: 10)
            #expect(smuggled.hasPrefix("HTTP/1.1 400"), "\(smuggled)")
            #expect(smuggled.hasSuffix(#"{"err":"an HTTP/1.0 request cannot carry Transfer-Encoding (RFC 9112 §6.1)"}"#), "\(smuggled)")

            // Behind a routed answer still to come, refused once it has gone (it was answered as
            // any other, and the request behind it too).
            let behindRouted = try await Self.exchange(
                port: port,
                "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                seconds: 10)
            #expect(behindRouted.hasPrefix("HTTP/1.1 200"), "\(behindRouted.prefix(300))")
            #expect(Self.statusLines(in: behindRouted) == 2, "\(behindRouted.suffix(300))")

            // An empty Host is one (RFC 9112 §3.2: a target without an authority).
            #expect(try await Self.exchange(port: port, "GET /health HTTP/1.1\r\nHost:\r\n\r\n", seconds: 10).hasPrefix("HTTP/1.1 200"))
            // A request to upgrade the connection, which Shedu does not, is answered and the
            // connection closed, as the decoder reads nothing more on it: the request behind it
            // waited for the request timeout, unanswered.
            for upgrade in ["Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n", "Connection: Upgrade\r\nUpgrade: websocket\r\n"] {
                let (upgraded, open) = try await Self.onOwnThread {
                    let start = ContinuousClock.now
                    let answer = try Self.blockingExchange(
                        port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\(upgrade)\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n", seconds: 25)
                    return (answer, ContinuousClock.now - start)
                }
                #expect(upgraded.hasPrefix("HTTP/1.1 200"), "\(upgraded)")
                #expect(upgraded.lowercased().contains("connection: close"), "\(upgraded)")
                #expect(Self.statusLines(in: upgraded) == 1, "\(upgraded)")
                #expect(open < .seconds(20), "the connection stayed open")
            }
            #expect(behindRouted.hasSuffix(#"{"err":"an HTTP/1.1 request names its host in one Host header (RFC 9112 §3.2)"}"#), "\(behindRouted.suffix(300))")
        }
        await app.cleanup()
    }

    /// What the HTTP decoder cannot read is refused with an error body that says why, and the
    /// connection closed; an answer already owed on the connection comes first.
    @Test func unreadableRequestsAreRefusedWithAReason() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let port = app.configuration.httpPort!
        try await app.withLiveServer { _ in
            let huge = String(repeating: "a", count: 100_000)
            let cases = [
                ("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: \(huge)\r\n\r\n", "431", "the request's URL and headers are larger than the server reads (80 KB)"),
                ("GET /health?\(huge) HTTP/1.1\r\nHost: x\r\n\r\n", "431", "the request's URL and headers are larger than the server reads (80 KB)"),
                ("GET /health HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", "400", "a header of the request is malformed"),
                ("POST /api/ca/v1/profiles HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n", "400", "the request's Content-Length is invalid"),
            ]
            for (request, status, message) in cases {
                let start = Date()
                let answer = try await Self.exchange(port: port, request, seconds: 30)
                #expect(Date().timeIntervalSince(start) < 15, "the connection stayed open")
                #expect(answer.hasPrefix("HTTP/1.1 \(status) "), "\(answer.prefix(300))")
                #expect(answer.contains("connection: close\r\n"), "\(answer.prefix(300))")
                #expect(answer.hasSuffix("\r\n\r\n" + ErrorMiddleware.body(message)), "\(answer.prefix(300))")
            }
            // A request read whole is answered before the one after it is refused.
            let pipelined = try await Self.exchange(
                port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nBad Header Line\r\n\r\n", seconds: 30)
            let statuses = pipelined.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["200", "400"], "\(pipelined)")
        }
    }

    @Test func answersHealthAndKeepsPipelinedResponsesInOrder() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let port = app.configuration.httpPort!
        try await app.withLiveServer { client in
            // A routed request, then two fast-path ones, pipelined on one connection.
            let pipelined = try await Self.exchange(
                port: port,
                "GET /api/ca/v1/profiles HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", seconds: 30)
            // Bodies end without a line break, so status lines are found by their text.
            let statuses = pipelined.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["401", "200", "200"], "\(pipelined)")
            let unauthorized = try #require(pipelined.range(of: "a bearer token is required"))
            let health = try #require(pipelined.range(of: SystemRoutes.healthBody))
            #expect(unauthorized.lowerBound < health.lowerBound)

            // Two answered by the fast path on one kept-alive connection, each framed whole: status
            // line, date (RFC 9110 §6.6.1), type, the body's exact length, then the body and nothing else.
            let fast = try await Self.exchange(
                port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", seconds: 1)
            let framed =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \(SystemRoutes.healthBody.utf8.count)\r\n\r\n"
                + SystemRoutes.healthBody
            let dateLine = #/\r\ndate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT/#
            #expect(fast.matches(of: dateLine).count == 2, "\(fast)")
            #expect(fast.replacing(dateLine, with: "") == framed + framed)

            // HTTP/1.0 without keep-alive is answered and the connection closed by the server: the
            // exchange ends well before its own deadline (a loaded machine answers slowly, not never).
            let start = Date()
            let old = try await Self.exchange(port: port, "GET /health HTTP/1.0\r\n\r\n", seconds: 30)
            #expect(Date().timeIntervalSince(start) < 15, "the connection stayed open")
            #expect(old.hasPrefix("HTTP/1.1 200"), "\(old)")
            #expect(old.hasSuffix(SystemRoutes.healthBody))

            // The fast path counts its requests with the router's metric.
            let metrics = try await client.request(.GET, "/metrics")
            #expect(metrics.text.contains(#"hb_requests{http_route="/health",http_request_method="GET",http_response_status_code="200"}"#))
            // A route's row for a status appears once it answers with it, not as a zero before.
            #expect(!metrics.text.contains(#"http_route="/health",http_request_method="GET",http_response_status_code="503""#))
        }
        await app.cleanup()
    }
}
