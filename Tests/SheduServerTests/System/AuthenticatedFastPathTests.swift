import Foundation
import SheduCore
import Testing

@testable import SheduServer

/// The fast path's routes run on a task (``FastPathRoutes``): CSR signing for a caller whose token
/// the router has verified before, and EST enrollment. Callers must not be able to tell them
/// from the router's.
///
/// The router adds a `Server` header to its answers and the fast path does not: that is how these
/// tests know which of the two answered.
@Suite("Routes the fast path runs on a task")
struct AuthenticatedFastPathTests {
    static func answeredByRouter(_ reply: LiveClient.Reply) -> Bool { reply.header("server") != nil }

    static func signBody(_ csr: String) -> String { #"{"csr":"\#(csr)","profile_id":"device-profile"}"# }

    /// A signing request is answered, and first, whatever follows it on the connection: a client
    /// that shuts its side down once it has sent it (the certificate was issued and the answer
    /// lost), or a malformed request pipelined behind it (its 400 came before the 201).
    @Test func aSigningRequestIsAnsweredFirstWhateverFollowsIt() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let admin = try await app.token(.admin)
        let port = app.configuration.httpPort!
        try await app.withLiveServer { client in
            for (path, body) in [
                ("/api/ca/v1/profiles", #"{"id":"device-profile","validity":{"type":"Duration","duration":"1y"}}"#),
                ("/api/ca/v1/cas", #"{"id":"ca-1","subject":{"common_name":"CA 1"},"ca_expiration":{"type":"Duration","duration":"10y"}}"#),
            ] {
                #expect(try await client.request(.POST, path, token: admin, body: body, plainHTTP: true).status == 201)
            }
            let body = Self.signBody(try TestPKI.csr(commonName: "half-closed", key: try TestPKI.key("ECDSA", 256)))
            let answer = try await FastPathTests.exchange(
                port: port,
                "POST /api/ca/v1/cas/ca-1/sign HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(admin)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)",
                seconds: 30, halfClosing: true)
            #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(300))")
            #expect(answer.contains(#""status":"ACTIVE""#))

            // Requests pipelined behind it, then the half-close: each is answered (those behind
            // it were dropped, unanswered, as the router heard of the half-close first).
            func sign(_ commonName: String) throws -> String {
                let body = Self.signBody(try TestPKI.csr(commonName: commonName, key: try TestPKI.key("ECDSA", 256)))
                return "POST /api/ca/v1/cas/ca-1/sign HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(admin)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            let health = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            for (requests, expected) in [
                (try sign("first") + health, ["201", "200"]), (try sign("a") + sign("b"), ["201", "201"]),
                (try sign("c") + health + sign("d"), ["201", "200", "201"]),
            ] {
                let answers = try await FastPathTests.exchange(port: port, requests, seconds: 30, halfClosing: true)
                let statuses = answers.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
                #expect(statuses == expected, "\(answers.prefix(400))")
            }

            // A malformed request pipelined behind it is refused after it, not before.
            let next = Self.signBody(try TestPKI.csr(commonName: "pipelined", key: try TestPKI.key("ECDSA", 256)))
            let pipelined = try await FastPathTests.exchange(
                port: port,
                "POST /api/ca/v1/cas/ca-1/sign HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(admin)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(next.utf8.count)\r\n\r\n\(next)GARBAGE / HTTP/9.9\r\n\r\n",
                seconds: 30)
            let statuses = pipelined.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["201", "400"], "\(pipelined.prefix(400))")
            #expect(pipelined.contains(#"{"err":"the request is not HTTP/1.x"}"#) || pipelined.contains(#"{"err":"the request's method is not valid"}"#), "\(pipelined.suffix(300))")
        }
        await app.cleanup()
    }

    @Test func signsForKnownCallersAsTheRouterDoes() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let admin = try await app.token(.admin)
        let newcomer = try await app.token(.operator, subject: "newcomer")
        let viewer = try await app.token(.viewer, subject: "reader")
        try await app.withLiveServer { client in
            func call(_ path: String, token: String, body: String?, headers: [(String, String)] = []) async throws -> LiveClient.Reply {
                try await client.request(.POST, path, token: token, body: body, headers: headers, plainHTTP: true)
            }
            // Routed calls: the admin's token is verified and cached on the first.
            let profile = try await call(
                "/api/ca/v1/profiles", token: admin,
                body: #"{"id":"device-profile","validity":{"type":"Duration","duration":"1y"},"extended_key_usages":["ClientAuth"]}"#)
            #expect(profile.status == 201, "\(profile.text)")
            let ca = try await call(
                "/api/ca/v1/cas", token: admin,
                body: #"{"id":"ca-1","subject":{"common_name":"CA 1"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"10y"}}"#)
            #expect(ca.status == 201, "\(ca.text)")

            // A token seen for the first time goes through the router; the admin's does not.
            let key = try TestPKI.key("ECDSA", 256)
            let first = try await call(
                "/api/ca/v1/cas/ca-1/sign", token: newcomer, body: Self.signBody(try TestPKI.csr(commonName: "dev-1", key: key)))
            #expect(first.status == 201, "\(first.text)")
            #expect(Self.answeredByRouter(first))
            let fast = try await call(
                "/api/ca/v1/cas/ca-1/sign", token: admin, body: Self.signBody(try TestPKI.csr(commonName: "dev-2", key: key)),
                headers: [("X-Request-ID", "trace-7")])
            #expect(fast.status == 201, "\(fast.text)")
            #expect(!Self.answeredByRouter(fast))
            #expect(fast.header("content-type") == "application/json")
            #expect(fast.header("x-request-id") == "trace-7")
            #expect(fast.header("date").flatMap(HTTPDate.parse) != nil, "an HTTP date")
            // The same document either way, for a certificate that parses and names its device.
            let routedFields = try #require(try first.json().objectValue).keys.sorted()
            let fastDocument = try #require(try fast.json().objectValue)
            #expect(fastDocument.keys.sorted() == routedFields)
            #expect(fastDocument["status"] == "ACTIVE")
            let certificate = try TestPKI.certificate(fromAPI: try #require(fastDocument["certificate"]?.stringValue))
            #expect(certificate.subject.description.contains("dev-2"))
            // The other path of the same route, by the newcomer, now known.
            let other = try await call(
                "/api/ca/v1/cas/ca-1/certificates/sign", token: newcomer,
                body: Self.signBody(try TestPKI.csr(commonName: "dev-3", key: key)))
            #expect(other.status == 201, "\(other.text)")
            #expect(!Self.answeredByRouter(other))

            // Errors are the router's: status, {"err"} naming the problem, and nothing stored.
            let unknownCA = try await call("/api/ca/v1/cas/nope/sign", token: admin, body: Self.signBody(try TestPKI.csr(commonName: "x", key: key)))
            #expect(unknownCA.status == 404)
            #expect(unknownCA.text == #"{"err":"CA 'nope' not found"}"#)
            #expect(!Self.answeredByRouter(unknownCA))
            let malformed = try await call("/api/ca/v1/cas/ca-1/sign", token: admin, body: Self.signBody("bm90IGEgQ1NS"))
            #expect(malformed.status == 400, "\(malformed.text)")
            #expect(malformed.text == #"{"err":"csr is not a PKCS#10 certificate request"}"#)
            let notJSON = try await call("/api/ca/v1/cas/ca-1/sign", token: admin, body: "{")
            #expect(notJSON.status == 400, "\(notJSON.text)")
            let empty = try await call("/api/ca/v1/cas/ca-1/sign", token: admin, body: nil)
            #expect(empty.status == 400)
            #expect(empty.text == #"{"err":"a JSON request body is required"}"#)

            // A role too low is the router's 403, the first time and once the token is known.
            for _ in 0..<2 {
                let refused = try await call(
                    "/api/ca/v1/cas/ca-1/sign", token: viewer, body: Self.signBody(try TestPKI.csr(commonName: "v", key: key)))
                #expect(refused.status == 403, "\(refused.text)")
                #expect(Self.answeredByRouter(refused))
            }

            // Exactly the three signed certificates were stored.
            let listed = try await client.request(.GET, "/api/ca/v1/cas/ca-1/certificates", token: admin)
            #expect(try listed.json()["list"]?.arrayValue?.count == 3, "\(listed.text)")
            // Counted and audited as routed requests are.
            let metrics = try await client.request(.GET, "/metrics")
            #expect(metrics.text.contains(
                #"hb_requests{http_route="/api/ca/v1/cas/{id}/sign",http_request_method="POST",http_response_status_code="201"}"#))
            #expect(metrics.text.contains(
                #"http_server_request_duration_count{http_route="/api/ca/v1/cas/{id}/sign",http_request_method="POST",http_response_status_code="404"}"#),
                "the unknown CA's answer, timed (the registry is the process's: other tests count too)")
            #expect(app.logs.all.contains { $0.contains("POST /api/ca/v1/cas/ca-1/sign 201") && $0.contains("hb.request.id=trace-7") })
        }
        await app.cleanup()
    }

    /// EST enrollment over mutual TLS, on the fast path unless the request carries a bearer token.
    @Test func enrollsDevicesOverMutualTLS() async throws {
        let app = try await TestApp.make()
        try await app.withESTWorld { world in
            let (server, caPath, token) = (world.server, world.caPath, world.token)
            try await world.createDMS("factory-dms")
            var device = try TestDevice("sensor-1")
            try await world.bootstrap(&device)
            let client = try device.client(server, caCertificatePath: caPath)
            let path = "/.well-known/est/factory-dms/simpleenroll"
            let enrolled = try await client.est(path, csr: try device.csrBody())
            #expect(enrolled.status == 200, "\(enrolled.text)")
            #expect(!Self.answeredByRouter(enrolled))
            #expect(enrolled.header("content-transfer-encoding") == "base64")
            #expect(try ESTReply.certificates(enrolled).map(ESTReply.commonName) == ["sensor-1"])
            #expect(enrolled.header("x-request-id") != nil)
            // PEM when asked for, as the router answers.
            let pem = try await client.est(path, csr: try device.csrBody(), headers: [("Accept", "application/x-pem-file")])
            #expect(pem.status == 200, "\(pem.text)")
            #expect(pem.header("content-type") == "application/x-pem-file")
            #expect(pem.text.hasPrefix("-----BEGIN CERTIFICATE-----"))
            // Refusals are the router's.
            let wrongType = try await client.est(path, csr: try device.csrBody(), contentType: "text/plain")
            #expect(wrongType.status == 415)
            #expect(wrongType.text.contains("application/pkcs10"), "\(wrongType.text)")
            #expect(!Self.answeredByRouter(wrongType))
            let unknownDMS = try await client.est("/.well-known/est/nope/simpleenroll", csr: try device.csrBody())
            #expect(unknownDMS.status == 404, "\(unknownDMS.text)")
            // Credentials of the API go to the router, which knows who is calling.
            let withToken = try await client.est(path, csr: try device.csrBody(), headers: [("Authorization", "Bearer \(token)")])
            #expect(withToken.status == 200, "\(withToken.text)")
            #expect(Self.answeredByRouter(withToken))
            try await client.shutdown()
        }
        await app.cleanup()
    }

    /// A server shutting down closes idle connections; one whose enrollment still runs on its
    /// task (here, waiting 2 s for the DMS's webhook) is answered first, and what it answered is
    /// stored.
    @Test func answersARunningEnrollmentBeforeShuttingDown() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let port = app.configuration.httpPort!
        let webhook = try await TestWebhook.start()
        let answer = Shared<Task<String, any Error>?>(nil)
        try await app.withESTWorld { world in
            try await world.createDMS("slow-dms", [
                ("enrollment_settings", "est_rfc7030_settings", [
                    "auth_mode": "EXTERNAL_WEBHOOK",
                    "external_webhook_settings": [
                        "name": "slow MES", "url": .string("\(webhook.baseURL)/slow"), "method": "POST",
                        "config": ["call_timeout": "10s"],
                    ],
                ]),
            ])
            let csr = try TestDevice("late-1").csrBody()
            let request =
                "POST /.well-known/est/slow-dms/simpleenroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/pkcs10\r\n"
                + "Content-Length: \(csr.utf8.count)\r\n\r\n\(csr)"
            answer.withLock { $0 = Task { try await FastPathTests.exchange(port: port, request, seconds: 30) } }
            // Shut down (when this returns) while the enrollment waits for the webhook.
            while webhook.calls == 0 { try await Task.sleep(for: .milliseconds(10)) }
            // Meanwhile it counts among the requests being answered, as routed ones do.
            let metrics = try await world.server.request(.GET, "/metrics").text
            let active = metrics.split(separator: "\n").first { $0.hasPrefix(#"http_server_active_requests{http_request_method="POST"}"#) }
            #expect(active.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0 >= 1, "\(active ?? "no gauge")")
        }
        let reply = try await #require(answer.withLock { $0 }).value
        #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply)")
        await webhook.stop()
        // The enrolled device is in the database the server closed after answering.
        let token = try await app.token(.admin)
        try await app.withLiveServer { server in
            let device = try await server.request(.GET, "/api/devmanager/v1/devices/late-1", token: token)
            #expect(device.status == 200, "\(device.text)")
        }
        await app.cleanup()
    }

    /// An authenticated request runs on a task while the connection's next requests have arrived:
    /// they wait for its answer, fast-path and routed ones alike.
    @Test func keepsPipelinedAnswersInOrder() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let port = app.configuration.httpPort!
        let admin = try await app.token(.admin)
        try await app.withLiveServer { client in
            _ = try await client.request(
                .POST, "/api/ca/v1/profiles", token: admin,
                body: #"{"id":"device-profile","validity":{"type":"Duration","duration":"1y"}}"#)
            _ = try await client.request(
                .POST, "/api/ca/v1/cas", token: admin,
                body: #"{"id":"ca-1","subject":{"common_name":"CA 1"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"10y"}}"#)
            let body = Self.signBody(try TestPKI.csr(commonName: "dev-1", key: try TestPKI.key("ECDSA", 256)))
            func sign(_ path: String) -> String {
                "POST \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(admin)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            let answers = try await FastPathTests.exchange(
                port: port,
                sign("/api/ca/v1/cas/ca-1/sign") + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                    + sign("/api/ca/v1/cas/nope/sign")
                    + "GET /api/ca/v1/profiles/device-profile HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(admin)\r\nConnection: close\r\n\r\n",
                seconds: 30)
            let statuses = answers.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["201", "200", "404", "200"], "\(answers)")
        }
        await app.cleanup()
    }
}
