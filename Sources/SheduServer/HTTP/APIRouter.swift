import Hummingbird
import SheduCore

/// Who may call a route.
enum Access: Sendable, Equatable {
    /// No credentials needed (health, OpenAPI, metrics, VA, EST).
    case `public`
    /// An authenticated caller with at least this role.
    case role(Role)

    /// Without a word from the route: reads need `viewer`, everything else `operator`.
    static func defaultRole(for method: HTTPRequest.Method) -> Role {
        method == .get || method == .head ? .viewer : .operator
    }
}

/// One route as the OpenAPI document describes it.
struct DocumentedRoute: Sendable {
    var method: HTTPRequest.Method
    var path: String
    var summary: String
    var tag: String
    var access: Access
    /// The JSON schema (a component name) of the request body, if the route reads one.
    var requestSchema: String?
    /// The JSON schema of the success response (a component name), if it has a body.
    var responseSchema: String?
    var successStatus: HTTPResponse.Status
    /// Whether the route takes the list parameters (`filter`, `sort_by`, ...) and answers a list.
    var isList: Bool
    /// The filter parameters a route takes without being a list (the stats routes).
    var filterParameters: [String] = []
    /// Other query parameters the route reads: name and description (strings).
    var queryParameters: [(name: String, description: String)] = []
    var contentTypes: (request: String, response: String)
}

/// Registers routes on the Hummingbird router and records each for the OpenAPI document, so the
/// document and the router are built from the same calls. Every route checks its access here.
final class APIRouter: @unchecked Sendable {
    let router: Router<SheduRequestContext>
    private(set) var routes: [DocumentedRoute] = []

    init(router: Router<SheduRequestContext>) {
        self.router = router
    }

    /// Adds a route. Without `access`, reads need `viewer` and everything else `operator`.
    func on<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method, _ path: String, access: Access? = nil, summary: String, tag: String,
        request: String? = nil, response: String? = nil, status: HTTPResponse.Status = .ok, list: Bool = false,
        filters: [String] = [], queries: [(name: String, description: String)] = [],
        contentTypes: (request: String, response: String) = ("application/json", "application/json"),
        handler: @escaping @Sendable (Request, SheduRequestContext) async throws -> Output
    ) {
        let access = access ?? .role(Access.defaultRole(for: method))
        routes.append(
            DocumentedRoute(
                method: method, path: path, summary: summary, tag: tag, access: access, requestSchema: request,
                responseSchema: response, successStatus: status, isList: list, filterParameters: filters,
                queryParameters: queries, contentTypes: contentTypes))
        router.on(RouterPath(path), method: method) { request, context -> Response in
            if case .role(let required) = access {
                try Self.authorize(required: required, method: method, path: path, context: context)
            }
            return try await Caller.$role.withValue(context.principal?.role) {
                try await handler(request, context).response(from: request, context: context)
            }
        }
    }

    private static func authorize(required: Role, method: HTTPRequest.Method, path: String, context: SheduRequestContext)
        throws
    {
        guard let principal = context.principal else {
            throw context.authenticationFailure ?? SheduError.unauthorized("a bearer token is required")
        }
        guard principal.role >= required else {
            throw SheduError.forbidden(
                "role '\(principal.role.rawValue)' may not \(method.rawValue) \(path); it needs '\(required.rawValue)'")
        }
    }
}
