import HTTPTypes
import Hummingbird
import NIOCore
import SheduCore

/// Applies ``RateLimits`` to routed requests: an authenticated caller by its identity, a request
/// to an unauthenticated route (EST, OCSP, CRL) by its source address. Over the limit: 429 with
/// `Retry-After` and `{"err"}`. (The fast path applies the same limits itself.)
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = SheduRequestContext

    let limits: RateLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let limiter: RateLimiter
        let key: String
        if let principal = context.principal, let clients = limits.clients {
            limiter = clients
            key = RateLimits.key(of: principal)
        } else if context.principal == nil, let publicRoutes = limits.publicRoutes, RateLimits.isPublicLimited(request.uri.path) {
            limiter = publicRoutes
            key = RateLimits.key(of: context.channel?.remoteAddress)
        } else {
            return try await next(request, context)
        }
        let decision = limiter.take(key)
        if case .refused(let retryAfter) = decision {
            var headers: HTTPFields = [.contentType: "application/json"]
            for (name, value) in limiter.headers(for: decision) { headers[HTTPField.Name(name)!] = value }
            return Response(
                status: .tooManyRequests, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: RateLimiter.refusalBody(retryAfter: retryAfter))))
        }
        var response = try await next(request, context)
        for (name, value) in limiter.headers(for: decision) { response.headers[HTTPField.Name(name)!] = value }
        return response
    }
}
