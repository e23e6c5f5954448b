import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("The OpenAPI document")
struct OpenAPITests {
    /// Every route the router has is in the document, and the document names no other.
    @Test func describesExactlyTheRoutesTheServerHas() async throws {
        let scratch = try await ScratchDatabase.make(.sqlite)
        let database = try await scratch.open()
        let router = Router(context: SheduRequestContext.self)
        let api = APIRouter(router: router)
        registerRoutes(
            on: api, services: SheduServices(database: database, masterKey: SymmetricKey(size: .bits256), clock: SystemClock(),
                publicURL: "https://localhost:8443"), configuration: ServerConfiguration())

        let registered = Set(router.routes.map { "\($0.method.rawValue) \($0.path)" })
        let document = OpenAPIDocument(routes: api.routes).document
        let paths = try #require(document["paths"]?.objectValue)
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.objectValue?.keys ?? [:].keys {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        #expect(registered.subtracting(documented).isEmpty, "missing from the document: \(registered.subtracting(documented))")
        #expect(documented.subtracting(registered).isEmpty, "not routes: \(documented.subtracting(registered))")
        #expect(registered.contains("GET /api/ca/v1/profiles/{id}"))
        #expect(registered.contains("GET /openapi.json"))

        // The stats routes take filters; errors a user meets are listed.
        for path in ["/api/devmanager/v1/stats", "/api/devmanager/v1/device-groups/{id}/stats", "/api/kms/v1/stats",
                     "/api/dmsmanager/v1/stats"] {
            let names = paths[path]?["get"]?["parameters"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(names.contains("filter"), "\(path): \(names)")
        }
        let caStatsParameters = paths["/api/ca/v1/stats"]?["get"]?["parameters"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(caStatsParameters == ["ca_filter", "cert_filter"])
        // The expiration window's own parameters; a status change offers only what the server takes.
        let expiring = paths["/api/ca/v1/certificates/expiration"]?["get"]?["parameters"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(expiring.contains("expires_after") && expiring.contains("expires_before"), "\(expiring)")
        let statusChange = document["components"]?["schemas"]?["StatusChange"]?["properties"]
        #expect(statusChange?["status"]?["enum"]?.arrayValue?.contains("EXPIRED") == false)
        #expect(statusChange?["revocation_reason"]?["enum"]?.arrayValue?.contains("RemoveFromCRL") == false)
        #expect(statusChange?["revocation_reason"]?["enum"]?.arrayValue?.contains("KeyCompromise") == true)
        let device = paths["/api/devmanager/v1/devices/{id}"]
        #expect(device?["get"]?["responses"]?["404"] != nil)
        #expect(device?["delete"]?["responses"]?["409"] != nil, "a device with a live identity")
        #expect(paths["/api/devmanager/v1/devices"]?["post"]?["responses"]?["409"] != nil, "a duplicate id")
        #expect(paths["/api/devmanager/v1/devices"]?["get"]?["responses"]?["409"] == nil)

        // Every schema an operation refers to is defined.
        let schemas = Set(document["components"]?["schemas"]?.objectValue?.keys.map { $0 } ?? [])
        let references = Self.references(in: document)
        #expect(!references.isEmpty)
        for reference in references {
            #expect(schemas.contains(reference), "undefined schema \(reference)")
        }
        await database.close()
        await scratch.drop()
    }

    static func references(in value: JSONValue) -> Set<String> {
        switch value {
        case .object(let members):
            var found = Set<String>()
            if let reference = members["$ref"]?.stringValue, reference.hasPrefix("#/components/schemas/") {
                found.insert(String(reference.dropFirst("#/components/schemas/".count)))
            }
            for member in members.values { found.formUnion(references(in: member)) }
            return found
        case .array(let elements):
            return elements.reduce(into: Set<String>()) { $0.formUnion(references(in: $1)) }
        default:
            return []
        }
    }

    @Test func isServedAsJSONAndYAML() async throws {
        let app = try await TestApp.make()
        try await app.withRouter { client in
            let json = try await client.send(.get, "/openapi.json")
            #expect(json.status == .ok)
            let document = try json.json()
            #expect(document["openapi"] == "3.1.0")
            #expect(document["paths"]?["/api/ca/v1/profiles"]?["get"]?["security"] == [["bearerAuth": []]])
            #expect(document["paths"]?["/health"]?["get"]?["security"] == [])
            let yaml = try await client.send(.get, "/openapi.yaml")
            #expect(yaml.status == .ok)
            #expect(yaml.headers[.contentType] == "application/yaml")
            #expect(yaml.text.contains("\"openapi\": \"3.1.0\""))
            #expect(yaml.text.contains("\"/api/ca/v1/profiles/{id}\":"))
        }
        await app.cleanup()
    }

    @Test func yamlRendersNestedStructures() {
        let document: JSONValue = ["a": [["b": 1, "c": [true, "x"]], []], "d": [:], "e": "line\nbreak"]
        #expect(YAMLWriter.render(document) == """
            "a":
              - "b": 1
                "c":
                  - true
                  - "x"
              - []
            "d": {}
            "e": "line\\nbreak"

            """)
    }
}
