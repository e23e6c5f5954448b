import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SheduCore

/// ``OutboundHTTP`` over async-http-client (webhooks, external CRLs and OCSP responders).
struct OutboundHTTPClient: OutboundHTTP {
    let client: HTTPClient
    /// Largest answer read; a CRL of a large external CA fits.
    static let maximumResponseSize = 32 << 20

    func send(method: String, url: String, headers: [(String, String)], body: [UInt8]?, timeout: TimeDuration) async throws
        -> OutboundHTTPResponse
    {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let deadline = TimeAmount.milliseconds(max(1, timeout.milliseconds))
        let response = try await client.execute(request, timeout: deadline)
        let collected = try await response.body.collect(upTo: Self.maximumResponseSize)
        return OutboundHTTPResponse(status: Int(response.status.code), body: Array(collected.readableBytesView))
    }
}
