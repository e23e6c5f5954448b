import Hummingbird
import NIOCore
import NIOHTTP1
import Prometheus
import SheduCore

/// `/health`, each service's `<base>/health`, `/metrics` and the OpenAPI document.
struct SystemRoutes {
    static let version = "0.1.0"
    static let serviceBases = [
        "/api/ca/v1", "/api/devmanager/v1", "/api/dmsmanager/v1", "/api/kms/v1", "/api/va", "/api/alerts/v1",
    ]

    /// The health documents never change while the server runs: encoded once.
    static let healthBody = JSONValue.object(["health": true, "version": .string(version)]).jsonText()
    /// 503, for a load balancer to send requests elsewhere; why is in the server's log.
    static let unhealthyBody = JSONValue.object([
        "health": false, "version": .string(version), "err": "the server cannot reach its database",
    ]).jsonText()

    private static let healthyBuffer = ByteBuffer(string: healthBody), unhealthyBuffer = ByteBuffer(string: unhealthyBody)

    /// What `/health` answers now, for the router and the fast path alike.
    static func healthAnswer(_ health: DatabaseHealth) -> (code: Int, body: ByteBuffer) {
        health.isReachable ? (200, healthyBuffer) : (503, unhealthyBuffer)
    }

    static func register(on api: APIRouter, registry: PrometheusCollectorRegistry, health: DatabaseHealth) {
        for path in ["/health"] + serviceBases.map({ "\($0)/health" }) {
            api.on(.get, path, access: .public, summary: "Health", tag: "System", response: "Health") { _, _ in
                let answer = healthAnswer(health)
                return Response(
                    status: .init(code: answer.code), headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: answer.body))
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

    static func registerFastPath(on routes: inout FastPathRoutes, health: DatabaseHealth) {
        routes.add(.GET, .exact("/health"), metricsName: "/health") { _ in
            let answer = healthAnswer(health)
            return FastPathResponse(status: HTTPResponseStatus(statusCode: answer.code), contentType: "application/json", body: answer.body)
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
