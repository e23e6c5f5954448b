import Foundation

/// The HTTP calls Shedu makes itself: enrollment webhooks, and the CRLs and OCSP responders of
/// client certificates issued elsewhere. The server implements it with async-http-client.
public protocol OutboundHTTP: Sendable {
    /// Sends one request; throws ``OutboundHTTPFailure`` when there is no answer.
    func send(
        method: String, url: String, headers: [(String, String)], body: [UInt8]?, timeout: TimeDuration, tls: OutboundTLS
    ) async throws -> OutboundHTTPResponse
}

extension OutboundHTTP {
    /// A call with the standard TLS: the server's certificate is verified, none is presented.
    public func send(method: String, url: String, headers: [(String, String)], body: [UInt8]?, timeout: TimeDuration) async throws
        -> OutboundHTTPResponse
    {
        try await send(method: method, url: url, headers: headers, body: body, timeout: timeout, tls: OutboundTLS())
    }
}

/// How a call meets the server's TLS.
public struct OutboundTLS: Sendable, Hashable {
    public var verifiesServerCertificate = true
    /// PEM of the certificate (chain) and private key to present when the server asks for one.
    public var clientCertificatePEM: String?
    public var clientKeyPEM: String?

    public init(verifiesServerCertificate: Bool = true, clientCertificatePEM: String? = nil, clientKeyPEM: String? = nil) {
        self.verifiesServerCertificate = verifiesServerCertificate
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
    }
}

/// Why an outbound call has no answer.
public enum OutboundHTTPFailure: Error, Sendable {
    case timedOut
    /// No answer for another reason (refused connection, TLS, a bad URL), said in words.
    case failed(String)
}

public struct OutboundHTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}
