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
            // In front of HTTP (and behind TLS): every byte counts as activity, the fast path's
            // answers included, and a TLS handshake that never ends is idle too.
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idleTimeout))
            try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser())
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: .init())
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

/// Closes the connection when ``IdleStateHandler`` reports it idle.
final class IdleConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case IdleStateHandler.IdleStateEvent.all = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
