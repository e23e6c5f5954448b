import Foundation
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("Health")
struct HealthTests {
    /// What a load balancer reads: while the PostgreSQL database refuses connections, `/health`
    /// (fast path and router) says 503 and the log says so once; once it is back, 200 again. It
    /// said 200 throughout.
    @Test(arguments: TestBackend.available.filter { $0 == .postgres })
    func healthFollowsTheDatabase(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend) { $0.httpPort = try? freePort() }
        try await app.withLiveServer { server in
            @Sendable func answers() async throws -> [LiveClient.Reply] {
                [try await server.request(.GET, "/health", plainHTTP: true), try await server.request(.GET, "/api/ca/v1/health")]
            }
            /// The answers once every status is `status`, within 20 s.
            func awaitStatus(_ status: Int) async throws -> [LiveClient.Reply] {
                let deadline = ContinuousClock.now + .seconds(20)
                while true {
                    let replies = try await answers()
                    if replies.allSatisfy({ $0.status == status }) { return replies }
                    guard ContinuousClock.now < deadline else {
                        throw TestFailure("/health did not answer \(status): \(replies.map { "\($0.status) \($0.text)" })")
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(try await answers().map(\.status) == [200, 200])

            try await app.scratch.allowConnections(false)
            for reply in try await awaitStatus(503) {
                let body = try reply.json()
                #expect(body["health"] == .bool(false))
                #expect(body["err"]?.stringValue?.contains("database") == true, "\(reply.text)")
            }
            // Still down a second later: one line in the log, not one per probe.
            try await Task.sleep(for: .seconds(1))
            #expect(try await answers().map(\.status) == [503, 503])

            try await app.scratch.allowConnections(true)
            for reply in try await awaitStatus(200) {
                #expect(try reply.json()["health"] == .bool(true))
            }
        }
        let logged = app.logs.all.filter { $0.contains("the database does not answer") }
        #expect(logged.count == 1, "\(logged)")
        #expect(app.logs.all.contains { $0.contains("the database answers again") })
        await app.cleanup()
    }

    /// A probe that hangs (the database takes a lock it waits on) counts as failed after 5 s:
    /// `/health` says 503 until it answers, and the log says so once it does. Nothing was logged.
    @Test(arguments: TestBackend.available.filter { $0 == .postgres })
    func aStalledProbeSays503AndIsLogged(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend) { $0.httpPort = try? freePort() }
        try await app.withLiveServer { server in
            #expect(try await server.request(.GET, "/health", plainHTTP: true).status == 200)
            let locker = try await app.scratch.open()
            let sawUnhealthy = Shared(false)
            // The watcher's read of the change counts waits behind this lock for 8 s.
            try await locker.write { db in
                try await db.raw("LOCK TABLE shedu_replica_writes IN ACCESS EXCLUSIVE MODE").run()
                let deadline = ContinuousClock.now + .seconds(8)
                while ContinuousClock.now < deadline {
                    if try await server.request(.GET, "/health", plainHTTP: true).status == 503 { sawUnhealthy.withLock { $0 = true } }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            await locker.close()
            #expect(sawUnhealthy.value, "/health said 200 while its probe hung")
            let deadline = ContinuousClock.now + .seconds(10)
            while try await server.request(.GET, "/health", plainHTTP: true).status != 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await server.request(.GET, "/health", plainHTTP: true).status == 200)
        }
        let logged = app.logs.all.filter { $0.contains("the database answers again") }
        #expect(logged.count == 1, "\(logged)")
        await app.cleanup()
    }
}
