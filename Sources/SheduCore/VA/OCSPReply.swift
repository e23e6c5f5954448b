import Crypto
import Foundation
import SheduPKI

/// A DER OCSP response ready to send, and how long an HTTP cache may keep it.
public struct OCSPReply: Sendable, Hashable {
    public var der: [UInt8]
    public var status: OCSPResponseStatus
    /// Set for a signed answer about one known certificate without a nonce: the only kind a cache
    /// may give to another client (RFC 5019).
    public var freshness: Freshness?

    /// When an answer was signed and until when it holds.
    public struct Freshness: Sendable, Hashable {
        public var producedAt: Date
        public var nextUpdate: Date
        /// A quoted HTTP entity tag of the response bytes.
        public var entityTag: String
    }

    init(der: [UInt8], status: OCSPResponseStatus, freshness: Freshness?) {
        self.der = der
        self.status = status
        self.freshness = freshness
    }

    /// A successful response; `cacheable` ones get ``freshness``.
    init(signed der: [UInt8], producedAt: Date, nextUpdate: Date, cacheable: Bool) {
        var freshness: Freshness?
        if cacheable {
            let tag = Hex.encode(SHA256.hash(data: der).prefix(12))
            freshness = Freshness(producedAt: producedAt, nextUpdate: nextUpdate, entityTag: "\"\(tag)\"")
        }
        self.init(der: der, status: .successful, freshness: freshness)
    }

    /// The unsigned answer of an error status (RFC 6960 §2.3).
    static func error(_ status: OCSPResponseStatus) -> OCSPReply {
        // An error response is a status alone; encoding it cannot fail.
        OCSPReply(der: try! OCSPResponder.errorResponse(status), status: status, freshness: nil)
    }

    public static let malformedRequest = error(.malformedRequest)
    public static let unauthorized = error(.unauthorized)
    public static let internalError = error(.internalError)
    public static let tryLater = error(.tryLater)
}
