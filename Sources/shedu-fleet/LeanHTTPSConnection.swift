import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// One TLS connection speaking just the HTTP/1.1 the simulator needs: a request written in one
/// buffer, its response read to the end of its Content-Length.
///
/// The simulator shares the 2 cores with the server it measures, so what it spends per request
/// is taken from the server: with AsyncHTTPClient's pool and state machines it used a fifth more
/// CPU for the same enrollments. This is what wrk is to hey for plain HTTP.
struct LeanHTTPSConnection: Sendable {
    struct Response: Sendable {
        var status: Int
        var body: ByteBuffer
    }

    private let channel: any Channel
    private let reader: NIOLoopBound<ResponseReader>
    private let host: String

    /// Connects to `address` and completes the TLS handshake, checking the server as `host`.
    static func connect(to address: SocketAddress, host: String, context: NIOSSLContext) async throws -> LeanHTTPSConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: host))
                    try channel.pipeline.syncOperations.addHandler(ResponseReader())
                }
            }
            .connect(to: address).get()
        let (reader, handshake) = try await channel.eventLoop.submit {
            let reader = try channel.pipeline.syncOperations.handler(type: ResponseReader.self)
            return (NIOLoopBound(reader, eventLoop: channel.eventLoop), reader.handshakeDone!)
        }.get()
        // Waiting for the handshake here keeps its failures (an untrusted certificate, say) apart
        // from those of the first request.
        try await handshake.get()
        return LeanHTTPSConnection(channel: channel, reader: reader, host: host)
    }

    /// POSTs `body` and returns the response.
    func post(_ path: String, contentType: String, body: String, headers: [(String, String)] = []) async throws -> Response {
        var request = channel.allocator.buffer(capacity: 256 + body.utf8.count)
        request.writeString("POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: \(contentType)\r\n")
        request.writeString("Content-Length: \(body.utf8.count)\r\n")
        for (name, value) in headers { request.writeString("\(name): \(value)\r\n") }
        request.writeString("\r\n")
        request.writeString(body)
        let bytes = request
        let promise = channel.eventLoop.makePromise(of: Response.self)
        let reader = self.reader
        let channel = self.channel
        channel.eventLoop.execute {
            reader.value.expect(promise)
            channel.writeAndFlush(bytes).cascadeFailure(to: promise)
        }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }
}

/// Reads responses with a Content-Length, one at a time, for the request written last.
private final class ResponseReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private var received: ByteBuffer?
    private var pending: EventLoopPromise<LeanHTTPSConnection.Response>?
    /// Completed (and then nil) when the TLS handshake ends, or the connection before it.
    private var handshake: EventLoopPromise<Void>?
    private(set) var handshakeDone: EventLoopFuture<Void>!

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: Void.self)
        handshake = promise
        handshakeDone = promise.futureResult
    }

    func expect(_ promise: EventLoopPromise<LeanHTTPSConnection.Response>) {
        pending = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            handshake?.succeed()
            handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        do {
            if let response = try Self.parse(&received!) {
                let promise = pending
                pending = nil
                promise?.succeed(response)
            }
        } catch {
            fail(error, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failWaiting(FleetError("the server closed the connection before answering"))
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        failWaiting(error)
        context.close(promise: nil)
    }

    private func failWaiting(_ error: any Error) {
        handshake?.fail(error)
        handshake = nil
        pending?.fail(error)
        pending = nil
    }

    /// A whole response taken off the front of `buffer`, or nil while part of it is missing.
    static func parse(_ buffer: inout ByteBuffer) throws -> LeanHTTPSConnection.Response? {
        // The blank line that ends the head, found over the raw bytes.
        let headEnd: Int? = buffer.withUnsafeReadableBytes { bytes in
            guard bytes.count >= 4 else { return nil }
            for index in 0...(bytes.count - 4)
            where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
                return index
            }
            return nil
        }
        guard let headEnd else { return nil }
        let head = buffer.getString(at: buffer.readerIndex, length: headEnd)!
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
            let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else { throw FleetError("not an HTTP/1.1 response: \(head.prefix(80))") }
        var length: Int?
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased()
            if name == "content-length" { length = Int(parts[1].trimmingCharacters(in: .whitespaces)) }
            if name == "transfer-encoding" { throw FleetError("the simulator reads responses with a Content-Length only") }
        }
        guard let length else { throw FleetError("a response without Content-Length (status \(status))") }
        let headLength = headEnd + 4
        guard buffer.readableBytes >= headLength + length else { return nil }
        buffer.moveReaderIndex(forwardBy: headLength)
        let body = buffer.readSlice(length: length)!
        buffer.discardReadBytes()
        return .init(status: status, body: body)
    }
}
