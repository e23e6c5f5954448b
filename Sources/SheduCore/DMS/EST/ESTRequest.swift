import Foundation
import X509

/// What the HTTP edge tells EST about one request.
public struct ESTRequest: Sendable {
    /// The client's certificate chain, leaf first, as presented on the TLS connection (or by a
    /// trusted proxy); empty when there is none.
    public var clientChain: [Certificate]
    /// The request's headers (first value of each), for the webhook.
    public var headers: [String: String]
    /// The request's URL, for the webhook.
    public var url: String

    public init(clientChain: [Certificate], headers: [String: String] = [:], url: String = "") {
        self.clientChain = clientChain
        self.headers = headers
        self.url = url
    }
}
