import Foundation
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("Rate limits: token buckets per client and per source address")
struct RateLimitTests {
    @Test func aBucketRefillsAtItsRateUpToItsBurst() {
        let limiter = RateLimiter(RateLimit(rate: 2, burst: 3))
        let start: UInt64 = 1_000_000_000
        #expect((0..<3).map { _ in limiter.take("a", now: start) } == [.allowed(remaining: 2), .allowed(remaining: 1), .allowed(remaining: 0)])
        #expect(limiter.take("a", now: start) == .refused(retryAfter: 1))
        #expect(limiter.take("b", now: start) == .allowed(remaining: 2), "each key has its own bucket")
        #expect(limiter.take("a", now: start + 500_000_000) == .allowed(remaining: 0), "half a second brings one token at 2/s")
        #expect(limiter.take("a", now: start + 60_000_000_000) == .allowed(remaining: 2), "never more than the burst")
        #expect(limiter.headers(for: .refused(retryAfter: 4)).first! == ("Retry-After", "4"))
    }

    @Test(arguments: [("100/200", RateLimit(rate: 100, burst: 200)), ("50", RateLimit(rate: 50, burst: 100)), ("off", nil)])
    func limitsAreWrittenRateSlashBurst(_ text: String, _ expected: RateLimit?) throws {
        #expect(try RateLimit.parse(text, option: "--x") == expected)
    }

    // Past what a bucket counts in whole requests, the server trapped at start.
    @Test(arguments: ["", "fast", "0", "10/0", "1/2/3", "-5", "99999999999999999999", "1e300", "10/1e30", "inf", "nan", "9223372036854775807"])
    func badLimitsAreRefused(_ text: String) {
        #expect(throws: SheduError.self) { try RateLimit.parse(text, option: "--rate-limit-public") }
    }

    /// Over the limit: 429 with Retry-After and {"err"}; public routes by address, API calls by
    /// client; what is not limited stays open.
    @Test func overTheLimitIsA429WithRetryAfter() async throws {
        let app = try await TestApp.make {
            $0.publicRateLimit = RateLimit(rate: 0.001, burst: 4)
            $0.clientRateLimit = RateLimit(rate: 0.001, burst: 3)
        }
        let alice = try await app.token(.viewer, subject: "alice")
        let bob = try await app.token(.viewer, subject: "bob")
        try await app.withLiveServer { server in
            for index in 0..<4 {
                let reply = try await server.request(.GET, "/.well-known/est/no-such-dms/cacerts")
                #expect(reply.status == 404, "request \(index) is let through")
                #expect(reply.header("RateLimit-Remaining") == String(3 - index))
            }
            let limited = try await server.request(.GET, "/.well-known/est/no-such-dms/cacerts")
            #expect(limited.status == 429)
            #expect(Int(limited.header("Retry-After") ?? "") ?? 0 >= 1)
            #expect(try limited.json()["err"]?.stringValue?.contains("too many requests") == true)

            for _ in 0..<3 { #expect(try await server.request(.GET, "/api/ca/v1/profiles", token: alice).status == 200) }
            let aliceLimited = try await server.request(.GET, "/api/ca/v1/profiles", token: alice)
            #expect(aliceLimited.status == 429)
            #expect(aliceLimited.header("Retry-After") != nil)
            #expect(try await server.request(.GET, "/api/ca/v1/profiles", token: bob).status == 200, "bob has his own bucket")
            #expect(try await server.request(.GET, "/health").status == 200, "health is not limited")
        }
        await app.cleanup()
    }

    /// CRL downloads (answered by the fast path once the CRL is kept) are limited by address too,
    /// and a request the fast path hands to the router is counted once.
    @Test func theFastPathCountsOncePerRequest() async throws {
        let app = try await TestApp.make { $0.publicRateLimit = RateLimit(rate: 0.001, burst: 5) }
        let admin = try await app.token(.admin)
        try await app.withLiveServer { server in
            let created = try await server.request(
                .POST, "/api/ca/v1/cas", token: admin,
                body: #"{"id":"ca","subject":{"common_name":"CA"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"1y"}}"#)
            let ski = try #require(try created.json()["certificate"]?["subject_key_id"]?.stringValue)
            for index in 0..<5 {
                let crl = try await server.request(.GET, "/api/va/crl/\(ski)")
                #expect(crl.status == 200, "download \(index)")
            }
            let limited = try await server.request(.GET, "/api/va/crl/\(ski)")
            #expect(limited.status == 429)
            #expect(limited.header("Retry-After") != nil)
        }
        await app.cleanup()
    }
}
