import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import SQLKit
import SheduCore
import SheduPKI
import SheduStorage
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("CA: concurrency, paging and expiry")
struct CAScaleTests {
    /// Many tasks sign at once (grouped into shared transactions): every certificate is stored,
    /// with its own serial number.
    @Test(arguments: TestBackend.available)
    func concurrentIssuanceGivesDistinctSerialsAndLosesNothing(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.operator)
        // Thousands on SQLite; fewer on PostgreSQL, where the same code paths run.
        let count = backend == .sqlite ? 2000 : 600
        let csrs = try (0..<count).map { try TestPKI.csr(commonName: "device-\($0)", key: try TestPKI.key("ECDSA", 256)) }
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "ca", expiration: "5y", profileID: "device-profile")
            let serials = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<50 {
                    group.addTask {
                        var mine: [String] = []
                        for index in stride(from: worker, to: csrs.count, by: 50) {
                            let response = try await api.sign(ca: "ca", csr: csrs[index], profileID: nil)
                            guard response.status == .created else { throw TestFailure("sign failed: \(response.text)") }
                            mine.append(try #require(try response.json()["serial_number"]?.stringValue))
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(serials.count == count)
            #expect(Set(serials).count == count, "duplicate serial numbers")

            // Paging with bookmarks returns each certificate exactly once, in every order.
            for query in ["page_size=100", "page_size=333&sort_by=serial_number&sort_mode=asc",
                          "page_size=250&sort_by=subject.common_name&sort_mode=desc&filter=status[eq]ACTIVE"] {
                let listed = try await api.all("/api/ca/v1/cas/ca/certificates?\(query)").compactMap { $0["serial_number"]?.stringValue }
                #expect(listed.count == count, "\(query)")
                #expect(Set(listed) == Set(serials), "\(query): a certificate is missing or repeated")
            }
            // Lists whose route adds a filter, over more than 100 pages (the route's filter was
            // added again on every page, and page 101 passed the limit of 100 filters).
            for path in ["/api/ca/v1/cas/ca/certificates/status/ACTIVE?", "/api/ca/v1/certificates/status/active?filter=is_ca[eq]false&"] {
                let listed = try await api.all("\(path)page_size=\(count / 150)").compactMap { $0["serial_number"]?.stringValue }
                #expect(listed.count == count && Set(listed) == Set(serials), "\(path): \(listed.count) of \(count)")
            }
            let sorted = try await api.all("/api/ca/v1/certificates?page_size=400&sort_by=serial_number&filter=is_ca[eq]false")
                .compactMap { $0["serial_number"]?.stringValue }
            #expect(sorted.count == serials.count && sorted == serials.sorted(), "not in ascending serial order")
            // A bookmark belongs to the list that gave it: elsewhere its cursor would place a page of other rows.
            let next = try #require(try await api.get("/api/ca/v1/cas/ca/certificates?page_size=10")["next"]?.stringValue)
            for elsewhere in ["/api/ca/v1/certificates", "/api/kms/v1/keys", "/api/ca/v1/cas"] {
                let refused = try await api.client.send(.get, "\(elsewhere)?bookmark=\(next)", token: token)
                #expect(refused.status == .badRequest, "\(elsewhere): \(refused.text)")
                #expect(try refused.json()["err"] == .string("bookmark is one of the list /api/ca/v1/cas/ca/certificates, not of \(elsewhere)"))
            }
            #expect(try await api.client.send(.get, "/api/ca/v1/cas/ca/certificates?bookmark=\(next)", token: token).status == .ok)
            #expect(try await api.client.send(.get, "/api/ca/v1/cas/%63a/certificates?bookmark=\(next)", token: token).status == .ok,
                    "another spelling of the same list")
            #expect(try await api.get("/api/ca/v1/stats/ca")["ACTIVE"] == .int(Int64(count)))
        }
        await app.cleanup()
    }

    /// The monitor marks what passed its validity EXPIRED, by range, and records events.
    /// Services on `database` with two profiles: "short" (an hour) and "long" (a day).
    static func servicesWithLifetimes(database: SheduDatabase, clock: ManualClock) async throws -> SheduServices {
        let services = SheduServices(
            database: database, masterKey: SymmetricKey(size: .bits256), clock: clock, publicURL: "https://localhost:8443")
        _ = try await services.profiles.create(IssuanceProfile(id: "short", validity: .duration(.seconds(3600))))
        _ = try await services.profiles.create(IssuanceProfile(id: "long", validity: .duration(.days(1))))
        return services
    }

    /// The CA stats (the whole store's and each CA's) agree with the certificates themselves after
    /// every kind of change: issuance, revocation, a CA's cascade, the expiry monitor, deletions.
    @Test(arguments: TestBackend.available)
    func statsAgreeWithTheCertificatesThroughEveryKindOfChange(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
            let clock = ManualClock(Date())
            let services = try await Self.servicesWithLifetimes(database: database, clock: clock)
            _ = try await services.ca.createCA(
                try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"root","subject":{"common_name":"root"},"ca_expiration":{"type":"Duration","duration":"3d"}}"#))
            _ = try await services.ca.createCA(
                try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"sub","parent_id":"root","subject":{"common_name":"sub"},"ca_expiration":{"type":"Duration","duration":"2d"}}"#))
            var issued: [String: [String]] = [:]
            for index in 0..<15 {
                let caID = index < 9 ? "root" : "sub"
                let csr = try TestPKI.csr(commonName: "d\(index)", key: try TestPKI.key("ECDSA", 256))
                let record = try await services.ca.sign(caID: caID, SignCertificateRequest(csr: csr, profileID: index % 3 == 0 ? "long" : "short"))
                issued[caID, default: []].append(record.serialNumber)
            }
            for serial in issued["root"]!.prefix(2) {
                _ = try await services.ca.updateCertificateStatus(serialNumber: serial, StatusChange(status: .revoked, revocationReason: .keyCompromise))
            }
            _ = try await services.ca.updateCAStatus(id: "sub", StatusChange(status: .revoked, revocationReason: .cessationOfOperation))
            clock.advance(by: 2 * 3600)
            try await services.ca.expire()
            try await services.ca.deleteCA(id: "sub")
            try await services.ca.deleteCertificate(serialNumber: issued["sub"]![0])

            func counted(_ condition: String) async throws -> [CertificateStatus: Int] {
                try await database.read { db in
                    var counts: [CertificateStatus: Int] = [:]
                    for row in try await db.raw("SELECT status, COUNT(*) AS n FROM certificates \(unsafeRaw: condition) GROUP BY status").all() {
                        counts[CertificateStatus(rawValue: try row.decode(column: "status", as: String.self))!] = try row.decode(column: "n", as: Int.self)
                    }
                    return counts
                }
            }
            func nonZero(_ counts: [CertificateStatus: Int]) -> [CertificateStatus: Int] { counts.filter { $0.value != 0 } }
            let all = try await counted("")
            // The root and two long-lived leaves live; two leaves revoked by hand, the sub CA and its
            // leaves by the cascade (one of them deleted since); five short-lived leaves expired.
            #expect(all == [.active: 3, .revoked: 8, .expired: 5])
            #expect(nonZero(try await services.ca.stats().certificateStatuses) == all)
            #expect(nonZero(try await services.ca.statuses(issuedBy: "root")) == (try await counted("WHERE issuer_ca_id = 'root' AND NOT self_signed")))
            // Filtered counts are counted from the rows, on both stores.
            let leaves = try Filter(parsing: "is_ca[eq]false", fields: CertificateRecord.fields)
            let firstLeaves = try Filter(parsing: "subject.common_name[in]d0,d1,d2,d3", fields: CertificateRecord.fields)
            #expect(nonZero(try await services.ca.stats(certificateFilters: [leaves]).certificateStatuses) == (try await counted("WHERE NOT is_ca")))
            #expect(nonZero(try await services.ca.statuses(issuedBy: "root", filters: [firstLeaves])) == [.revoked: 2, .expired: 1, .active: 1])
            let revokedCAs = try Filter(parsing: "status[eq]REVOKED", fields: CertificateAuthority.fields)
            let caStats = try await services.ca.stats(caFilters: [revokedCAs])
            #expect(caStats.caCount == 0, "the revoked sub CA was deleted")
            #expect(try await services.ca.stats(caFilters: [try Filter(parsing: "id[eq]root", fields: CertificateAuthority.fields)]).caCount == 1)
        }
    }

    @Test(arguments: TestBackend.available)
    func theExpiryMonitorExpiresByRangeAndLeavesEvents(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
        let clock = ManualClock(Date())
        let services = try await Self.servicesWithLifetimes(database: database, clock: clock)
        let ca = try await services.ca.createCA(
            try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"ca","subject":{"common_name":"ca"},"ca_expiration":{"type":"Duration","duration":"2d"}}"#))
        var short: [String] = []
        for index in 0..<1500 {
            let csr = try TestPKI.csr(commonName: "d\(index)", key: try TestPKI.key("ECDSA", 256))
            let record = try await services.ca.sign(caID: ca.id, SignCertificateRequest(csr: csr, profileID: index % 3 == 0 ? "long" : "short"))
            if index % 3 != 0 { short.append(record.serialNumber) }
        }
        #expect(try await services.ca.expire() == 0)
        clock.advance(by: 2 * 3600)
        #expect(try await services.ca.expire() == 1000, "one pass per 1000, until none are left")
        #expect(try await services.ca.statuses(issuedBy: "ca")[.expired] == 1000)
        #expect(try await services.ca.certificate(serialNumber: short[0]).status == .expired)
        let events = try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM events WHERE type = 'certificate.status.update'").first()!.decode(column: "n", as: Int.self)
        }
        #expect(events == 1000)
        // Three days on, the CA itself and the rest have expired.
        clock.advance(by: 3 * 86_400)
        #expect(try await services.ca.expire() == 501)
        #expect(try await services.ca.ca(id: "ca").status == .expired)
        let caEvents = try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM events WHERE type = 'ca.status.update' AND subject = 'ca/ca'").first()!.decode(column: "n", as: Int.self)
        }
        #expect(caEvents == 1)
        }
    }
}
