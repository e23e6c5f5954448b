import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOSSL
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("API conventions: errors, bodies, lists")
struct ConventionTests {
    /// A TLS connection cut while its request's body was read (the client gave up, or the
    /// request timeout closed it) is the client's doing: a 400, not a 500 logged as a server
    /// error (a slowloris on HTTPS raised the 5xx count).
    @Test func aTLSConnectionCutMidBodyIsNotAServerError() {
        let logs = LogCapture()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(capture: logs) }
        let (status, message) = ErrorMiddleware.describe(NIOSSLError.uncleanShutdown, requestID: "r1", logger: logger)
        #expect(status == .badRequest)
        #expect(message == "the connection ended before the request's body did")
        #expect(logs.all.isEmpty, "\(logs.all)")
    }

    @Test func healthIsPublicEverywhere() async throws {
        let app = try await TestApp.make()
        try await app.withRouter { client in
            for path in ["/health"] + SystemRoutes.serviceBases.map({ "\($0)/health" }) {
                let response = try await client.send(.get, path)
                #expect(response.status == .ok, "\(path)")
                #expect(try response.json() == ["health": true, "version": .string(SystemRoutes.version)])
            }
        }
        await app.cleanup()
    }

    @Test func unknownRoutesAnswerJSON404() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            for (method, path) in [(HTTPRequest.Method.get, "/nope"), (.get, "/api/ca/v1/nope"), (.patch, "/api/ca/v1/profiles")] {
                let response = try await client.send(method, path, token: token)
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/json")
                #expect(try response.json()["err"] == .string("no route for \(method) \(path)"))
            }
        }
        await app.cleanup()
    }

    /// A second server on the same SQLite database is refused while the first runs: it would
    /// answer OCSP and CRLs from its own caches after the first revoked a certificate. Once the
    /// first stopped, a server starts again.
    @Test func oneServerPerSQLiteDatabase() async throws {
        let app = try await TestApp.make()
        try await app.withRouter { client in
            let second = await #expect(throws: SheduError.self) {
                _ = try await buildApplication(configuration: app.configuration, logger: app.logger)
            }
            #expect(second?.message.contains("another Shedu server is running on the SQLite database") == true, "\(String(describing: second))")
            // Refused before it writes anything: another host name would have reissued the TLS certificate.
            let serverCertificate = try Data(contentsOf: app.dataFolder.serverCertificate)
            var elsewhere = app.configuration
            elsewhere.host = "127.0.0.2"
            await #expect(throws: SheduError.self) { _ = try await buildApplication(configuration: elsewhere, logger: app.logger) }
            #expect(try Data(contentsOf: app.dataFolder.serverCertificate) == serverCertificate)
            // A symbolic link names the same database.
            let databasePath = String(app.configuration.resolvedDatabaseURL.dropFirst("sqlite://".count))
            let link = app.folder.appendingPathComponent("link.sqlite").path
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: databasePath)
            var linked = app.configuration
            linked.databaseURL = "sqlite://\(link)"
            let throughLink = await #expect(throws: SheduError.self) { _ = try await buildApplication(configuration: linked, logger: app.logger) }
            #expect(throughLink?.message.contains("another Shedu server is running") == true, "\(String(describing: throughLink))")
            let health = try await client.send(.get, "/health")
            #expect(health.status == .ok, "the first server is unharmed")
        }
        try await app.withRouter { client in
            let health = try await client.send(.get, "/health")
            #expect(health.status == .ok)
        }
        await app.cleanup()
    }

    /// A request that reaches the database after it closed (the server stopping, or one of its
    /// services failed) is a 503 that says so, for reads and writes alike, not a 500.
    @Test func aClosedDatabaseIsA503() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        try await app.withRouter { client, services in
            await services.database.close()
            let read = try await client.send(.get, "/api/ca/v1/cas", token: token)
            let write = try await client.send(
                .post, "/api/ca/v1/profiles", token: token, json: #"{"id":"p","validity":{"type":"Duration","duration":"1y"}}"#)
            for response in [read, write] {
                #expect(response.status == .serviceUnavailable, "\(response.text)")
                #expect(try response.json()["err"] == .string("the database is closed: the server is stopping"))
            }
        }
        await app.cleanup()
    }

    @Test func badBodiesAre400sThatNameTheProblem() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let cases: [(String?, String)] = [
                (#"{"id":"x","#, "request body is not valid JSON"),
                (nil, "a JSON request body is required"),
                (#"{"id":"x"}"#, "validity is required"),
                (#"{"id":"x","validity":{"type":"Duration","duration":"1 year"}}"#, "validity.duration '1 year' is not a duration"),
                (#"{"id":7,"validity":{"type":"Duration","duration":"1y"}}"#, "id must be a string"),
                (#"{"validity":{"type":"Duration","duration":"1y"},"sign_as_ca":"yes"}"#, "sign_as_ca must be a boolean"),
                (#"{"validity":{"type":"Duration","duration":"1y"},"key_usage":["Flying"]}"#, "key_usage 'Flying' is not one of"),
                (#"{"validity":{"type":"Duration","duration":"1y"},"crypto_enforcement":{"allowed_rsa_key_sizes":[1024]}}"#,
                 "crypto_enforcement.allowed_rsa_key_sizes: 1024 is not one of 2048, 3072, 4096"),
                (#"{"validity":{"type":"Duration","duration":"1y"},"key_usage":["KeyAgreement","EncipherOnly","DecipherOnly"]}"#,
                 "key_usage: EncipherOnly and DecipherOnly exclude each other"),
                (#"{"validity":{"type":"Duration","duration":"1y"},"crypto_enforcement":{"enabled":true,"allowed_ecdsa_key_sizes":[]}}"#,
                 "crypto_enforcement.allowed_ecdsa_key_sizes is empty; set crypto_enforcement.allow_ecdsa_keys false to refuse those keys"),
                // The profile's subject is checked when written, not at every signature after.
                (#"{"validity":{"type":"Duration","duration":"1y"},"subject":{"country":"Spain"}}"#,
                 "subject: subject.country must be a two-letter country code"),
                // Two bytes, but no PrintableString: these were 500s.
                (#"{"validity":{"type":"Duration","duration":"1y"},"subject":{"country":"U_"}}"#,
                 "subject.country must be a two-letter country code, not 'U_'"),
                (#"{"validity":{"type":"Duration","duration":"1y"},"subject":{"country":"ü"}}"#,
                 "subject.country must be a two-letter country code, not 'ü'"),
                (#"{"validity":{"type":"Duration","duration":"1y"},"subject":{"common_name":"\#(String(repeating: "c", count: 70))"}}"#,
                 "subject: the subject's common name is 70 characters long; RFC 5280 allows 1 to 64"),
                ("[]", "must be an object"),
            ]
            for (body, message) in cases {
                let response = try await client.send(.post, "/api/ca/v1/profiles", token: token, json: body)
                #expect(response.status == .badRequest, "\(body ?? "nil")")
                let error = try response.json()["err"]?.stringValue ?? ""
                #expect(error.contains(message), "\(body ?? "nil") → \(error)")
            }
            let list = try await client.send(.get, "/api/ca/v1/profiles", token: token)
            #expect(try list.json() == ["list": []], "nothing was written")
            // An inline profile follows the same rules.
            _ = try await CAClient(client: client, token: token).createCA(id: "ca", expiration: "1y")
            let csr = try TestPKI.csr(commonName: "d", key: try TestPKI.key("ECDSA", 256))
            let inline = try await client.send(
                .post, "/api/ca/v1/cas/ca/sign", token: token,
                json: #"{"csr":"\#(csr)","profile":{"validity":{"type":"Duration","duration":"1d"},"crypto_enforcement":{"enabled":true,"allowed_rsa_key_sizes":[2056]}}}"#)
            #expect(inline.status == .badRequest)
            #expect(try inline.json()["err"] == "profile.crypto_enforcement.allowed_rsa_key_sizes: 2056 is not one of 2048, 3072, 4096")
        }
        await app.cleanup()
    }

    @Test func oversizedBodiesAre413() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let huge = #"{"id":"x","description":""# + String(repeating: "a", count: 2 << 20) + #""}"#
            let response = try await client.send(.post, "/api/ca/v1/profiles", token: token, json: huge)
            #expect(response.status == .contentTooLarge)
            #expect(try response.json()["err"]?.stringValue?.contains("larger than") == true)
        }
        await app.cleanup()
    }

    @Test(arguments: TestBackend.available)
    func profileLifecycle(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let body = #"{"id":"device-profile","name":"Devices","validity":{"type":"Duration","duration":"1y"}}"#
            let created = try await client.send(.post, "/api/ca/v1/profiles", token: token, json: body)
            #expect(created.status == .created)
            let profile = try created.json()
            #expect(profile["id"] == "device-profile")
            #expect(profile["validity"] == ["type": "Duration", "duration": "1y"])
            #expect(profile["key_usage"] == ["DigitalSignature"])
            #expect(profile["extended_key_usages"] == ["ClientAuth"])
            #expect(profile["honor_subject"] == true)

            let duplicate = try await client.send(.post, "/api/ca/v1/profiles", token: token, json: body)
            #expect(duplicate.status == .conflict)
            #expect(try duplicate.json()["err"] == "issuance profile 'device-profile' already exists")

            let generated = try await client.send(
                .post, "/api/ca/v1/profiles", token: token,
                json: #"{"name":"CA","sign_as_ca":true,"validity":{"type":"Time","time":"2036-01-01T00:00:00Z"}}"#)
            let generatedID = try #require(try generated.json()["id"]?.stringValue)
            #expect(UUID(uuidString: generatedID) != nil)
            #expect(try generated.json()["key_usage"] == ["CertSign", "CRLSign"])
            #expect(try generated.json()["validity"] == ["type": "Time", "time": "2036-01-01T00:00:00Z"])

            let replaced = try await client.send(
                .put, "/api/ca/v1/profiles/device-profile", token: token,
                json: #"{"name":"Renamed","validity":{"type":"Duration","duration":"90d"},"key_usage":"digitalsignature"}"#)
            #expect(replaced.status == .ok)
            #expect(try replaced.json()["name"] == "Renamed")
            #expect(try replaced.json()["validity"]?["duration"] == "12w6d")
            let fetched = try await client.send(.get, "/api/ca/v1/profiles/device-profile", token: token)
            #expect(try fetched.json() == (try replaced.json()))

            let mismatch = try await client.send(
                .put, "/api/ca/v1/profiles/device-profile", token: token,
                json: #"{"id":"other","validity":{"type":"Duration","duration":"1d"}}"#)
            #expect(mismatch.status == .badRequest)

            let deleted = try await client.send(.delete, "/api/ca/v1/profiles/device-profile", token: token)
            #expect(deleted.status == .noContent)
            #expect(deleted.body.readableBytes == 0)
            for method in [HTTPRequest.Method.get, .delete] {
                let missing = try await client.send(method, "/api/ca/v1/profiles/device-profile", token: token)
                #expect(missing.status == .notFound)
                #expect(try missing.json()["err"] == "issuance profile 'device-profile' not found")
            }
            let missingPut = try await client.send(
                .put, "/api/ca/v1/profiles/device-profile", token: token, json: #"{"validity":{"type":"Duration","duration":"1d"}}"#)
            #expect(missingPut.status == .notFound)
        }
        await app.cleanup()
    }

    @Test(arguments: TestBackend.available)
    func listsPageWithBookmarksAndRefuseBadParameters(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            for index in 0..<23 {
                let body = #"{"id":"p\#(String(format: "%02d", index))","name":"\#(index % 2 == 0 ? "even" : "odd")","validity":{"type":"Duration","duration":"1d"}}"#
                #expect(try await client.send(.post, "/api/ca/v1/profiles", token: token, json: body).status == .created)
            }
            var ids: [String] = []
            var uri = "/api/ca/v1/profiles?filter=name%5Beq%5D=even&sort_by=id&sort_mode=desc&page_size=5"
            while true {
                let response = try await client.send(.get, uri, token: token)
                #expect(response.status == .ok)
                let page = try response.json()
                ids += page["list"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                guard let next = page["next"]?.stringValue else { break }
                uri = "/api/ca/v1/profiles?bookmark=\(next)"
            }
            #expect(ids == stride(from: 22, through: 0, by: -2).map { String(format: "p%02d", $0) })

            let problems = [
                ("filter=status[eq]ACTIVE", "filter field 'status' is not filterable; use one of: id, name"),
                ("filter=name[gt]x", "filter operator 'gt' does not apply to field 'name' of type string"),
                ("page_size=-1", "page_size '-1' must be a positive integer"),
                ("sort_by=validity", "sort_by 'validity' is not a sortable field"),
                ("bookmark=nonsense", "bookmark is not one this server issued"),
            ]
            for (query, message) in problems {
                let response = try await client.send(.get, "/api/ca/v1/profiles?\(query)", token: token)
                #expect(response.status == .badRequest, "\(query)")
                #expect(try response.json()["err"]?.stringValue?.hasPrefix(message) == true, "\(query)")
            }
        }
        await app.cleanup()
    }

    @Test func formEncodedQueriesDecodeLikeLamassu() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let body = #"{"id":"a b","name":"Factory floor","validity":{"type":"Duration","duration":"1d"}}"#
            _ = try await client.send(.post, "/api/ca/v1/profiles", token: token, json: body)
            for query in ["filter=name[eq]Factory+floor", "filter=name%5Beq%5DFactory%20floor", "filter=name[ct_ic]=FLOOR"] {
                let response = try await client.send(.get, "/api/ca/v1/profiles?\(query)", token: token)
                #expect(try response.json()["list"]?.arrayValue?.count == 1, "\(query)")
            }
            let byPath = try await client.send(.get, "/api/ca/v1/profiles/a%20b", token: token)
            #expect(byPath.status == .ok)
        }
        await app.cleanup()
    }

    @Test func requestIDsAreReturnedAndHonored() async throws {
        let app = try await TestApp.make()
        try await app.withRouter { client in
            let generated = try await client.send(.get, "/health")
            #expect((generated.headers[.init("x-request-id")!]?.count ?? 0) > 8)
            let given = try await client.send(.get, "/health", headers: [.init("x-request-id")!: "trace-42"])
            #expect(given.headers[.init("x-request-id")!] == "trace-42")
            let refused = try await client.send(.get, "/health", headers: [.init("x-request-id")!: "bad id\u{7}"])
            #expect(refused.headers[.init("x-request-id")!] != "bad id\u{7}")
        }
        await app.cleanup()
    }
}
