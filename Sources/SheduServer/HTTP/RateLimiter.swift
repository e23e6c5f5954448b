import Foundation
import NIOCore
import SheduCore
import Synchronization

/// A limit of requests: `rate` a second on average, `burst` at once.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var rate: Double
    public var burst: Double

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// `RATE` or `RATE/BURST` (burst defaults to twice the rate); `off` is nil.
    public static func parse(_ text: String, option: String) throws -> RateLimit? {
        if text.lowercased() == "off" { return nil }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        // Bounded: a bucket counts in whole requests, and a billion a second is no limit already.
        let largest = 1e9
        guard (1...2).contains(parts.count), let rate = Double(parts[0]), rate > 0, rate <= largest,
            let burst = parts.count == 2 ? Double(parts[1]) : rate * 2, burst >= 1, burst <= 2 * largest
        else {
            throw SheduError.badRequest(
                "\(option) must be RATE or RATE/BURST in requests per second (e.g. 100/200; at most 1000000000/2000000000), or off, not '\(text)'")
        }
        return RateLimit(rate: rate, burst: burst)
    }

    public var description: String { "\(rate)/\(burst)" }
}

/// A token bucket per key (a client, or a source address): `rate` requests a second on average,
/// `burst` at once.
final class RateLimiter: Sendable {
    enum Decision: Equatable {
        case allowed(remaining: Int)
        /// Refused; a token is back after this many seconds.
        case refused(retryAfter: Int)
    }

    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    let limit: RateLimit
    /// Buckets kept at most; full ones are dropped first when there are more.
    static let maximumKeys = 100_000
    private let buckets = Mutex<[String: Bucket]>([:])

    /// `RateLimit-Limit`'s value, written on every limited response.
    private let limitHeaderValue: String

    init(_ limit: RateLimit) {
        self.limit = limit
        limitHeaderValue = String(Int(limit.burst))
    }

    func take(_ key: String, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Decision {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, updated: now)
            let elapsed = Double(now &- bucket.updated) / 1e9
            bucket.tokens = min(limit.burst, bucket.tokens + elapsed * limit.rate)
            bucket.updated = now
            let decision: Decision
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                decision = .allowed(remaining: Int(bucket.tokens))
            } else {
                decision = .refused(retryAfter: max(1, Int(((1 - bucket.tokens) / limit.rate).rounded(.up))))
            }
            if buckets.count >= Self.maximumKeys, buckets[key] == nil { Self.evict(&buckets, now: now, limit: limit) }
            buckets[key] = bucket
            return decision
        }
    }

    /// Gives back a token taken for a request that is then counted elsewhere (the fast path
    /// handing a request to the router).
    func refund(_ key: String) {
        buckets.withLock { buckets in
            guard var bucket = buckets[key] else { return }
            bucket.tokens = min(limit.burst, bucket.tokens + 1)
            buckets[key] = bucket
        }
    }

    /// Drops the buckets that have refilled (a client that went quiet), else the oldest half.
    private static func evict(_ buckets: inout [String: Bucket], now: UInt64, limit: RateLimit) {
        let full = buckets.filter { Double(now &- $0.value.updated) / 1e9 * limit.rate + $0.value.tokens >= limit.burst }
        if full.count > buckets.count / 10 {
            for key in full.keys { buckets[key] = nil }
        } else {
            let oldest = buckets.sorted { $0.value.updated < $1.value.updated }.prefix(buckets.count / 2)
            for (key, _) in oldest { buckets[key] = nil }
        }
    }

    /// The headers of a limited response (IETF RateLimit fields), and of a refusal.
    func headers(for decision: Decision) -> [(String, String)] {
        switch decision {
        case .allowed(let remaining):
            return [("RateLimit-Limit", limitHeaderValue), ("RateLimit-Remaining", String(remaining))]
        case .refused(let retryAfter):
            return [("Retry-After", String(retryAfter)), ("RateLimit-Limit", limitHeaderValue), ("RateLimit-Remaining", "0")]
        }
    }

    static func refusalBody(retryAfter: Int) -> String {
        JSONValue.object(["err": .string("too many requests; retry after \(retryAfter) s")]).jsonText()
    }
}

/// Which requests are limited by what: unauthenticated routes (EST, OCSP, CRL) per source
/// address, authenticated API calls per client.
struct RateLimits: Sendable {
    let publicRoutes: RateLimiter?
    let clients: RateLimiter?

    static let unlimited = RateLimits(publicRoutes: nil, clients: nil)

    /// Routes without credentials that anyone on the network can call.
    static func isPublicLimited(_ path: some StringProtocol) -> Bool {
        path.hasPrefix("/api/va/") || path.hasPrefix("/.well-known/est") || path.hasPrefix("/api/dmsmanager/.well-known/est")
    }

    /// An authenticated caller's key: its identity, whatever address it calls from.
    static func key(of principal: Principal) -> String {
        "\(principal.method.rawValue):\(principal.subject)"
    }

    /// The source address as a key; the whole address, not the port.
    static func key(of address: SocketAddress?) -> String {
        address?.ipAddress ?? "unknown"
    }
}
