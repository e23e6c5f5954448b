import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import SheduCore
import Synchronization

/// A request the fast path may answer, as read from the wire.
struct FastPathRequest: Sendable {
    var method: HTTPMethod
    /// The whole request target, query included.
    var uri: String
    /// Its path.
    var path: Substring
    var headers: HTTPHeaders
    var body: ByteBuffer?
    /// The values of a template path's `{name}` segments, in order.
    var parameters: [Substring] = []
    /// The connection's TLS client, for public routes run on a task (nil without TLS).
    var tlsPeer: TLSPeer?
}

struct FastPathResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: ByteBuffer
    var extraHeaders: [(String, String)] = []

    static func json(_ status: HTTPResponseStatus, _ value: some JSONWritable) -> FastPathResponse {
        FastPathResponse(status: status, contentType: "application/json", body: jsonBody(value))
    }

    /// The router's answer to an error (``ErrorMiddleware``).
    static func error(_ error: any Error, requestID: String, logger: Logger) -> FastPathResponse {
        let (status, message) = ErrorMiddleware.describe(error, requestID: requestID, logger: logger)
        return FastPathResponse(
            status: HTTPResponseStatus(statusCode: Int(status.code)), contentType: "application/json",
            body: ByteBuffer(string: ErrorMiddleware.body(message)),
            extraHeaders: ErrorMiddleware.challenge(for: status).map { [("www-authenticate", $0)] } ?? [])
    }
}

/// Endpoints answered without entering the router: a request costs a lookup instead of a trip
/// through the async request machinery (about 80 µs of a signed certificate's 400). Three kinds:
/// - public, cacheable ones (health, OCSP, CRLs), answered on the event loop; a handler may
///   decline (return nil), and the request then goes to the router as any other;
/// - hot authenticated ones (CSR signing), run on a task of their own for a caller whose bearer
///   token the router has verified before. Anything else (no token, a token not seen yet, a
///   role too low) goes to the router, which answers it as always, 401 and 403 included;
/// - hot public ones (EST enrollment), run on a task for a request without credentials.
struct FastPathRoutes: Sendable {
    enum PathMatch: Sendable {
        case exact(String)
        case prefix(String)
        /// A router-style template (`/api/ca/v1/cas/{id}/sign`): each `{name}` matches one
        /// non-empty segment without percent-encoding (encoded ones are decoded by the router).
        case template([String])

        static func template(_ path: String) -> PathMatch {
            .template(path.split(separator: "/", omittingEmptySubsequences: false).map(String.init))
        }

        /// The template's `{name}` values if `path` (split at `/` as `segments`, once for every
        /// template tried) matches, nil if not.
        func parameters(in path: Substring, segments: inout [Substring]?) -> [Substring]? {
            switch self {
            case .exact(let expected): return path == expected ? [] : nil
            case .prefix(let prefix): return path.hasPrefix(prefix) ? [] : nil
            case .template(let template):
                if segments == nil { segments = path.split(separator: "/", omittingEmptySubsequences: false) }
                guard let parts = segments, parts.count == template.count else { return nil }
                var values: [Substring] = []
                for (part, segment) in zip(parts, template) {
                    if segment.hasPrefix("{") {
                        guard !part.isEmpty, !part.utf8.contains(UInt8(ascii: "%")) else { return nil }
                        values.append(part)
                    } else if part != segment {
                        return nil
                    }
                }
                return values
            }
        }
    }

    enum Work: Sendable {
        /// Answered on the event loop; nil hands the request to the router.
        case immediate(@Sendable (FastPathRequest) -> FastPathResponse?)
        /// Run on a task for a caller with at least this role; what it throws is answered as the
        /// router answers errors.
        case authenticated(Role, @Sendable (FastPathRequest) async throws -> FastPathResponse)
        /// Run on a task for a caller without credentials (EST, which authenticates by the TLS
        /// client certificate), under the public limit per address.
        case `public`(@Sendable (FastPathRequest) async throws -> FastPathResponse)
    }

    struct Route: Sendable {
        /// Its place in ``routes``, which indexes its counters.
        var index: Int
        var method: HTTPMethod
        var path: PathMatch
        /// The route's name in metrics, as the router names it (`/api/va/ocsp/{request}`).
        var metricsName: String
        var work: Work
    }

    /// What authenticated routes need: the router's token cache and its limit per caller.
    struct Authentication: Sendable {
        var tokens: TokenAuthenticator
        var clientLimiter: RateLimiter?
    }

