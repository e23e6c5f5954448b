import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import SheduCore

/// TLS for the HTTPS listener that asks for a client certificate, accepts any chain at the TLS
/// layer, and keeps the chain as presented on the connection (`nioSSL_peerValidatedCertificateChain`).
///
/// Trust is decided per request, not here: EST trusts per DMS, the API per designated CA. So the
/// chain kept on the connection is only what the client presented, and every reader verifies it.
struct ClientCertificateTLSChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    typealias Value = BaseChannel.Value

    let sslContext: NIOSSLContext
    var baseChannel: BaseChannel

    init(_ baseChannel: BaseChannel, sslContext: NIOSSLContext) {
        self.baseChannel = baseChannel
        self.sslContext = sslContext
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLServerHandler(
                    context: sslContext, configuration: .init(),
                    customVerificationCallbackWithMetadata: { certificates, promise in
                        let chain = certificates.isEmpty ? nil : ValidatedCertificateChain(certificates)
                        promise.succeed(.certificateVerified(VerificationMetadata(chain)))
                    }))
        }.flatMap {
            baseChannel.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: BaseChannel.Value, logger: Logger) async {
        await baseChannel.handle(value: value, logger: logger)
    }
}

extension ClientCertificateTLSChannel: HTTPChannelHandler where BaseChannel: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { baseChannel.responder }
}

extension HTTPServerBuilder {
    /// Plain HTTP/1.1 with the fast path.
    static func http(fastPath: FastPathRoutes, counters: FastPathCounters, timeouts: ConnectionTimeouts) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            SheduHTTP1Channel(responder: responder, fastPath: fastPath, counters: counters, timeouts: timeouts)
        }
    }

    /// HTTP/1.1 over TLS with the fast path, requesting (not requiring) a client certificate.
    static func https(
        certificateChainPEM: String, privateKeyPEM: String, fastPath: FastPathRoutes, counters: FastPathCounters,
        timeouts: ConnectionTimeouts
    ) throws -> HTTPServerBuilder {
        var tls: TLSConfiguration
        do {
            tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificateChainPEM.utf8)).map {
                    .certificate($0)
                },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)))
        } catch {
            throw SheduError.unavailable("the TLS certificate or key in the data folder cannot be loaded: \(error)")
        }
        tls.certificateVerification = .optionalVerification
        // RFC 7030 §3.3.1 requires TLS 1.1 or later for EST, and RFC 8996 retires 1.0 and 1.1.
        tls.minimumTLSVersion = .tlsv12
        // After Shedu's close_notify (a response to `Connection: close`), how long the peer's
        // close_notify is waited for. Most clients (curl, devices) close the TCP connection without
        // one, and NIOSSL's default of 5 s kept each such connection open that long, with its TLS
        // state: 3,000 enrollments grew the server to 300 MB.
        tls.shutdownTimeout = .milliseconds(250)
        let context = try NIOSSLContext(configuration: tls)
        return HTTPServerBuilder { responder in
            ClientCertificateTLSChannel(
                SheduHTTP1Channel(responder: responder, fastPath: fastPath, counters: counters, timeouts: timeouts),
                sslContext: context)
        }
    }
}
