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
    /// See ``ServerConfiguration/idleTimeout``.
    let idleTimeout: TimeAmount

    init(
        responder: @escaping HTTPChannelHandler.Responder, fastPath: FastPathRoutes, counters: FastPathCounters,
        idleTimeout: TimeAmount
    ) {
        self.responder = responder
        self.fastPath = fastPath
        self.counters = counters
        self.idleTimeout = idleTimeout
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // In front of HTTP (and behind TLS): every request and answer counts as activity, the
            // fast path's included, and a TLS handshake that never ends is idle too.
            try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser(timeout: idleTimeout))
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

/// Closes a connection that neither read nor wrote anything for a whole check interval (so idle
/// for between one and two `timeout`s), unless an answer is still draining to a slow reader.
///
/// NIO's `IdleStateHandler` times each write's completion through a promise of its own: 1-2.5 µs
/// more per OCSP answer (about 40 µs each). Here a read or write only sets a flag.
final class IdleConnectionCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private let timeout: TimeAmount
    private var active = true
    private var check: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleCheck(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if check == nil { scheduleCheck(context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        active = true
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        active = true
        context.write(data, promise: promise)
    }

    private func scheduleCheck(_ context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(in: timeout) { bound.value.handler.checkIdle(bound.value.context) }
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
}
