import Metrics
import NIOCore
import NIOHTTP1

/// A request the fast path may answer, as read from the wire.
struct FastPathRequest {
    var method: HTTPMethod
    var path: Substring
    var headers: HTTPHeaders
    var body: ByteBuffer?
}

struct FastPathResponse {
    var status: HTTPResponseStatus
    var contentType: String
    var body: ByteBuffer
    var extraHeaders: [(String, String)] = []
}

/// Public, cacheable endpoints answered on the event loop, without entering the router: a
/// request costs a lookup instead of a trip through the async request machinery. A handler may
/// decline (return nil), and the request then goes to the router as any other.
struct FastPathRoutes: Sendable {
    enum PathMatch: Sendable {
        case exact(String)
        case prefix(String)

        func matches(_ path: Substring) -> Bool {
            switch self {
            case .exact(let expected): path == expected
            case .prefix(let prefix): path.hasPrefix(prefix)
            }
        }
    }

    struct Route: Sendable {
        var method: HTTPMethod
        var path: PathMatch
        /// The route's name in metrics, as the router names it (`/api/va/ocsp/{request}`).
        var metricsName: String
        var handler: @Sendable (FastPathRequest) -> FastPathResponse?
    }

    private(set) var routes: [Route] = []
    /// Unauthenticated routes are limited per source address here as in the router.
    var publicLimiter: RateLimiter?
    /// Largest body a fast-path request may carry; larger ones go to the router.
    static let maximumBodySize = 64 * 1024

    mutating func add(
        _ method: HTTPMethod, _ path: PathMatch, metricsName: String,
        handler: @escaping @Sendable (FastPathRequest) -> FastPathResponse?
    ) {
        routes.append(Route(method: method, path: path, metricsName: metricsName, handler: handler))
    }

    func route(for head: HTTPRequestHead) -> Route? {
        guard routes.contains(where: { $0.method == head.method }) else { return nil }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return routes.first { $0.method == head.method && $0.path.matches(path) }
    }
}

/// Sits after the HTTP/1 decoder: answers fast-path requests itself and passes every other one
/// on to the router. It only answers when no routed request is waiting for its response, so
/// responses leave in request order even when a client pipelines.
final class FastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: FastPathRoutes
    private let counters: FastPathCounters
    /// Requests passed to the router whose response has not ended yet, oldest first: whether
    /// each keeps the connection alive (an HTTP/1.0 request without keep-alive does not).
    private var routedKeepAlive: [Bool] = []
    private var routedInFlight: Int { routedKeepAlive.count }
    private var forwardingBody = false
    private var collecting: (head: HTTPRequestHead, route: FastPathRoutes.Route, body: ByteBuffer?)?

    init(routes: FastPathRoutes, counters: FastPathCounters) {
        self.routes = routes
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if routedInFlight == 0, !forwardingBody, head.isKeepAlive, let route = routes.route(for: head) {
                collecting = (head, route, nil)
                return
            }
            routedKeepAlive.append(head.isKeepAlive)
            forwardingBody = true
            context.fireChannelRead(data)
        case .body(var buffer):
            guard var request = collecting else {
                context.fireChannelRead(data)
                return
            }
            if request.body == nil {
                request.body = buffer
            } else {
                request.body!.writeBuffer(&buffer)
            }
            collecting = request
            if request.body!.readableBytes > FastPathRoutes.maximumBodySize {
                forward(request, context: context, ended: false)
            }
        case .end:
            guard let request = collecting else {
                forwardingBody = false
                context.fireChannelRead(data)
                return
            }
            collecting = nil
            let path = request.head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
            var limitHeaders: [(String, String)] = []
            // The limiter and this client's key, only on limited routes (not /health).
            let limit = (RateLimits.isPublicLimited(path) ? routes.publicLimiter : nil).map {
                (limiter: $0, key: RateLimits.key(of: context.remoteAddress))
            }
            if let (publicLimiter, limitKey) = limit {
                let decision = publicLimiter.take(limitKey)
                limitHeaders = publicLimiter.headers(for: decision)
                if case .refused(let retryAfter) = decision {
                    let refusal = FastPathResponse(
                        status: .tooManyRequests, contentType: "application/json",
                        body: ByteBuffer(string: RateLimiter.refusalBody(retryAfter: retryAfter)), extraHeaders: limitHeaders)
                    write(refusal, context: context)
                    counters.count(route: request.route, status: refusal.status)
                    return
                }
            }
            let fastRequest = FastPathRequest(
                method: request.head.method, path: path, headers: request.head.headers, body: request.body)
            guard var response = request.route.handler(fastRequest) else {
                // The router counts it.
                if let limit { limit.limiter.refund(limit.key) }
                forward(request, context: context, ended: true)
                return
            }
            response.extraHeaders += limitHeaders
            write(response, context: context)
            counters.count(route: request.route, status: response.status)
        }
    }

    /// Hands a request the fast path collected to the router after all.
    private func forward(
        _ request: (head: HTTPRequestHead, route: FastPathRoutes.Route, body: ByteBuffer?), context: ChannelHandlerContext,
        ended: Bool
    ) {
        collecting = nil
        routedKeepAlive.append(request.head.isKeepAlive)
        context.fireChannelRead(wrapInboundOut(.head(request.head)))
        if let body = request.body { context.fireChannelRead(wrapInboundOut(.body(body))) }
        if ended {
            context.fireChannelRead(wrapInboundOut(.end(nil)))
        } else {
            forwardingBody = true
        }
    }

    private func write(_ response: FastPathResponse, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(4 + response.extraHeaders.count)
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.readableBytes))
        for (name, value) in response.extraHeaders { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data), !routedKeepAlive.isEmpty, !routedKeepAlive.removeFirst() else {
            context.write(data, promise: promise)
            return
        }
        // The router answers HTTP/1.0 without closing; the connection ends with the response.
        let written = promise ?? context.eventLoop.makePromise()
        context.write(data, promise: written)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in boundContext.value.close(promise: nil) }
    }
}

/// Request counts of fast-path routes, under the same metric as routed requests.
final class FastPathCounters: Sendable {
    private let counters: [String: Counter]

    init(routes: FastPathRoutes) {
        var counters: [String: Counter] = [:]
        for route in routes.routes {
            for status in [200, 400, 404, 429] {
                counters["\(route.metricsName) \(status)"] = Counter(
                    label: "hb.requests",
                    dimensions: [
                        ("http.route", route.metricsName), ("http.request.method", route.method.rawValue),
                        ("http.response.status_code", String(status)),
                    ])
            }
        }
        self.counters = counters
    }

    func count(route: FastPathRoutes.Route, status: HTTPResponseStatus) {
        counters["\(route.metricsName) \(status.code)"]?.increment()
    }
}
