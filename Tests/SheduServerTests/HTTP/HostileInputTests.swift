import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

/// Bad input is a 4xx that names the problem, never a 500: every route of the server, with
/// existing and absurd path values, is sent bodies and queries that are malformed, mistyped or
/// out of range.
@Suite("Hostile input on every route")
struct HostileInputTests {
    /// Values for each `{parameter}` of a path: ones that exist in the world (the first
    /// ``existingIDs``), then absurd ones.
    static let existingIDs = 4
    static let pathValues = [
        "root-ca", "issuing-ca-01", "manufacturing-dms", "device-profile", "nope", "%20", "..", "%2e%2e%2f%2e%2e",
        "%00", "%C3%BC", "-1", "0", String(repeating: "a", count: 2_000), "%ZZ",
    ]

    /// Request bodies: none, malformed, of the wrong JSON type, with mistyped and absurd fields.
    static let bodies: [String?] = [
        nil, "", "{", "[]", "{}", "null", "7", "\"text\"",
        """
        {"id":5,"name":{},"metadata":[],"settings":"x","csr":1,"certificate":[],"status":1,"key_spec":"x",
         "subject":1,"profile_id":1,"patches":"x","revocation_reason":5,"dms_id":[],"tags":"x","validity":3,
         "ca_expiration":[],"issuance_expiration":"x","key_metadata":7,"parent_id":{},"expiration":true}
        """,
        """
        {"id":"","name":"","status":"NOPE","csr":"!!!","certificate":"!!!","dms_id":"","tags":[""],
         "metadata":{"a":null},"validity":{"type":"Date","time":"yesterday"},"ca_expiration":{"type":"Duration","duration":"-1y"},
         "key_metadata":{"type":"RSA","bits":-1},"subject":{"common_name":""},"revocation_reason":"Bored",
         "patches":[{"op":"explode","path":"x"}],"settings":{"enrollment_settings":{"enrollment_ca":""}},
         "key_spec":{"type":"ECDSA","bits":7},"profile_id":"","parent_id":"nope","issuance_profile":{"validity":{}}}
        """,
        #"{"id":"a\u0000b","name":"x\u0000","metadata":{"k\u0000":"\u0000"},"tags":["\u0000"],"dms_id":"\u0000"}"#,
        String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000),
        "{\"id\":\"x\",\"metadata\":" + String(repeating: "{\"a\":", count: 2_000) + "1" + String(repeating: "}", count: 2_000) + "}",
    ]

    /// Queries for reads: filters, page sizes, bookmarks and sorting that make no sense.
    static let queries = [
        "", "?filter=garbage", "?filter=status[equal]", "?filter=status[equal]NOPE", "?filter=created_at[after]notadate",
        "?filter=metadata[jsonpath]$$$", "?page_size=-1", "?page_size=abc", "?page_size=99999999999999999999999",
        "?bookmark=%25%25%25", "?bookmark=abc", "?sort_by=nope&sort_mode=sideways", "?filter=%00", "?filter=a[b]c&filter=",
        "?filter=metadata[jsonpath]$.a[?(@.b==%27x%27)]", "?filter=metadata[jsonpath]%27%3B%20DROP%20TABLE%20devices%3B--",
        "?filter=created_at[before]9999-99-99T99:99:99Z", "?filter=id[contains]%25%5F%5C", "?filter=tags[contains]%27",
        "?filter=status[equal]ACTIVE&filter=status[equal]REVOKED&sort_by=id&sort_mode=desc&page_size=1",
        // Valid filters, more than a query may combine (reaching the query compiler where a list has a status).
        "?" + Array(repeating: "filter=status[ne]ACTIVE", count: 1_500).joined(separator: "&"),
        "?filter=status[in]" + Array(repeating: "ACTIVE", count: 5_000).joined(separator: ","),
    ]

    @Test(arguments: TestBackend.available)
    func noRouteAnswers500(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        let routes = try await Self.routes()
        #expect(routes.count > 50)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            _ = try await world.api.client.send(
                .post, "/api/devmanager/v1/devices", token: token,
                json: #"{"id":"device-1","dms_id":"manufacturing-dms","tags":["a"]}"#)
            var failures: [String] = []
            var sent = 0
            // A CSR whose subject holds a NUL (the null-prefix trick against name checks) is refused,
            // and leaves no certificate behind.
            let before = try await world.api.get("/api/ca/v1/stats/issuing-ca-01")
            let csr = try TestPKI.csr(commonName: "evil\u{0}.example.com", key: try TestPKI.key("ECDSA", 256))
            let signed = try await client.send(
                .post, "/api/ca/v1/cas/issuing-ca-01/certificates/sign", token: token,
                json: #"{"csr":"\#(csr)","profile_id":"device-profile"}"#)
            #expect(signed.status == .badRequest, "\(signed.text)")
            #expect(try signed.json()["err"] == "the subject's common name contains a NUL character")
            #expect(try await world.api.get("/api/ca/v1/stats/issuing-ca-01") == before, "a refused CSR stored nothing")
            for (method, pattern) in routes {
                let paths = pattern.contains("{") ? Self.pathValues.map { Self.fill(pattern, with: $0) } : [pattern]
                for (index, path) in paths.enumerated() {
                    // Every body and query with the world's ids and on routes without parameters;
                    // absurd ids with a few (they are refused before the body is read).
                    let thorough = !pattern.contains("{") || index < Self.existingIDs
                    let variants: [(uri: String, body: String?, contentType: String?)] =
                        switch method {
                        case .get, .head, .delete: Self.queries.prefix(thorough ? Self.queries.count : 2).map { (path + $0, nil, nil) }
                        default:
                            Self.bodies.prefix(thorough ? Self.bodies.count : 3).map { (path, $0, "application/json") }
                                + [(path, "!!!", "application/pkcs10"), (path, "MIIB", "application/pkcs10"), (path, "{}", "text/plain")]
                        }
                    for variant in variants {
                        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
                        if let contentType = variant.contentType { headers[.contentType] = contentType }
                        let response = try await client.executeRequest(
                            uri: variant.uri, method: method, headers: headers, body: variant.body.map { ByteBuffer(string: $0) })
                        sent += 1
                        let summary = "\(method) \(variant.uri.prefix(120)) body \(variant.body?.prefix(60) ?? "none")"
                        if response.status.code >= 500 {
                            failures.append("\(response.status.code) \(summary): \(String(buffer: response.body).prefix(200))")
                        } else if response.status.code >= 400, method != .head,
                            (try? JSONValue.parse(String(buffer: response.body), field: "response"))?["err"]?.stringValue == nil
                        {
                            failures.append("\(response.status.code) without {\"err\"} \(summary): \(String(buffer: response.body).prefix(200))")
                        }
                    }
                }
            }
            #expect(sent > 4_000)
            #expect(failures.isEmpty, "\(failures.count) of \(sent) requests:\n\(failures.prefix(40).joined(separator: "\n"))")
        }
        await app.cleanup()
    }

    /// An id with a control character is refused on every create: one with a NUL was stored, and
    /// no path could name it again to read or delete it.
    @Test func idsWithControlCharactersAreRefused() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            let lists = ["/api/ca/v1/cas", "/api/ca/v1/profiles", "/api/dmsmanager/v1/dms", "/api/devmanager/v1/devices",
                         "/api/devmanager/v1/device-groups"]
            func counts() async throws -> [Int] {
                var counts: [Int] = []
                for list in lists { counts.append(try await world.api.get(list)["list"]?.arrayValue?.count ?? -1) }
                return counts
            }
            let before = try await counts()
            // A leading byte-order mark was stored and then lost on the way back through a path;
            // a padded device id was trimmed without a word.
            for id in [#"x\u0000y"#, #"bell\u0007"#, #"line\nbreak"#, #"del\u007f"#, #"\ufeffbom"#, #"zero\u200bwidth"#, " padded ", ".", ".."] {
                let bodies = [
                    #"{"id":"\#(id)","subject":{"common_name":"c"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"1y"}}"#,
                    #"{"id":"\#(id)","validity":{"type":"Duration","duration":"1y"}}"#,
                    #"{"id":"\#(id)","settings":{"enrollment_settings":{"protocol":"EST_RFC7030","enrollment_ca":"issuing-ca-01","registration_mode":"JITP","est_rfc7030_settings":{"auth_mode":"NO_AUTH"}}}}"#,
                    #"{"id":"\#(id)","dms_id":"manufacturing-dms"}"#,
                    #"{"id":"\#(id)","name":"group"}"#,
                ]
                for (list, body) in zip(lists, bodies) {
                    let refused = try await client.send(.post, list, token: token, json: body)
                    #expect(refused.status == .badRequest, "\(list) \(id): \(refused.text)")
                    let message = try refused.json()["err"]?.stringValue ?? ""
                    #expect(message.contains("control characters") || message.contains("the NUL character"), "\(list): \(refused.text)")
                    if id.hasPrefix(".") { #expect(message.contains("not '.' or '..'"), "\(list): \(refused.text)") }
                }
            }
            #expect(try await counts() == before, "nothing was created")
        }
        await app.cleanup()
    }

    /// A NUL character (U+0000) anywhere in a body or a filter is refused alike on both stores:
    /// PostgreSQL cannot hold one, and SQLite stored it.
    @Test(arguments: TestBackend.available)
    func theNULCharacterIsRefusedAlikeOnBothStores(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            try await world.register("plain")
            let stored = "a value contains the NUL character (U+0000), which cannot be stored"
            for (method, path, body) in [
                (HTTPRequest.Method.post, "/api/devmanager/v1/devices", #"{"id":"tagged","dms_id":"manufacturing-dms","tags":["a\u0000"]}"#),
                (.post, "/api/ca/v1/profiles", #"{"id":"named","name":"x\u0000y","validity":{"type":"Duration","duration":"1y"}}"#),
                (.patch, "/api/devmanager/v1/devices/plain/metadata", #"{"k":"v\u0000"}"#),
                (.put, "/api/devmanager/v1/devices/plain/metadata", #"{"k\u0000":1}"#),
            ] {
                let refused = try await client.send(method, path, token: token, json: body)
                #expect(refused.status == .badRequest, "\(path): \(refused.text)")
                #expect(try refused.json()["err"]?.stringValue == stored, "\(path)")
            }
            let filtered = try await client.send(.get, "/api/devmanager/v1/devices?filter=id[contains]a%00", token: token)
            #expect(filtered.status == .badRequest, "\(filtered.text)")
            #expect(try filtered.json()["err"]?.stringValue?.contains("contains the NUL character (U+0000)") == true)
            #expect(try await world.api.get("/api/devmanager/v1/devices/plain")["metadata"] == [:], "nothing was written")
            // An escaped backslash before u0000 is text, not a NUL.
            let text = try await client.send(.put, "/api/devmanager/v1/devices/plain/metadata", token: token, json: #"{"k":"\\u0000"}"#)
            #expect(text.status == .ok, "\(text.text)")
            #expect(try text.json()["metadata"]?["k"] == "\\u0000")
        }
        await app.cleanup()
    }

    /// The conditions one query may combine are limited, with a 400 that says so: 1,500 filters
    /// were a 500 from SQLite (expression tree deeper than 1,000).
    @Test(arguments: TestBackend.available)
    func filtersAreLimited(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            func list(_ query: String) async throws -> TestResponse {
                try await client.send(.get, "/api/ca/v1/certificates?" + query, token: token)
            }
            let allowed = try await list(Array(repeating: "filter=subject.common_name[ne]x", count: 100).joined(separator: "&"))
            #expect(allowed.status == .ok, "\(allowed.text)")
            let tooMany = try await list(Array(repeating: "filter=subject.common_name[ne]x", count: 101).joined(separator: "&"))
            #expect(tooMany.status == .badRequest)
            #expect(try tooMany.json()["err"] == "101 filters (with any group criteria); at most 100 may be combined")
            let longList = try await list("filter=subject.common_name[in]" + (0..<1_001).map { "S\($0)" }.joined(separator: ","))
            #expect(longList.status == .badRequest)
            #expect(try longList.json()["err"] == "filter on subject.common_name lists 1001 values; at most 1000")
            let stats = try await client.send(
                .get, "/api/devmanager/v1/stats?" + Array(repeating: "filter=id[ne]x", count: 101).joined(separator: "&"),
                token: token)
            #expect(stats.status == .badRequest, "\(stats.text)")
            let criteria = Array(repeating: #"{"field":"id","operand":"ne","value":"x"}"#, count: 101).joined(separator: ",")
            let group = try await client.send(
                .post, "/api/devmanager/v1/device-groups", token: token, json: #"{"id":"g","name":"g","criteria":[\#(criteria)]}"#)
            #expect(group.status == .badRequest)
            #expect(try group.json()["err"] == "101 criteria; a group may have at most 100")

            // Members are listed with the inherited criteria too: a hierarchy past the limit is
            // refused when it would be made, not left with members no query can list.
            func repeatedCriteria(_ count: Int) -> String {
                Array(repeating: #"{"field":"id","operand":"ne","value":"x"}"#, count: count).joined(separator: ",")
            }
            func write(_ method: HTTPRequest.Method, _ path: String, _ body: String) async throws -> TestResponse {
                try await client.send(method, "/api/devmanager/v1/device-groups\(path)", token: token, json: body)
            }
            #expect(try await write(.post, "", #"{"id":"parent","name":"parent","criteria":[\#(repeatedCriteria(60))]}"#).status == .created)
            let tooDeep = try await write(.post, "", #"{"id":"child","name":"child","parent_id":"parent","criteria":[\#(repeatedCriteria(41))]}"#)
            #expect(tooDeep.status == .badRequest)
            #expect(try tooDeep.json()["err"] == "101 criteria for 'child' with those inherited from parent groups; at most 100 may be combined")
            #expect(try await write(.post, "", #"{"id":"child","name":"child","parent_id":"parent","criteria":[\#(repeatedCriteria(40))]}"#).status == .created)
            let growParent = try await write(.put, "/parent", #"{"criteria":[\#(repeatedCriteria(61))]}"#)
            #expect(growParent.status == .badRequest)
            #expect(try growParent.json()["err"]?.stringValue?.contains("for its subgroup 'child'") == true, "\(growParent.text)")
            #expect(try await write(.post, "", #"{"id":"other","name":"other","criteria":[\#(repeatedCriteria(50))]}"#).status == .created)
            #expect(try await write(.put, "/parent", #"{"parent_id":"other"}"#).status == .badRequest, "child would have 150")
            let members = try await client.send(.get, "/api/devmanager/v1/device-groups/child/devices", token: token)
            #expect(members.status == .ok, "\(members.text)")
        }
        await app.cleanup()
    }

    /// The routes answered before the router (OCSP, CRLs, health), spoken to with curl on the
    /// plain-HTTP listener: malformed requests and absurd paths are 4xx there too.
    @Test func theFastPathAnswersNo500() async throws {
        try await VAWorld.run { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            try world.write("garbage.bin", Data((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37) }))
            try world.write("empty.bin", Data())
            try world.write("big.bin", Data(repeating: 0x30, count: 100_000))
            let gets = [
                "/api/va/ocsp/", "/api/va/ocsp/!!!", "/api/va/ocsp/AAAA", "/api/va/ocsp/%ZZ", "/api/va/ocsp/MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ",
                "/api/va/ocsp/" + String(repeating: "QUJD", count: 5_000), "/api/va/ocsp/a/b", "/api/va/crl/", "/api/va/crl/zz",
                "/api/va/crl/00", "/api/va/crl/\(ski)x", "/api/va/crl/\(ski)/x", "/api/va/crl/" + String(repeating: "a", count: 3_000),
                "/health?x=%ZZ",
            ]
            var failures: [String] = []
            for path in gets {
                let (status, _) = try await world.curl(world.baseURL + path, to: "answer")
                if status >= 500 || status == 0 { failures.append("\(status) GET \(path.prefix(100))") }
            }
            for body in ["garbage.bin", "empty.bin", "big.bin"] {
                for contentType in ["application/ocsp-request", "text/plain"] {
                    let (status, _) = try await world.curl(
                        world.ocspURL, to: "answer", headers: ["Content-Type: \(contentType)"], method: "POST", body: body)
                    if status >= 500 || status == 0 { failures.append("\(status) POST \(body) as \(contentType)") }
                }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        }
    }

    /// The server's routes (method and path pattern), as registered.
    static func routes() async throws -> [(HTTPRequest.Method, String)] {
        let scratch = try await ScratchDatabase.make(.sqlite)
        let database = try await scratch.open()
        let router = Router(context: SheduRequestContext.self, options: .autoGenerateHeadEndpoints)
        registerRoutes(
            on: APIRouter(router: router),
            services: SheduServices(
                database: database, masterKey: SymmetricKey(size: .bits256), clock: SystemClock(), publicURL: "https://localhost:8443"),
            configuration: ServerConfiguration())
        let routes = router.routes.map { ($0.method, $0.path.description) }
        await database.close()
        await scratch.drop()
        // Deletions last, so that the other routes meet the world's records while they exist.
        return routes.sorted { ($0.0 == .delete ? 1 : 0, $0.1, $0.0.rawValue) < ($1.0 == .delete ? 1 : 0, $1.1, $1.0.rawValue) }
    }

    /// `pattern` with each `{parameter}` (or `*`) replaced by `value`.
    static func fill(_ pattern: String, with value: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") || segment.hasPrefix(":") || segment == "*" || segment == "**" ? value : String(segment)
        }.joined(separator: "/")
    }
}
