import Hummingbird
import NIOCore
import Prometheus
import SheduCore

/// `/health`, each service's `<base>/health`, `/metrics` and the OpenAPI document.
struct SystemRoutes {
    static let version = "0.1.0"
    static let serviceBases = [
        "/api/ca/v1", "/api/devmanager/v1", "/api/dmsmanager/v1", "/api/kms/v1", "/api/va", "/api/alerts/v1",
    ]

    /// The health document never changes while the server runs: encoded once.
    static let healthBody = JSONValue.object(["health": true, "version": .string(version)]).jsonText()

    static func register(on api: APIRouter, registry: PrometheusCollectorRegistry) {
        for path in ["/health"] + serviceBases.map({ "\($0)/health" }) {
            api.on(.get, path, access: .public, summary: "Health", tag: "System", response: "Health") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: healthBody)))
            }
        }
        api.on(
            .get, "/metrics", access: .public, summary: "Prometheus metrics", tag: "System",
            contentTypes: ("", "text/plain; version=0.0.4")
        ) { _, _ in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16_384)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    static func registerFastPath(on routes: inout FastPathRoutes) {
        let body = ByteBuffer(string: healthBody)
        routes.add(.GET, .exact("/health"), metricsName: "/health") { _ in
            FastPathResponse(status: .ok, contentType: "application/json", body: body)
        }
    }

    /// The document is built on first request from every route registered by then.
    static func registerOpenAPI(on api: APIRouter) {
        let document = OpenAPIDocumentCache(api: api)
        api.on(.get, "/openapi.json", access: .public, summary: "This OpenAPI document", tag: "System") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: document.rendered.json)))
        }
        api.on(
            .get, "/openapi.yaml", access: .public, summary: "This OpenAPI document (YAML)", tag: "System",
            contentTypes: ("", "application/yaml")
        ) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(string: document.rendered.yaml)))
        }
    }
}
