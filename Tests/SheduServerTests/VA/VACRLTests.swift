import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduPKI
import SheduTestSupport
import Synchronization
import Testing
import X509

@testable import SheduServer

@Suite("VA: CRLs")
struct VACRLTests {
    /// The downloaded CRL verifies with openssl, is complete for its CA (no issuing distribution
    /// point), and makes `openssl verify -crl_check` reject the revoked leaf.
    @Test(arguments: TestBackend.available)
    func opensslVerifiesTheCRLAndRejectsTheRevokedLeaf(_ backend: TestBackend) async throws {
        try await VAWorld.run(backend) { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            try await world.issue("good")
            let revoked = try await world.issue("revoked")
            let held = try await world.issue("held")
            try await world.setStatus(revoked, "REVOKED", reason: "KeyCompromise")
            try await world.setStatus(held, "REVOKED", reason: "CertificateHold")

            let (crl, headers) = try await world.downloadCRL(ski)
            #expect(headers["content-type"] == "application/pkix-crl")
            #expect(headers["etag"] == "\"crl-\(try #require(crl.number?.uint64Value))\"")
            #expect(crl.isSigned(by: try Certificate(pemEncoded: try await world.caPEM("issuing-ca-01"))))
            #expect(crl.authorityKeyIdentifier.map { Hex.encode($0) } == ski)
            // Complete for the CA: no issuing distribution point narrows it to one CRL address.
            #expect(crl.distributionPointURIs.isEmpty)
            #expect(crl.entries.count == 2)
            #expect(crl.entry(revoked)?.reason == .keyCompromise)
            #expect(crl.entry(held)?.reason == .certificateHold)
            let revokedText = try await world.api.get("/api/ca/v1/certificates/\(revoked)")["revocation_timestamp"]?.stringValue
            let revokedAt = try #require(revokedText.flatMap { RFC3339.parse($0) })
            #expect(abs(try #require(crl.entry(revoked)).revocationDate.timeIntervalSince(revokedAt)) < 1)
            let validity = try #require(crl.nextUpdate).timeIntervalSince(crl.thisUpdate)
            #expect(validity == 7 * 86_400, "Lamassu's default validity: one week")

            let verified = try await world.tool(
                "openssl", ["crl", "-inform", "DER", "-in", world.path("crl.der"), "-CAfile", world.path("chain.pem"), "-noout"])
            #expect(verified.errors.contains("verify OK"), "\(verified)")
            _ = try openssl(["crl", "-inform", "DER", "-in", world.path("crl.der"), "-out", world.path("crl.pem")])
            func verify(_ name: String) throws -> (status: Int32, output: String) {
                let result = try runTool(
                    "openssl",
                    ["verify", "-crl_check", "-CAfile", world.path("root.pem"), "-untrusted", world.path("issuing.pem"), "-CRLfile",
                     world.path("crl.pem"), world.path("\(name).pem")])
                return (result.status, result.output + result.errors)
            }
            let good = try verify("good")
            #expect(good.status == 0 && good.output.contains("OK"), "\(good.output)")
            let rejected = try verify("revoked")
            #expect(rejected.status != 0 && rejected.output.contains("certificate revoked"), "\(rejected.output)")
        }
    }

    /// A revocation, a hold and its release each show in the very next download, under a higher
    /// number; without a change, downloads get the same CRL.
    @Test(arguments: TestBackend.available)
    func theNextDownloadShowsEachChange(_ backend: TestBackend) async throws {
        try await VAWorld.run(backend) { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            let first = try await world.issue("first")
            let second = try await world.issue("second")

            let empty = try await world.downloadCRL(ski).crl
            #expect(empty.entries.isEmpty)
            let again = try await world.downloadCRL(ski, file: "again.der").crl
            #expect(again.number == empty.number, "kept, not signed again")
            #expect(try world.read("again.der") == world.read("crl.der"))

            try await world.setStatus(first, "REVOKED", reason: "AffiliationChanged")
            let afterRevocation = try await world.downloadCRL(ski).crl
            #expect(try #require(afterRevocation.number) > #require(empty.number))
            #expect(afterRevocation.entry(first)?.reason == .affiliationChanged)

            try await world.setStatus(second, "REVOKED", reason: "CertificateHold")
            let afterHold = try await world.downloadCRL(ski).crl
            #expect(try #require(afterHold.number) > #require(afterRevocation.number))
            #expect(afterHold.entry(second)?.reason == .certificateHold)

            try await world.setStatus(second, "ACTIVE")
            let afterRelease = try await world.downloadCRL(ski).crl
            #expect(try #require(afterRelease.number) > #require(afterHold.number))
            #expect(!afterRelease.lists(second))
            #expect(afterRelease.lists(first))
        }
    }

