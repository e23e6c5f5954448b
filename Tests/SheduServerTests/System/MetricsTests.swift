import Foundation
import HummingbirdTesting
import Testing

@testable import SheduServer

@Suite("Prometheus metrics")
struct MetricsTests {
    @Test func countsRequestsAndTimesThem() async throws {
        let app = try await TestApp.make()
        try await app.withRouter { client in
            for _ in 0..<3 { _ = try await client.send(.get, "/api/ca/v1/health") }
            _ = try await client.send(.get, "/api/ca/v1/profiles")
            let response = try await client.send(.get, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = response.text
            let counter = text.split(separator: "\n").first {
                $0.hasPrefix("hb_requests{") && $0.contains("/api/ca/v1/health") && $0.contains("200")
            }
            let count = counter.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
            #expect(count >= 3, "\(counter ?? "no counter")")
            #expect(text.contains("http_server_request_duration"))
            #expect(text.contains("401"), "refused requests are counted too")
        }
        await app.cleanup()
    }
}
