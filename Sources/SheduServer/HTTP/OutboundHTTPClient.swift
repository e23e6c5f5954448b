import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SheduCore

/// ``OutboundHTTP`` over async-http-client (webhooks, external CRLs and OCSP responders).
struct OutboundHTTPClient: OutboundHTTP {
    let client: HTTPClient
    /// Largest answer read; a CRL of a large external CA fits.
    static let maximumResponseSize = 32 << 20

    func send(
        method: String, url: String, headers: [(String, String)], body: [UInt8]?, timeout: TimeDuration, tls: OutboundTLS
    ) async throws -> OutboundHTTPResponse {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        if tls != OutboundTLS() { request.tlsConfiguration = try Self.configuration(tls) }
        let deadline = TimeAmount.milliseconds(max(1, timeout.milliseconds))
        do {
            let response = try await client.execute(request, timeout: deadline)
            let collected = try await response.body.collect(upTo: Self.maximumResponseSize)
            return OutboundHTTPResponse(status: Int(response.status.code), body: Array(collected.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw OutboundHTTPFailure.timedOut
        } catch {
            throw OutboundHTTPFailure.failed(String(describing: error))
        }
    }

    private static func configuration(_ tls: OutboundTLS) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !tls.verifiesServerCertificate { configuration.certificateVerification = .none }
        if let certificatePEM = tls.clientCertificatePEM, let keyPEM = tls.clientKeyPEM {
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
            } catch {
                // Nothing of the key in the message.
                throw OutboundHTTPFailure.failed("the client certificate or key is not PEM that TLS can use")
            }
        }
        return configuration
    }
}