    private(set) var routes: [Route] = []
    /// Unauthenticated routes are limited per source address here as in the router.
    var publicLimiter: RateLimiter?
    /// Without it, authenticated routes always go to the router.
    var authentication: Authentication?
    /// For the audit line and errors of routes run on a task.
    var logger = Logger(label: "shedu")
    /// Largest body a fast-path request may carry; larger ones go to the router.
    static let maximumBodySize = 64 * 1024

    mutating func add(
        _ method: HTTPMethod, _ path: PathMatch, metricsName: String,
        handler: @escaping @Sendable (FastPathRequest) -> FastPathResponse?
    ) {
        routes.append(Route(index: routes.count, method: method, path: path, metricsName: metricsName, work: .immediate(handler)))
    }

    /// Adds a public route run on a task; `template` is also its name in metrics.
    mutating func addPublic(
        _ method: HTTPMethod, template: String, handler: @escaping @Sendable (FastPathRequest) async throws -> FastPathResponse
    ) {
        routes.append(Route(index: routes.count, method: method, path: .template(template), metricsName: template, work: .public(handler)))
    }

    /// Adds an authenticated route; `template` is also its name in metrics, as in the router.
    mutating func addAuthenticated(
        _ method: HTTPMethod, template: String, role: Role,
        handler: @escaping @Sendable (FastPathRequest) async throws -> FastPathResponse
    ) {
        routes.append(
            Route(index: routes.count, method: method, path: .template(template), metricsName: template, work: .authenticated(role, handler)))
    }

    /// The route of a request and its path (the URI without its query), if the fast path has one.
    func route(for head: HTTPRequestHead) -> (route: Route, path: Substring, parameters: [Substring])? {
        guard routes.contains(where: { $0.method == head.method }) else { return nil }
        let uri = head.uri
        let path = uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { uri[..<$0] } ?? uri[...]
        var segments: [Substring]?
        for route in routes where route.method == head.method {
            if let parameters = route.path.parameters(in: path, segments: &segments) { return (route, path, parameters) }
        }
        return nil
    }
}

