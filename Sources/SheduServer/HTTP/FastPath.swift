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
        /// Its place in ``routes``, which indexes its counters.
        var index: Int
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
        routes.append(Route(index: routes.count, method: method, path: path, metricsName: metricsName, handler: handler))
    }

    /// The route of a request and its path (the URI without its query), if the fast path has one.
    func route(for head: HTTPRequestHead) -> (route: Route, path: Substring)? {
        guard routes.contains(where: { $0.method == head.method }) else { return nil }
        let uri = head.uri
        let path = uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { uri[..<$0] } ?? uri[...]
        return routes.first { $0.method == head.method && $0.path.matches(path) }.map { ($0, path) }
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
    private var collecting: CollectedRequest?
    /// This connection's key in the public rate limiter (its source address), found once.
    private var limiterKey: String?
    /// The context of the HTTP response encoder before this handler, where framed answers enter.
    private var responseEncoder: ChannelHandlerContext?

    private struct CollectedRequest {
        var head: HTTPRequestHead
        var route: FastPathRoutes.Route
        var path: Substring
        var body: ByteBuffer?
    }

    init(routes: FastPathRoutes, counters: FastPathCounters) {
        self.routes = routes
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // Only with no earlier response still to come: an interim answer must not overtake it.
            if routedInFlight == 0, head.expectsContinue { writeContinue() }
            if routedInFlight == 0, !forwardingBody, head.isKeepAlive, let (route, path) = routes.route(for: head) {
                collecting = CollectedRequest(head: head, route: route, path: path)
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
            collecting = nil  // the body is appended to a unique buffer, not a copy
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
            let path = request.path
            var limitHeaders: [(String, String)] = []
            // The limiter and this client's key, only on limited routes (not /health).
            let limit = (RateLimits.isPublicLimited(path) ? routes.publicLimiter : nil).map {
                (limiter: $0, key: connectionLimiterKey(context))
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

    private func connectionLimiterKey(_ context: ChannelHandlerContext) -> String {
        if let limiterKey { return limiterKey }
        let key = RateLimits.key(of: context.remoteAddress)
        limiterKey = key
        return key
    }

    /// Hands a request the fast path collected to the router after all.
    private func forward(_ request: CollectedRequest, context: ChannelHandlerContext, ended: Bool) {
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

    func handlerAdded(context: ChannelHandlerContext) {
        // The HTTP server pipeline adds it before this handler; nothing could be answered without it.
        responseEncoder = try! context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        responseEncoder = nil
    }

    /// Writes a whole response in one buffer, framed here and written below the response encoder:
    /// a fast-path answer is a few fixed headers and a body, and building `HTTPHeaders` for the
    /// encoder to serialize again was a tenth of an OCSP answer's cost.
    private func write(_ response: FastPathResponse, context: ChannelHandlerContext) {
        var body = response.body
        var buffer = context.channel.allocator.buffer(capacity: 160 + body.readableBytes)
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(response.status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(response.status.reasonPhrase)
        // A 304 carries neither: it describes the representation the client already has.
        if response.status != .notModified {
            buffer.writeStaticString("\r\ncontent-type: ")
            buffer.writeString(response.contentType)
            buffer.writeStaticString("\r\ncontent-length: ")
            buffer.writeString(String(body.readableBytes))
        }
        for (name, value) in response.extraHeaders {
            buffer.writeStaticString("\r\n")
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
        }
        buffer.writeStaticString("\r\n\r\n")
        buffer.writeBuffer(&body)
        responseEncoder?.writeAndFlush(NIOAny(IOData.byteBuffer(buffer)), promise: nil)
    }

    /// `100 Continue` (RFC 9110 §10.1.1): a client that asks for it (curl does for a body over
    /// 1 KB, such as an RSA CSR) otherwise holds its body back for a second before sending it.
    private func writeContinue() {
        var buffer = ByteBuffer()
        buffer.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
        responseEncoder?.writeAndFlush(NIOAny(IOData.byteBuffer(buffer)), promise: nil)
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
    /// The statuses a fast-path route answers with.
    private static let statuses: [UInt] = [200, 400, 404, 429]
    /// By route index, then in the order of `statuses`.
    private let counters: [[Counter]]

    init(routes: FastPathRoutes) {
        counters = routes.routes.map { route in
            Self.statuses.map { status in
                Counter(
                    label: "hb.requests",
                    dimensions: [
                        ("http.route", route.metricsName), ("http.request.method", route.method.rawValue),
                        ("http.response.status_code", String(status)),
                    ])
            }
        }
    }

    func count(route: FastPathRoutes.Route, status: HTTPResponseStatus) {
        guard route.index < counters.count, let slot = Self.statuses.firstIndex(of: status.code) else { return }
        counters[route.index][slot].increment()
    }
}

extension HTTPRequestHead {
    /// Whether the client waits for `100 Continue` before its body (never sent to HTTP/1.0).
    var expectsContinue: Bool {
        version.major == 1 && version.minor >= 1
            && headers["expect"].contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "100-continue" }
    }
}
