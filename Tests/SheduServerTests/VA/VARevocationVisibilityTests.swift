import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduPKI
import SheduTestSupport
import Testing

@testable import SheduServer

/// Every way a certificate's status changes reaches OCSP and the CRL before the call returns,
/// even when both were answering from what they keep.
@Suite("VA: revocations are visible at once, whatever revoked")
struct VARevocationVisibilityTests {
    /// Warms the OCSP answer (asked twice) and the CRL of `serial`, so that a stale one would show.
    func warm(_ world: VAWorld, _ name: String, ski: String) async throws {
        _ = try world.opensslRequest(name, file: "\(name).req")
        for _ in 0..<2 { _ = try await world.ocspGET(try world.read("\(name).req"), file: "\(name).resp") }
        #expect(try world.opensslReads(response: "\(name).resp", request: "\(name).req").contains("Cert Status: good"))
        _ = try await world.downloadCRL(ski)
    }

    func expectRevoked(_ world: VAWorld, _ name: String, serial: String, ski: String, reason: CRLReason, issuer: String = "issuing.pem")
        async throws
    {
        _ = try await world.ocspGET(try world.read("\(name).req"), file: "\(name).resp")
        let answer = try world.opensslReads(response: "\(name).resp", request: "\(name).req", issuer: issuer)
        #expect(answer.contains("Cert Status: revoked"), "\(name): \(answer)")
        #expect(answer.contains("Revocation Reason: \(reason)"), "\(name): \(answer)")
        #expect(try await world.downloadCRL(ski).crl.entry(serial)?.reason == reason, "\(name) in the CRL")
    }

    @Test(arguments: TestBackend.available)
    func decommissionAndSupersededIdentitiesAreRevokedForRelyingParties(_ backend: TestBackend) async throws {
        try await VAWorld.run(backend) { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            try await world.devices.register("sensor-1")
            let first = try await world.issue("sensor-1")
            #expect(try await world.devices.bind("sensor-1", first).status == .ok)
            try await warm(world, "sensor-1", ski: ski)

            // A new identity through the slot supersedes the first one.
            let second = try await world.devices.issue(for: "sensor-1")
            try world.write("sensor-1-v2.pem", try await world.certificatePEM(second))
            let slot = try await world.client.send(
                .put, "/api/devmanager/v1/devices/sensor-1/idslot", token: world.token, json: #"{"certificate_serial_number":"\#(second)"}"#)
            #expect(slot.status == .ok, "\(slot.text)")
            try await expectRevoked(world, "sensor-1", serial: first, ski: ski, reason: .superseded)

            try await warm(world, "sensor-1-v2", ski: ski)
            let decommissioned = try await world.client.send(.delete, "/api/devmanager/v1/devices/sensor-1/decommission", token: world.token)
            #expect(decommissioned.status == .ok, "\(decommissioned.text)")
            try await expectRevoked(world, "sensor-1-v2", serial: second, ski: ski, reason: .cessationOfOperation)
        }
    }

    /// Revoking the root revokes the CA below it and everything it issued: the root's CRL lists
    /// the issuing CA, the issuing CA's CRL its leaves, and OCSP says so for each.
    @Test(arguments: TestBackend.available)
    func aCACascadeIsVisibleInEveryCRLAndOCSPAnswerBelowIt(_ backend: TestBackend) async throws {
        try await VAWorld.run(backend) { world in
            let issuingSKI = try await world.ski(of: "issuing-ca-01")
            let rootSKI = try await world.ski(of: "root-ca")
            let leaf = try await world.issue("leaf")
            try await warm(world, "leaf", ski: issuingSKI)
            let issuingSerial = try #require(try await world.api.get("/api/ca/v1/cas/issuing-ca-01")["serial_number"]?.stringValue)
            _ = try world.opensslRequest("issuing", issuer: "root.pem", file: "issuing.req")
            _ = try await world.ocspGET(try world.read("issuing.req"), file: "issuing.resp")
            _ = try await world.downloadCRL(rootSKI)

            // A hold of the issuing CA holds its leaves; the release lifts both.
            #expect(try await world.api.status("/api/ca/v1/cas/issuing-ca-01/status", "REVOKED", reason: "CertificateHold").status == .ok)
            try await expectRevoked(world, "leaf", serial: leaf, ski: issuingSKI, reason: .certificateHold)
            #expect(try await world.api.status("/api/ca/v1/cas/issuing-ca-01/status", "ACTIVE").status == .ok)
            _ = try await world.ocspGET(try world.read("leaf.req"), file: "leaf.resp")
            #expect(try world.opensslReads(response: "leaf.resp", request: "leaf.req").contains("Cert Status: good"))
            #expect(!(try await world.downloadCRL(issuingSKI).crl.lists(leaf)))

            #expect(try await world.api.status("/api/ca/v1/cas/root-ca/status", "REVOKED", reason: "KeyCompromise").status == .ok)
            try await expectRevoked(world, "leaf", serial: leaf, ski: issuingSKI, reason: .cessationOfOperation)
            try await expectRevoked(
                world, "issuing", serial: issuingSerial, ski: rootSKI, reason: .cessationOfOperation, issuer: "root.pem")
        }
    }

    /// A hold made final (the same REVOKED status, a new reason and time) reaches OCSP answers
    /// already kept for the hold, as it reaches the CRL.
    @Test(arguments: TestBackend.available)
    func aHoldMadeFinalIsVisibleInOCSPAndTheCRL(_ backend: TestBackend) async throws {
        try await VAWorld.run(backend) { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            let leaf = try await world.issue("held")
            try await warm(world, "held", ski: ski)
            let path = "/api/ca/v1/certificates/\(leaf)/status"
            #expect(try await world.api.status(path, "REVOKED", reason: "CertificateHold").status == .ok)
            try await expectRevoked(world, "held", serial: leaf, ski: ski, reason: .certificateHold)
            _ = try await world.ocspGET(try world.read("held.req"), file: "held.resp")  // kept for the hold
            #expect(try await world.api.status(path, "REVOKED", reason: "KeyCompromise").status == .ok)
            try await expectRevoked(world, "held", serial: leaf, ski: ski, reason: .keyCompromise)
        }
    }
}