/// Sits after the HTTP/1 decoder: answers fast-path requests itself and passes every other one
/// on to the router. It only answers when no routed request is waiting for its response, and
/// holds back what follows a request run on a task until that one is answered, so responses
/// leave in request order even when a client pipelines.
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
    /// While a request runs on its task: the request parts read after it, the
    /// read the channel asked for, and a close asked for (a server shutting down), all waiting
    /// for its answer.
    private var taskInFlight = false
    private var heldParts: [HTTPServerRequestPart] = []
    private var heldRead = false
    private var heldClose: (mode: CloseMode, promise: EventLoopPromise<Void>?)?
    /// A parse error of what followed a request running on its task: answered after it.
    private var heldParserError: HTTPParserError?
    /// The client's half-close, read while a request ran on its task: passed on after the
    /// requests read before it. Passed at once, it ended the router's reading, and the requests
    /// held behind the running one were dropped unanswered.
    private var heldInputClosed = false
    /// A request whose framing or Host cannot be trusted was refused; the connection is closing.
    private var refusedRequest = false
    /// A request asked for `100 Continue` behind routed answers still to come: how many must end
    /// before it goes (an interim answer must not overtake them).
    private var continueOwedAfter: Int?
    /// A request refused behind routed answers still to come: how many must end before its 400.
    private var refusalOwed: (after: Int, message: String)?
    /// A routed request's body could not be read. Hummingbird answers that with an empty 400,
    /// also when the request's handler answered without reading the body (a 401): that second
    /// answer to one request is dropped, and the connection closed (``write(context:data:promise:)``).
    private var routedBodyBroke = false
    private var droppingSecondAnswer = false

    private struct CollectedRequest {
        var head: HTTPRequestHead
        var route: FastPathRoutes.Route
        var path: Substring
        var parameters: [Substring]
        var body: ByteBuffer?

        var fastRequest: FastPathRequest {
            FastPathRequest(method: head.method, uri: head.uri, path: path, headers: head.headers, body: body, parameters: parameters)
        }
    }

    init(routes: FastPathRoutes, counters: FastPathCounters) {
        self.routes = routes
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .end = part { context.triggerUserOutboundEvent(RequestReceived(), promise: nil) }
        if taskInFlight {
            heldParts.append(part)
            return
        }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        // The rest of a refused request, and what follows it, is dropped: the connection closes.
        guard !refusedRequest else { return }
        switch part {
        case .head(var head):
            // The decoder reads nothing more on a connection after a request to upgrade it (or a
            // CONNECT), which Shedu does not do: answered as any other, then closed. A request
            // behind it waited, unanswered, for the request timeout.
            if head.method == .CONNECT || head.headers.contains(name: "upgrade") {
                head.headers.replaceOrAdd(name: "connection", value: "close")
            }
            if let problem = Self.untrustedHostOrFraming(head) {
                refusedRequest = true
                // In order: behind routed answers still to come, once they have ended.
                guard routedInFlight == 0 else {
                    refusalOwed = (after: routedInFlight, message: problem)
                    return
                }
                return refuse(.badRequest, problem, context: context)
            }
            // Only with no earlier response still to come: an interim answer must not overtake it.
            if head.expectsContinue {
                if routedInFlight == 0 { writeContinue() } else { continueOwedAfter = routedInFlight }
            }
            if routedInFlight == 0, !forwardingBody, head.isKeepAlive, let (route, path, parameters) = routes.route(for: head) {
                collecting = CollectedRequest(head: head, route: route, path: path, parameters: parameters)
                return
            }
            routedKeepAlive.append(head.isKeepAlive)
            forwardingBody = true
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .body(var buffer):
            guard var request = collecting else {
                context.fireChannelRead(wrapInboundOut(part))
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
            continueOwedAfter = nil  // the body came without it
            guard let request = collecting else {
                forwardingBody = false
                context.fireChannelRead(wrapInboundOut(part))
                return
            }
            collecting = nil
            switch request.route.work {
            case .immediate(let handler): answer(request, handler: handler, context: context)
            case .authenticated(let role, let handler): runAuthenticated(request, role: role, handler: handler, context: context)
            case .public(let handler): runPublic(request, handler: handler, context: context)
            }
        }
    }

    private func answer(
        _ request: CollectedRequest, handler: (FastPathRequest) -> FastPathResponse?, context: ChannelHandlerContext
    ) {
        guard let admitted = admitPublic(request, context: context) else { return }
        let fastRequest = request.fastRequest
        guard var response = handler(fastRequest) else {
            // The router counts it.
            if let limit = admitted.limit { limit.limiter.refund(limit.key) }
            forward(request, context: context, ended: true)
            return
        }
        response.extraHeaders += admitted.headers
        write(response, context: context)
        counters.count(route: request.route, status: response.status)
    }

    /// The public limit of this client's address, on limited routes (not /health): nil when
    /// refused (the refusal is written), else the headers to add and what to refund on decline.
    private func admitPublic(
        _ request: CollectedRequest, context: ChannelHandlerContext
    ) -> (headers: [(String, String)], limit: (limiter: RateLimiter, key: String)?)? {
        guard RateLimits.isPublicLimited(request.path), let limiter = routes.publicLimiter else { return ([], nil) }
        let key = connectionLimiterKey(context)
        return admit(request, limiter: limiter, key: key, context: context).map { ($0, (limiter, key)) }
    }

    /// Takes from `limiter` for `key`: the limit's headers, or nil when refused (the 429 is written).
    private func admit(
        _ request: CollectedRequest, limiter: RateLimiter, key: String, context: ChannelHandlerContext
    ) -> [(String, String)]? {
        let decision = limiter.take(key)
        let headers = limiter.headers(for: decision)
        guard case .refused(let retryAfter) = decision else { return headers }
        let refusal = FastPathResponse(
            status: .tooManyRequests, contentType: "application/json",
            body: ByteBuffer(string: RateLimiter.refusalBody(retryAfter: retryAfter)), extraHeaders: headers)
        write(refusal, context: context)
        counters.count(route: request.route, status: refusal.status)
        return nil
    }

    /// An authenticated request: checked here against the token cache and the caller's limit.
    private func runAuthenticated(
        _ request: CollectedRequest, role: Role, handler: @escaping @Sendable (FastPathRequest) async throws -> FastPathResponse,
        context: ChannelHandlerContext
    ) {
        guard let authentication = routes.authentication,
            let authorization = request.head.headers.first(name: "authorization"),
            let token = TokenAuthenticator.bearerToken(in: authorization),
            let principal = authentication.tokens.cachedPrincipal(bearer: token), principal.role >= role
        else {
            forward(request, context: context, ended: true)
            return
        }
        var limitHeaders: [(String, String)] = []
        if let limiter = authentication.clientLimiter {
            guard let admitted = admit(request, limiter: limiter, key: RateLimits.key(of: principal), context: context)
            else { return }
            limitHeaders = admitted
        }
        run(
            request, request.fastRequest, caller: principal, limitHeaders: limitHeaders, handler: handler, context: context)
    }

    /// A request to a public route that carries no credentials (a bearer token sends it to the
    /// router, which knows who is calling); its handler sees the connection's TLS client.
    private func runPublic(
        _ request: CollectedRequest, handler: @escaping @Sendable (FastPathRequest) async throws -> FastPathResponse,
        context: ChannelHandlerContext
    ) {
        guard !request.head.headers.contains(name: "authorization") else {
            forward(request, context: context, ended: true)
            return
        }
        guard let admitted = admitPublic(request, context: context) else { return }
        var fastRequest = request.fastRequest
        fastRequest.tlsPeer = TLSPeer(context.pipeline.syncOperations)
        run(request, fastRequest, caller: nil, limitHeaders: admitted.headers, handler: handler, context: context)
    }

    /// Runs a handler on a task of its own and writes its answer back on this event loop; until
    /// then the connection's next requests wait.
    private func run(
        _ request: CollectedRequest, _ fastRequest: FastPathRequest, caller: Principal?, limitHeaders: [(String, String)],
        handler: @escaping @Sendable (FastPathRequest) async throws -> FastPathResponse, context: ChannelHandlerContext
    ) {
        let logger = routes.logger
        let requestID =
            request.head.headers.first(name: "x-request-id").flatMap { AuthenticationMiddleware.isUsableRequestID($0) ? $0 : nil }
            ?? RequestID().description
        let started = ContinuousClock.now
        let active = counters.activeRequests(of: request.route)
        active.increment()
        taskInFlight = true
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task {
            var response: FastPathResponse
            do {
                response = try await Caller.$role.withValue(caller?.role) { try await handler(fastRequest) }
            } catch {
                response = .error(error, requestID: requestID, logger: logger)
            }
            response.extraHeaders += limitHeaders + [("x-request-id", requestID)]
            let answer = response
            eventLoop.execute {
                let (handler, context) = bound.value
                // A close waiting for this answer waits for it to be written, not just queued.
                let written: EventLoopPromise<Void>? = handler.heldClose == nil ? nil : context.eventLoop.makePromise()
                handler.write(answer, context: context, promise: written)
                active.decrement()
                let elapsed = ContinuousClock.now - started
                handler.counters.count(route: request.route, status: answer.status, duration: elapsed)
                AuthenticationMiddleware.audit(
                    method: request.head.method.rawValue, path: request.path, status: Int(answer.status.code),
                    subject: caller?.subject, elapsed: elapsed, logger: logger, requestID: requestID)
                handler.resumeAfterTask(context: context, written: written?.futureResult)
            }
        }
    }

    /// Goes on with what arrived while a task ran, until another one starts.
    private func resumeAfterTask(context: ChannelHandlerContext, written: EventLoopFuture<Void>? = nil) {
        taskInFlight = false
        if let (mode, promise) = heldClose {
            heldClose = nil
            heldParts = []
            heldParserError = nil
            guard let written else { return context.close(mode: mode, promise: promise) }
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in boundContext.value.close(mode: mode, promise: promise) }
            return
        }
        let replayed = !heldParts.isEmpty
        while !heldParts.isEmpty, !taskInFlight {
            handle(heldParts.removeFirst(), context: context)
        }
        if !taskInFlight, let error = heldParserError {
            heldParserError = nil
            errorCaught(context: context, error: error)
        }
        // What went on to the router is delivered at a read's end.
        if replayed { context.fireChannelReadComplete() }
        if heldInputClosed, !taskInFlight {
            heldInputClosed = false
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        if heldRead, !taskInFlight {
            heldRead = false
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if taskInFlight, let event = event as? ChannelEvent, event == .inputClosed {
            heldInputClosed = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if taskInFlight {
            heldRead = true
        } else {
            context.read()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // A graceful shutdown closes connections with no routed request open; a request still
        // running on its task is answered first. So is one whose client half-closed after
        // sending it: the output's close, then the whole channel's, both wait (the second went
        // through, and the answer to a certificate that was issued was lost).
        guard taskInFlight else { return context.close(mode: mode, promise: promise) }
        guard let held = heldClose else {
            heldClose = (mode, promise)
            return
        }
        if let promise, let heldPromise = held.promise {
            heldPromise.futureResult.cascade(to: promise)
        }
        heldClose = (held.mode == mode ? mode : .all, held.promise ?? promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        heldParts = []
        heldParserError = nil
        heldInputClosed = false
        if let (mode, promise) = heldClose {
            heldClose = nil
            context.close(mode: mode, promise: promise)
        }
        context.fireChannelInactive()
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

    /// A request the HTTP decoder cannot read (headers past 80 KB, a malformed line) is refused
    /// with the API's error body naming why, and the connection closed: Hummingbird answered an
    /// empty 400. With an earlier answer still to come the error goes on, as this one would
    /// overtake it.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError, forwardingBody, !taskInFlight {
            routedBodyBroke = true
            // Its answer went already: no second one, and what follows cannot be framed.
            if routedInFlight == 0 {
                refusedRequest = true
                return context.close(promise: nil)
            }
        }
        if let parserError = error as? HTTPParserError, taskInFlight {
            // Answered in order, after the running request; bytes after a `Connection: close`
            // request need no answer.
            if parserError != .closedConnection, heldParserError == nil { heldParserError = parserError }
            return
        }
        guard let parserError = error as? HTTPParserError, routedInFlight == 0, !taskInFlight, responseEncoder != nil else {
            context.fireErrorCaught(error)
            return
        }
        let (status, message) = Self.describe(parserError)
        refuse(status, message, context: context)
    }

    /// Why a request whose head cannot be trusted is refused: an HTTP/1.1 request names its host
    /// once (RFC 9112 §3.2); HTTP/1.0 has no transfer codings, so such a body's framing is faulty
    /// and what follows it cannot be trusted (a request smuggled behind it, §6.1).
    static func untrustedHostOrFraming(_ head: HTTPRequestHead) -> String? {
        // Empty is allowed (a target without an authority); a list is not one host.
        let hosts = head.headers["host"]
        if head.version == .http1_1, hosts.count != 1 || hosts[0].contains(",") {
            return "an HTTP/1.1 request names its host in one Host header (RFC 9112 §3.2)"
        }
        if head.version == .http1_0, head.headers.contains(name: "transfer-encoding") {
            return "an HTTP/1.0 request cannot carry Transfer-Encoding (RFC 9112 §6.1)"
        }
        return nil
    }

    /// Answers what cannot be read as a request with `{"err": ...}`, then closes the connection:
    /// what follows on it cannot be framed.
    private func refuse(_ status: HTTPResponseStatus, _ message: String, context: ChannelHandlerContext) {
        collecting = nil
        let refusal = FastPathResponse(
            status: status, contentType: "application/json", body: ByteBuffer(string: ErrorMiddleware.body(message)),
            extraHeaders: [("connection", "close")])
        let written = context.eventLoop.makePromise(of: Void.self)
        write(refusal, context: context, promise: written)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in boundContext.value.close(promise: nil) }
    }

    static func describe(_ error: HTTPParserError) -> (HTTPResponseStatus, String) {
        switch error {
        case .headerOverflow:
            return (.requestHeaderFieldsTooLarge, "the request's URL and headers are larger than the server reads (80 KB)")
        case .invalidURL:
            return (.badRequest, "the request's URL is not valid")
        case .invalidMethod:
            return (.badRequest, "the request's method is not valid")
        case .invalidVersion:
            return (.badRequest, "the request is not HTTP/1.x")
        case .invalidHeaderToken:
            return (.badRequest, "a header of the request is malformed")
        case .invalidContentLength, .unexpectedContentLength:
            return (.badRequest, "the request's Content-Length is invalid")
        case .invalidChunkSize:
            return (.badRequest, "a chunk of the request's body has an invalid size")
        default:
            return (.badRequest, "the request is not valid HTTP/1.1 (\(error))")
        }
    }

    /// Writes a whole response in one buffer, framed here and written below the response encoder:
    /// a fast-path answer is a few fixed headers and a body, and building `HTTPHeaders` for the
    /// encoder to serialize again was a tenth of an OCSP answer's cost.
    private func write(_ response: FastPathResponse, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        var body = response.body
        var buffer = context.channel.allocator.buffer(capacity: 160 + body.readableBytes)
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(response.status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(response.status.reasonPhrase)
        buffer.writeStaticString("\r\ndate: ")
        buffer.writeString(HTTPDate.now())
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
        responseEncoder?.writeAndFlush(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
    }

    /// `100 Continue` (RFC 9110 §10.1.1): a client that asks for it (curl does for a body over
    /// 1 KB, such as an RSA CSR) otherwise holds its body back for a second before sending it.
    private func writeContinue() {
        var buffer = ByteBuffer()
        buffer.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
        responseEncoder?.writeAndFlush(NIOAny(IOData.byteBuffer(buffer)), promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        if case .head = part, routedInFlight == 0, routedBodyBroke { droppingSecondAnswer = true }
        if droppingSecondAnswer {
            promise?.succeed(())
            if case .end = part {
                droppingSecondAnswer = false
                context.close(promise: nil)
            }
            return
        }
        if case .head(var head) = part {
            // The router's Date comes from a clock a timer task moves once a second, which lags
            // on a busy machine: a CRL signed for this request would be dated after its answer.
            head.headers.replaceOrAdd(name: "date", value: HTTPDate.now())
            // The connection ends with this answer: said, so that a client does not send on it.
            if routedKeepAlive.first == false { head.headers.replaceOrAdd(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            return
        }
        guard case .end = part, !routedKeepAlive.isEmpty else {
            context.write(data, promise: promise)
            return
        }
        guard !routedKeepAlive.removeFirst() else {
            context.write(data, promise: promise)
            if let owed = continueOwedAfter {
                continueOwedAfter = owed > 1 ? owed - 1 : nil
                if owed == 1 { writeContinue() }
            }
            if let owed = refusalOwed {
                refusalOwed = owed.after > 1 ? (owed.after - 1, owed.message) : nil
                if owed.after == 1 { refuse(.badRequest, owed.message, context: context) }
            }
            return
        }
        // The router answers HTTP/1.0 without closing; the connection ends with the response.
        let written = promise ?? context.eventLoop.makePromise()
        context.write(data, promise: written)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in boundContext.value.close(promise: nil) }
    }
}

/// Request counts (and, for routes run on a task, durations) of fast-path routes, under the
/// router's metrics. A route's series for a status is made when it first answers with it, as
/// the router does: not every route and status at start as a row of zeros.
final class FastPathCounters: Sendable {
    private struct Key: Hashable {
        var route: Int
        var status: UInt
    }

    private let routes: [(name: String, method: String)]
    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[Key: Timer]>([:])
    private let activeRequests = Mutex<[String: Meter]>([:])

    init(routes: FastPathRoutes) {
        self.routes = routes.routes.map { ($0.metricsName, $0.method.rawValue) }
    }

    func count(route: FastPathRoutes.Route, status: HTTPResponseStatus, duration: Duration? = nil) {
        guard route.index < routes.count else { return }
        let key = Key(route: route.index, status: status.code)
        Self.metric(key, in: counters) { Counter(label: "hb.requests", dimensions: dimensions(key)) }.increment()
        if let duration {
            Self.metric(key, in: timers) {
                Timer(label: "http.server.request.duration", dimensions: dimensions(key), preferredDisplayUnit: .seconds)
            }.record(duration: duration)
        }
    }

    /// The router's gauge of requests being answered, by method; a request a route runs on a
    /// task counts from its start to its answer.
    func activeRequests(of route: FastPathRoutes.Route) -> Meter {
        let method = routes[route.index].method
        return Self.metric(method, in: activeRequests) {
            Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method)])
        }
    }

    /// The metric of `key`, made the first time.
    private static func metric<Name: Hashable & Sendable, Metric: Sendable>(
        _ key: Name, in made: borrowing Mutex<[Name: Metric]>, make: () -> Metric
    ) -> Metric {
        made.withLock { made in
            if let metric = made[key] { return metric }
            let metric = make()
            made[key] = metric
            return metric
        }
    }

    private func dimensions(_ key: Key) -> [(String, String)] {
        let (name, method) = routes[key.route]
        return [("http.route", name), ("http.request.method", method), ("http.response.status_code", String(key.status))]
    }
}

extension HTTPRequestHead {
    /// Whether the client waits for `100 Continue` before its body (never sent to HTTP/1.0).
    var expectsContinue: Bool {
        version.major == 1 && version.minor >= 1
            && headers["expect"].contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "100-continue" }
    }
}
