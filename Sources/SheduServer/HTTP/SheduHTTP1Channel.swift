import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 channel with the ``FastPathHandler`` in front of the HTTP types codec
/// (where it still sees the HTTP version and keep-alive of each request).
struct SheduHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let fastPath: FastPathRoutes
    let counters: FastPathCounters
    /// See ``ServerConfiguration/idleTimeout`` and ``ServerConfiguration/requestTimeout``.
    let timeouts: ConnectionTimeouts

    init(
        responder: @escaping HTTPChannelHandler.Responder, fastPath: FastPathRoutes, counters: FastPathCounters,
        timeouts: ConnectionTimeouts
    ) {
        self.responder = responder
        self.fastPath = fastPath
        self.counters = counters
        self.timeouts = timeouts
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // In front of HTTP (and behind TLS): every request and answer counts as activity, the
            // fast path's included, and a TLS handshake that never ends is idle too.
            try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser(timeouts))
            // Not configureHTTPServerPipeline: it pairs the decoder with the encoder, which then
            // takes one decoded request's method per response it encodes. The fast path answers
            // below the encoder, so every routed answer after one was framed as an older
            // request's: after a HEAD, a GET's body was cut. HEAD answers are Hummingbird's,
            // bodiless already.
            try channel.pipeline.syncOperations.addHandlers([
                HTTPResponseEncoder(configuration: .init()),
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)),
            ])
            try channel.pipeline.syncOperations.addHandler(FastPathHandler(routes: fastPath, counters: counters))
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(logger: logger))
            return try NIOAsyncChannel(
                wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

/// How long a connection may stay silent, and how long a request may take to arrive.
struct ConnectionTimeouts: Sendable {
    /// See ``ServerConfiguration/idleTimeout``.
    var idle: TimeAmount
    /// See ``ServerConfiguration/requestTimeout``.
    var request: TimeAmount

    init(idle: TimeAmount, request: TimeAmount) {
        self.idle = idle
        self.request = request
    }

    init(_ configuration: ServerConfiguration) {
        self.init(
            idle: .milliseconds(configuration.idleTimeout.milliseconds), request: .milliseconds(configuration.requestTimeout.milliseconds))
    }
}

/// Sent toward the connection's head by the HTTP layer once a request has been read in full
/// (its end), for ``IdleConnectionCloser``'s request deadline.
struct RequestReceived: Sendable {}

/// Closes a connection that neither read nor wrote anything for a whole check interval (so idle
/// for between one and two idle timeouts), unless an answer is still draining to a slow reader;
/// and one whose request is not read in full within the request timeout of its first byte: a
/// client that sends its request a byte at a time (slowloris) is never idle.
///
/// NIO's `IdleStateHandler` times each write's completion through a promise of its own: 1-2.5 µs
/// more per OCSP answer (about 40 µs each). Here a read or write only sets a flag, and the first
/// read of a request reads the clock.
final class IdleConnectionCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private let timeouts: ConnectionTimeouts
    private var active = true
    private var check: Scheduled<Void>?
    /// When the first byte of a request not read in full yet arrived. Its answer does not count:
    /// one may come early (a 401 before the body), and a slow server is not the client's fault.
    private var unreadSince: NIODeadline?
    private var requestCheck: Scheduled<Void>?

    init(_ timeouts: ConnectionTimeouts) {
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleCheck(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if check == nil { scheduleCheck(context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelChecks()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelChecks()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        active = true
        if unreadSince == nil {
            let now = NIODeadline.now()
            unreadSince = now
            if requestCheck == nil { scheduleRequestCheck(context, at: now + timeouts.request) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        active = true
        context.write(data, promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is RequestReceived else { return context.triggerUserOutboundEvent(event, promise: promise) }
        unreadSince = nil
        promise?.succeed(())
    }

    private func cancelChecks() {
        check?.cancel()
        check = nil
        requestCheck?.cancel()
        requestCheck = nil
    }

    private func scheduleCheck(_ context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(in: timeouts.idle) { bound.value.handler.checkIdle(bound.value.context) }
    }

    private func checkIdle(_ context: ChannelHandlerContext) {
        // A large answer (a CRL) still being sent to a slow reader is not idle.
        if !active, context.channel.isWritable {
            check = nil
            context.close(promise: nil)
        } else {
            active = false
            scheduleCheck(context)
        }
    }

    /// One check per request timeout at most, however many requests pass meanwhile: a request
    /// read in full before it finds nothing to do, and a later one is checked at its own deadline.
    private func scheduleRequestCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        requestCheck = context.eventLoop.scheduleTask(deadline: deadline) {
            bound.value.handler.checkRequest(bound.value.context)
        }
    }

    private func checkRequest(_ context: ChannelHandlerContext) {
        requestCheck = nil
        guard let since = unreadSince else { return }
        if NIODeadline.now() >= since + timeouts.request {
            cancelChecks()
            context.close(promise: nil)
        } else {
            scheduleRequestCheck(context, at: since + timeouts.request)
        }
    }
}
