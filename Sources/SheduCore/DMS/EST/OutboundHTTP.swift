import Foundation

/// The HTTP calls Shedu makes itself: enrollment webhooks, and the CRLs and OCSP responders of
/// client certificates issued elsewhere. The server implements it with async-http-client.
public protocol OutboundHTTP: Sendable {
    /// Sends one request; throws when there is no answer within `timeout`.
    func send(method: String, url: String, headers: [(String, String)], body: [UInt8]?, timeout: TimeDuration) async throws
        -> OutboundHTTPResponse
}

public struct OutboundHTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}