    /// CRL numbers come from the database: a restarted server goes on from the last one.
    @Test(arguments: TestBackend.available)
    func numbersKeepGrowingAcrossRestarts(_ backend: TestBackend) async throws {
        let app = try await VAWorld.app(backend)
        let token = try await app.token(.admin)
        let before = Mutex<(ski: String, number: UInt64?)?>(nil)
        try await app.withRouter { client, services in
            let world = try await VAWorld.make(client: client, token: token, app: app, services: services)
            let ski = try await world.ski(of: "issuing-ca-01")
            let number = try await world.downloadCRL(ski).crl.number?.uint64Value
            before.withLock { $0 = (ski, number) }
        }
        try await app.withRouter { client, services in
            let (ski, number) = try #require(before.withLock { $0 })
            let world = VAWorld(devices: DeviceWorld(api: CAClient(client: client, token: token)), app: app, services: services)
            try await world.waitForListener()
            let crl = try await world.downloadCRL(ski).crl
            #expect(try #require(crl.number?.uint64Value) > #require(number))
        }
        await app.cleanup()
    }

    /// A relying party polling with its copy's ETag or Last-Modified gets 304 without a body while
    /// the CRL is the same, and the new CRL once a revocation changed it.
    @Test func conditionalDownloadsAreAnsweredNotModifiedUntilTheCRLChanges() async throws {
        try await VAWorld.run { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            let url = "\(world.baseURL)/api/va/crl/\(ski)"
            let first = try await world.downloadCRL(ski)
            let entityTag = try #require(first.headers["etag"])
            let lastModified = try #require(first.headers["last-modified"])

            let same = try await world.curl(url, to: "same.der", headers: ["If-None-Match: \(entityTag)"])
            #expect(same.status == 304)
            // No body: curl writes no file at all.
            #expect(((try? world.read("same.der")) ?? Data()).isEmpty)
            #expect(same.headers["etag"] == entityTag)
            #expect(same.headers["content-length"] == nil)
            #expect(try await world.curl(url, to: "other.der", headers: [#"If-None-Match: "crl-0""#]).status == 200)
            // Dated the CRL's own second, a copy may be the one a revocation in that second replaced.
            #expect(try await world.curl(url, to: "since.der", headers: ["If-Modified-Since: \(lastModified)"]).status == 200)
            let later = HTTPDate.format(first.crl.thisUpdate.addingTimeInterval(1))
            while Date() < HTTPDate.parse(later)! {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await world.curl(url, to: "since.der", headers: ["If-Modified-Since: \(later)"]).status == 304)
            let future = HTTPDate.format(Date().addingTimeInterval(86_400))
            #expect(try await world.curl(url, to: "since.der", headers: ["If-Modified-Since: \(future)"]).status == 200)
            let before = HTTPDate.format(first.crl.thisUpdate.addingTimeInterval(-60))
            #expect(try await world.curl(url, to: "before.der", headers: ["If-Modified-Since: \(before)"]).status == 200)
            // If-None-Match decides when both are sent.
            let both = try await world.curl(url, to: "both.der", headers: [#"If-None-Match: "crl-0""#, "If-Modified-Since: \(lastModified)"])
            #expect(both.status == 200)

            // HEAD tells the same without the body.
            let head = try await FastPathTests.exchange(
                port: world.httpPort, "HEAD /api/va/crl/\(ski) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", seconds: 30)
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
            #expect(head.lowercased().contains("etag: \(entityTag)\r\n"), "\(head)")
            #expect(head.lowercased().contains("content-length: \(try world.read("crl.der").count)\r\n"), "\(head)")
            #expect(head.hasSuffix("\r\n\r\n"), "a body followed: \(head)")

            try await world.expectRouterAnswersNotModified("/api/va/crl/\(ski)", entityTag: entityTag)
            let routedOther = try await world.client.executeRequest(
                uri: "/api/va/crl/\(ski)", method: .get, headers: [.ifNoneMatch: #""crl-0""#], body: nil)
            #expect(routedOther.status == .ok)
            #expect(Data(routedOther.body.readableBytesView) == (try world.read("crl.der")))

            let revoked = try await world.issue("revoked")
            try await world.setStatus(revoked, "REVOKED", reason: "KeyCompromise")
            let changed = try await world.curl(url, to: "changed.der", headers: ["If-None-Match: \(entityTag)"])
            #expect(changed.status == 200)
            #expect(changed.headers["etag"] != entityTag)
            #expect(try CertificateRevocationList(derEncoded: Array(world.read("changed.der"))).lists(revoked))

            // A second revocation, most often within the same second as the CRL the client holds:
            // revalidating by that CRL's date gets the new CRL, not a 304.
            let held = try #require(changed.headers["last-modified"])
            let revokedToo = try await world.issue("revoked-too")
            try await world.setStatus(revokedToo, "REVOKED", reason: "KeyCompromise")
            let revalidated = try await world.curl(url, to: "revalidated.der", headers: ["If-Modified-Since: \(held)"])
            #expect(revalidated.status == 200, "a revocation hidden behind a 304")
            #expect(try CertificateRevocationList(derEncoded: Array(world.read("revalidated.der"))).lists(revokedToo))

            // A CRL signed for the request is never dated after the answer (RFC 9110 §8.8.2.1).
            for round in 0..<6 {
                let serial = try await world.issue("dated-\(round)")
                try await world.setStatus(serial, "REVOKED", reason: "KeyCompromise")
                let fresh = try await world.curl(url, to: "fresh.der")
                let date = try #require(fresh.headers["date"].flatMap(HTTPDate.parse), "\(fresh.headers)")
                let modified = try #require(fresh.headers["last-modified"].flatMap(HTTPDate.parse), "\(fresh.headers)")
                #expect(modified <= date, "Last-Modified \(fresh.headers["last-modified"] ?? "") after Date \(fresh.headers["date"] ?? "")")
            }
        }
    }

    /// A new CA leaves the other CAs' CRLs as they are: they were all signed again, with new
    /// numbers and ETags, on every CA created or imported.
    @Test func aNewCALeavesTheOtherCRLsAsTheyAre() async throws {
        try await VAWorld.run { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            let before = try await world.downloadCRL(ski)
            try await world.api.createCA(id: "another-ca", expiration: "1y")
            let after = try await world.downloadCRL(ski)
            #expect(after.crl.number == before.crl.number)
            #expect(after.headers["etag"] == before.headers["etag"])
            // A revocation still makes a new one at once.
            try await world.setStatus(try await world.issue("revoked"), "REVOKED", reason: "KeyCompromise")
            #expect(try #require(try await world.downloadCRL(ski).crl.number) > #require(before.crl.number))
        }
    }

    /// A CA deleted and made again under its id (another key) has a CRL of its own, numbered
    /// from 1, at once. The server kept the deleted CA's under that id: it served it at the new
    /// CA's address (which the new CA's certificate does not verify), or signed CRL after CRL in
    /// one request until the new number passed the old one.
    @Test(arguments: TestBackend.available)
    func aCADeletedAndMadeAgainUnderItsIdHasACRLOfItsOwn(_ backend: TestBackend) async throws {
        try await VAWorld.run(backend) { world in
            try await world.api.createCA(id: "again", expiration: "1y")
            let oldSKI = try await world.ski(of: "again")
            for validity in ["2w", "3w", "4w", "5w"] {
                let put = try await world.client.send(
                    .put, "/api/va/v1/roles/\(oldSKI)", token: world.token, json: #"{"validity":"\#(validity)"}"#)
                #expect(put.status == .ok, "\(put.text)")
                _ = try await world.downloadCRL(oldSKI)
            }
            #expect(try #require(try await world.downloadCRL(oldSKI).crl.number) > CRLNumber(3))

            #expect(try await world.api.status("/api/ca/v1/cas/again/status", "REVOKED", reason: "CessationOfOperation").status == .ok)
            #expect(try await world.client.send(.delete, "/api/ca/v1/cas/again", token: world.token).status == .noContent)
            try await world.api.createCA(id: "again", expiration: "1y")
            let newSKI = try await world.ski(of: "again")
            #expect(newSKI != oldSKI)

            let crl = try await world.downloadCRL(newSKI).crl
            #expect(crl.authorityKeyIdentifier.map { Hex.encode($0) } == newSKI, "the deleted CA's CRL")
            #expect(crl.number == CRLNumber(1))
        }
    }

    /// The background refresh signs a new CRL once refresh_interval has passed, before nextUpdate.
    @Test func theRefreshReplacesACRLBeforeItsNextUpdate() async throws {
        let clock = ManualClock()
        try await VAWorld.run(clock: clock) { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            let first = try await world.downloadCRL(ski).crl
            try await world.services.va.refreshCRLs()
            #expect(try await world.downloadCRL(ski).crl.number == first.number, "not due yet")

            clock.advance(by: CRLOptions.defaults.refreshInterval.timeInterval + 1)
            #expect(try await world.services.va.refreshCRLs() >= 1)
            let refreshed = try await world.downloadCRL(ski).crl
            #expect(try #require(refreshed.number) > #require(first.number))
            #expect(refreshed.thisUpdate > first.thisUpdate)
            #expect(try #require(refreshed.nextUpdate) > #require(first.nextUpdate))
        }
    }

    /// With regenerate_on_revoke off, a revocation waits for the next refresh.
    @Test func withoutRegenerateOnRevokeARevocationWaitsForTheRefresh() async throws {
        let clock = ManualClock()
        try await VAWorld.run(clock: clock) { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            let serial = try await world.issue("device")
            let put = try await world.client.send(
                .put, "/api/va/v1/roles/\(ski)", token: world.token, json: #"{"regenerate_on_revoke":false}"#)
            #expect(put.status == .ok, "\(put.text)")
            let before = try await world.downloadCRL(ski).crl
            try await world.setStatus(serial, "REVOKED", reason: "KeyCompromise")
            let unchanged = try await world.downloadCRL(ski).crl
            #expect(unchanged.number == before.number && !unchanged.lists(serial))
            try await world.services.va.refreshCRLs()
            #expect(!(try await world.downloadCRL(ski).crl.lists(serial)), "not due yet")

            clock.advance(by: CRLOptions.defaults.refreshInterval.timeInterval + 1)
            try await world.services.va.refreshCRLs()
            #expect(try await world.downloadCRL(ski).crl.lists(serial))
        }
    }

    @Test func unknownAndKeylessCAsHaveNoCRL() async throws {
        try await VAWorld.run { world in
            let unknown = try await world.curl("\(world.baseURL)/api/va/crl/\(String(repeating: "ab", count: 32))", to: "e1.json")
            #expect(unknown.status == 404)
            let notHex = try await world.curl("\(world.baseURL)/api/va/crl/not-a-key-id", to: "e2.json")
            #expect(notHex.status == 400)
            #expect(
                try JSONValue.parse(String(decoding: try world.read("e2.json"), as: UTF8.self), field: "body")["err"]
                    == "ca_ski 'not-a-key-id' is not a subject key identifier in hex")

            // A CA imported without its key: Shedu knows it but cannot sign for it.
            _ = try openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", world.path("outside.key"),
                "-out", world.path("outside.pem"), "-subj", "/CN=Outside CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
            ])
            let pem = String(decoding: try world.read("outside.pem"), as: UTF8.self)
            let imported = try await world.client.send(
                .post, "/api/ca/v1/cas/import", token: world.token,
                json: JSONValue.object(["id": "outside", "ca": .string(Data(pem.utf8).base64EncodedString())]).jsonText())
            #expect(imported.status == .created, "\(imported.text)")
            let ski = try await world.ski(of: "outside")
            let keyless = try await world.curl("\(world.baseURL)/api/va/crl/\(ski)", to: "e3.json")
            #expect(keyless.status == 404)
            #expect(String(decoding: try world.read("e3.json"), as: UTF8.self).contains("imported without its private key"))
            let ocsp = try await world.opensslOCSP([], issuer: "outside.pem", extra: ["-serial", "0x01"])
            #expect(ocsp.contains("Responder Error: unauthorized (6)"), "\(ocsp)")
        }
    }

    @Test(.enabled(if: TestPKI.pkilintInstalled, "set SHEDU_PKILINT_BIN to pkilint's bin folder"))
    func pkilintFindsNoErrorsInCRLs() async throws {
        try await VAWorld.run { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            _ = try await world.downloadCRL(ski)
            #expect(try TestPKI.pkilintErrors("lint_crl", der: Array(try world.read("crl.der")), options: ["-t", "CRL", "-p", "PKIX"]) == "", "empty CRL")
            for (index, reason) in ["KeyCompromise", "Unspecified", "CertificateHold", "CessationOfOperation"].enumerated() {
                try await world.setStatus(try await world.issue("device-\(index)"), "REVOKED", reason: reason)
            }
            let listed = try await world.downloadCRL(ski).crl
            #expect(listed.entries.count == 4)
            let findings = try TestPKI.pkilintErrors("lint_crl", der: Array(try world.read("crl.der")), options: ["-t", "CRL", "-p", "PKIX"])
            #expect(findings == "", "\(findings ?? "")")
        }
    }
}
