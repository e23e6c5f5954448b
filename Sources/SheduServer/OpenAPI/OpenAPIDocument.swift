import Hummingbird
import SheduCore
import Synchronization

/// The OpenAPI 3.1 document of the whole API, generated from the routes as registered, so it
/// cannot name a route the server lacks (a test checks the converse against the router).
struct OpenAPIDocument {
    let routes: [DocumentedRoute]

    var document: JSONValue {
        var paths: [String: JSONValue] = [:]
        for route in routes {
            var operations = paths[route.path]?.objectValue ?? [:]
            operations[route.method.rawValue.lowercased()] = operation(route)
            paths[route.path] = .object(operations)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Shedu",
                "version": .string(SystemRoutes.version),
                "description": "IoT PKI and device identity. Wire-compatible with the Lamassu IoT API.",
            ],
            "paths": .object(paths),
            "components": [
                "securitySchemes": [
                    "bearerAuth": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]
                ],
                "schemas": .object(OpenAPISchemas.all),
            ],
        ]
    }

    private func operation(_ route: DocumentedRoute) -> JSONValue {
        var operation: [String: JSONValue] = [
            "summary": .string(route.summary), "tags": [.string(route.tag)],
            "operationId": .string(Self.operationID(route)),
        ]
        var parameters: [JSONValue] = route.path.split(separator: "/").compactMap { segment in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return nil }
            return [
                "name": .string(String(segment.dropFirst().dropLast())), "in": "path", "required": true,
                "schema": ["type": "string"],
            ]
        }
        if route.isList {
            parameters += [
                Self.queryParameter("page_size", "integer", "Items per page (default 25, at most 1000)"),
                Self.queryParameter("bookmark", "string", "Opaque bookmark of the next page"),
                Self.queryParameter("sort_by", "string", "A filterable field, or metadata[jsonpath]$.a.b"),
                Self.queryParameter("sort_mode", "string", "asc or desc"),
            ]
        }
        for name in route.isList ? ["filter"] : route.filterParameters {
            parameters.append([
                "name": .string(name), "in": "query", "required": false, "explode": true,
                "description": "field[operator]value; repeatable, AND-ed",
                "schema": ["type": "array", "items": ["type": "string"]],
            ])
        }
        parameters += route.queryParameters.map { Self.queryParameter($0.name, "string", $0.description) }
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let schema = route.requestSchema {
            operation["requestBody"] = [
                "required": true,
                "content": [.init(stringLiteral: route.contentTypes.request): ["schema": Self.reference(schema)]],
            ]
        }
        var success: [String: JSONValue] = ["description": .string(route.successStatus.reasonPhrase)]
        if let schema = route.responseSchema {
            let body = route.isList ? Self.listSchema(of: schema) : Self.reference(schema)
            success["content"] = .object([route.contentTypes.response: ["schema": body]])
        } else if !route.contentTypes.response.isEmpty, route.contentTypes.response != "application/json" {
            success["content"] = .object([route.contentTypes.response: ["schema": ["type": "string"]]])
        }
        var responses: [String: JSONValue] = [String(route.successStatus.code): .object(success)]
        let error: JSONValue = ["$ref": "#/components/responses/Error"]
        responses["400"] = error
        // What the path or the body names may not exist; a write may collide with what exists
        // (a duplicate id, a resource in use, a status that does not allow it).
        if route.path.contains("{") || route.requestSchema != nil { responses["404"] = error }
        if ![.get, .head].contains(route.method) { responses["409"] = error }
        if case .role = route.access {
            responses["401"] = error
            responses["403"] = error
            operation["security"] = [["bearerAuth": []]]
        } else {
            operation["security"] = []
        }
        operation["responses"] = .object(responses.mapValues { value in
            value == error ? Self.errorResponse : value
        })
        return .object(operation)
    }

    private static let errorResponse: JSONValue = [
        "description": "Error", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
    ]

    private static func reference(_ schema: String) -> JSONValue {
        ["$ref": .string("#/components/schemas/\(schema)")]
    }

    private static func listSchema(of schema: String) -> JSONValue {
        [
            "type": "object", "required": ["list"],
            "properties": [
                "list": ["type": "array", "items": reference(schema)],
                "next": ["type": "string", "description": "Bookmark of the next page; absent on the last"],
            ],
        ]
    }

    private static func queryParameter(_ name: String, _ type: String, _ description: String) -> JSONValue {
        [
            "name": .string(name), "in": "query", "required": false, "description": .string(description),
            "schema": ["type": .string(type)],
        ]
    }

    static func operationID(_ route: DocumentedRoute) -> String {
        let words = route.path.split(separator: "/").map { segment -> String in
            let cleaned = segment.filter { $0.isLetter || $0.isNumber }
            return cleaned.prefix(1).uppercased() + cleaned.dropFirst()
        }
        return route.method.rawValue.lowercased() + words.joined()
    }
}

/// Renders the document once, on first use, after every route is registered.
final class OpenAPIDocumentCache: Sendable {
    private let api: APIRouter
    private let cache = Mutex<(json: String, yaml: String)?>(nil)

    init(api: APIRouter) {
        self.api = api
    }

    var rendered: (json: String, yaml: String) {
        cache.withLock { cached in
            if let cached { return cached }
            let document = OpenAPIDocument(routes: api.routes).document
            let rendered = (json: document.jsonText(), yaml: YAMLWriter.render(document))
            cached = rendered
            return rendered
        }
    }
}
