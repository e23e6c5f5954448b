import Foundation
import Hummingbird
import HummingbirdTesting
import SQLKit
import SheduCore
import SheduStorage
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("Devices: status that follows the certificate")
struct DeviceStatusTests {
    /// Revocation through the CA API reaches the device in the same call; a hold and its release
    /// too; revoking the CA above reaches every device below it.
    @Test(arguments: TestBackend.available)
    func revokingTheBoundCertificateRevokesTheDeviceAtOnce(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client, services in
            let world = try await DeviceWorld.make(client: client, token: token)
            for id in ["d-1", "d-2"] {
                try await world.register(id)
                #expect(try await world.bind(id, try await world.issue(for: id)).status == .ok)
                #expect(try await world.status(of: id) == "ACTIVE")
            }
            let serial = try #require(try await world.device("d-1")["identity_slot"]?["versions"]?["0"]?.stringValue)

            // On hold: REVOKED; released: ACTIVE again.
            #expect(try await world.api.status("/api/ca/v1/certificates/\(serial)/status", "REVOKED", reason: "CertificateHold").status == .ok)
            #expect(try await world.status(of: "d-1") == "REVOKED")
            // A device on hold is not deleted: the release would bring back an identity of no device.
            let deleted = try await client.send(.delete, "/api/devmanager/v1/devices/d-1", token: token)
            #expect(deleted.status == .conflict, "\(deleted.text)")
            #expect(try deleted.json()["err"]?.stringValue?.contains("on hold (CertificateHold)") == true, "\(deleted.text)")
            #expect(try await world.api.status("/api/ca/v1/certificates/\(serial)/status", "ACTIVE").status == .ok)
            #expect(try await world.status(of: "d-1") == "ACTIVE")
            #expect(try await world.status(of: "d-2") == "ACTIVE", "only the device of that certificate moves")

            // Revoked for good.
            #expect(try await world.api.status("/api/ca/v1/certificates/\(serial)/status", "REVOKED", reason: "KeyCompromise").status == .ok)
            let revoked = try await world.device("d-1")
            #expect(revoked["status"] == "REVOKED")
            let history = try #require(revoked["events"]?.objectValue)
            let updates = history.keys.sorted().compactMap { history[$0]?["description"]?.stringValue }.filter { $0.hasPrefix("Status updated") }
            #expect(updates == [
                "Status updated from 'NO_IDENTITY' to 'ACTIVE'", "Status updated from 'ACTIVE' to 'REVOKED'",
                "Status updated from 'REVOKED' to 'ACTIVE'", "Status updated from 'ACTIVE' to 'REVOKED'",
            ])
            // The slot's own history has the changes since it was made.
            let slotHistory = try #require(revoked["identity_slot"]?["events"]?.objectValue)
            let slotUpdates = slotHistory.keys.sorted().compactMap { slotHistory[$0]?["description"]?.stringValue }
                .filter { $0.hasPrefix("Status updated") }
            #expect(slotUpdates == [
                "Status updated from 'ACTIVE' to 'REVOKED'", "Status updated from 'REVOKED' to 'ACTIVE'",
                "Status updated from 'ACTIVE' to 'REVOKED'",
            ], "\(slotHistory)")
            #expect(slotHistory.values.contains { $0["type"] == "STATUS-UPDATED" })
            let outboxed = try await services.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM events WHERE type = 'device.status.update' AND subject = 'device/d-1'")
                    .first()!.decode(column: "n", as: Int.self)
            }
            #expect(outboxed == 4)

            // The issuing CA revoked: every device below it is REVOKED in the same transaction.
            #expect(try await world.api.status("/api/ca/v1/cas/issuing-ca-01/status", "REVOKED", reason: "CACompromise").status == .ok)
            #expect(try await world.status(of: "d-2") == "REVOKED")
            let stats = try await world.api.get("/api/devmanager/v1/stats")
            #expect(stats["status_distribution"]?["REVOKED"] == 2)
        }
        await app.cleanup()
    }

    /// A device whose identity was deleted (its CA revoked and deleted first) takes a new one:
    /// retiring the missing certificate answered 404 for a serial the caller never sent.
    @Test(arguments: TestBackend.available)
    func aDeviceWhoseIdentityWasDeletedIsBoundAgain(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            try await world.register("lone-1")
            try await world.api.createCA(id: "lone-ca", parent: "root-ca", expiration: "2y", profileID: "device-profile")
            let lost = try await world.api.sign(ca: "lone-ca", csr: try TestPKI.csr(commonName: "lone-1", key: try TestPKI.key("ECDSA", 256)))
            let lostSerial = try #require(try lost.json()["serial_number"]?.stringValue)
            #expect(try await world.bind("lone-1", lostSerial).status == .ok)
            _ = try await world.api.status("/api/ca/v1/cas/lone-ca/status", "REVOKED")
            #expect(try await client.send(.delete, "/api/ca/v1/cas/lone-ca", token: token).status == .noContent)
            #expect(try await client.send(.delete, "/api/ca/v1/certificates/\(lostSerial)", token: token).status == .noContent)

            let replacement = try await world.issue(for: "lone-1")
            let bound = try await world.bind("lone-1", replacement)
            #expect(bound.status == .ok, "\(bound.text)")
            #expect(try await world.device("lone-1")["identity_slot"]?["versions"]?["1"] == .string(replacement))
            #expect(try await world.status(of: "lone-1") == "ACTIVE")
        }
        await app.cleanup()
    }

    /// An identity on hold that is replaced or decommissioned is revoked for good: releasing the
    /// hold brought it back, live in OCSP and off the CRL, beside the device's current one.
    @Test(arguments: TestBackend.available)
    func aHeldIdentityThatIsReplacedOrDecommissionedStaysRevoked(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            for id in ["replaced", "retired"] { try await world.register(id) }
            let first = try await world.issue(for: "replaced")
            #expect(try await world.bind("replaced", first).status == .ok)
            let retiredSerial = try await world.issue(for: "retired")
            #expect(try await world.bind("retired", retiredSerial).status == .ok)
            // Both identities go on hold with their CA.
            #expect(try await world.api.status("/api/ca/v1/cas/issuing-ca-01/status", "REVOKED", reason: "CertificateHold").status == .ok)
            #expect(try await world.api.get("/api/ca/v1/certificates/\(first)")["revocation_reason"] == "CertificateHold")
            #expect(try await world.api.status("/api/ca/v1/cas/issuing-ca-01/status", "ACTIVE").status == .ok)
            #expect(try await world.api.status("/api/ca/v1/certificates/\(first)/status", "REVOKED", reason: "CertificateHold").status == .ok)
            #expect(try await world.api.status("/api/ca/v1/certificates/\(retiredSerial)/status", "REVOKED", reason: "CertificateHold").status == .ok)

            // A new identity supersedes the held one; decommissioning ends the other.
            let second = try await world.issue(for: "replaced")
            let replaced = try await client.send(
                .put, "/api/devmanager/v1/devices/replaced/idslot", token: token, json: #"{"certificate_serial_number":"\#(second)"}"#)
            #expect(replaced.status == .ok, "\(replaced.text)")
            #expect(try await client.send(.delete, "/api/devmanager/v1/devices/retired/decommission", token: token).status == .ok)
            for (serial, reason) in [(first, "Superseded"), (retiredSerial, "CessationOfOperation")] {
                let certificate = try await world.api.get("/api/ca/v1/certificates/\(serial)")
                #expect(certificate["status"] == "REVOKED")
                #expect(certificate["revocation_reason"] == .string(reason))
                let release = try await world.api.status("/api/ca/v1/certificates/\(serial)/status", "ACTIVE")
                #expect(release.status == .conflict, "\(reason) is final: \(release.text)")
            }
            #expect(try await world.status(of: "replaced") == "ACTIVE")
        }
        await app.cleanup()
    }

    /// Time passing moves a device through RENEWAL_WINDOW, ABOUT_TO_EXPIRE and EXPIRED; a
    /// certificate already inside a window lands the device there at once; changing the DMS's
    /// windows moves its devices.
    @Test(arguments: TestBackend.available)
    func timeMovesDevicesThroughTheWindows(_ backend: TestBackend) async throws {
        var app = try await TestApp.make(backend)
        let clock = ManualClock()
        app.clock = clock
        let token = try await app.token(.operator, lifetime: .days(400))
        try await app.withRouter { client, services in
            let world = try await DeviceWorld.make(client: client, token: token, preventive: "10d", critical: "3d", profileValidity: "30d")
            try await world.createProfile(id: "five-days", validity: "5d")
            try await world.createProfile(id: "two-days", validity: "2d")
            for id in ["month", "five", "two", "gone"] { try await world.register(id) }
            #expect(try await world.bind("month", try await world.issue(for: "month")).status == .ok)
            #expect(try await world.bind("five", try await world.issue(for: "five", profile: "five-days")).status == .ok)
            #expect(try await world.bind("two", try await world.issue(for: "two", profile: "two-days")).status == .ok)
            let goneSerial = try await world.issue(for: "gone", profile: "two-days")
            #expect(try await world.bind("gone", goneSerial).status == .ok)
            #expect(try await world.status(of: "month") == "ACTIVE")
            #expect(try await world.status(of: "five") == "RENEWAL_WINDOW", "5 days left, inside the 10-day window")
            #expect(try await world.status(of: "two") == "ABOUT_TO_EXPIRE", "2 days left, inside the 3-day window")

            #expect(try await services.devices.advanceWindows() == 0, "nothing is due yet")
            clock.advance(by: 21 * 86_400)
            // Decommissioned once its certificate expired, before any monitor marked it: the
            // certificate is not revoked, and the identity shows EXPIRED.
            let gone = try await client.send(.delete, "/api/devmanager/v1/devices/gone/decommission", token: token)
            #expect(gone.status == .ok, "\(gone.text)")
            #expect(try gone.json()["identity_slot"]?["status"] == "EXPIRED", "\(gone.text)")
            #expect(try await world.api.get("/api/ca/v1/certificates/\(goneSerial)")["status"] == "ACTIVE", "expired, not yet marked")
            #expect(try await services.devices.advanceWindows() == 3, "month enters its renewal window; five and two expire")
            #expect(try await world.status(of: "month") == "RENEWAL_WINDOW")
            #expect(try await world.status(of: "two") == "EXPIRED")
            #expect(try await world.status(of: "five") == "EXPIRED")
            // Decommissioned once expired, the identity stays EXPIRED: it was not revoked.
            let expiredSerial = try #require(try await world.device("two")["identity_slot"]?["versions"]?["0"]?.stringValue)
            let retired = try await client.send(.delete, "/api/devmanager/v1/devices/two/decommission", token: token)
            #expect(retired.status == .ok, "\(retired.text)")
            #expect(try retired.json()["identity_slot"]?["status"] == "EXPIRED", "\(retired.text)")
            #expect(try await world.device("two")["identity_slot"]?["status"] == "EXPIRED")
            #expect(try await world.api.get("/api/ca/v1/certificates/\(expiredSerial)")["status"] != "REVOKED")
            clock.advance(by: 7 * 86_400)
            #expect(try await services.devices.advanceWindows() == 1)
            #expect(try await world.status(of: "month") == "ABOUT_TO_EXPIRE")
            clock.advance(by: 3 * 86_400)
            #expect(try await services.devices.advanceWindows() == 1)
            #expect(try await world.status(of: "month") == "EXPIRED")
            #expect(try await services.devices.advanceWindows() == 0, "an expired device has no window ahead")

            // A fresh identity makes the device ACTIVE again; widening the DMS's windows moves it.
            #expect(try await world.bind("month", try await world.issue(for: "month")).status == .ok)
            #expect(try await world.status(of: "month") == "ACTIVE")
            let updated = try await client.send(
                .put, "/api/dmsmanager/v1/dms/manufacturing-dms", token: token,
                json: DeviceWorld.dmsJSON("manufacturing-dms", preventive: "40d", critical: "3d"))
            #expect(updated.status == .ok, "\(updated.text)")
            #expect(try await world.status(of: "month") == "RENEWAL_WINDOW")
        }
        await app.cleanup()
    }

    /// Services driven directly: a 30-day profile, CA `ca`, and DMSs with 10-day and 2-day windows.
    static func services(database: SheduDatabase, clock: ManualClock, dmsIDs: [String]) async throws -> SheduServices {
        let services = SheduServices(database: database, masterKey: .init(size: .bits256), clock: clock, publicURL: "https://localhost")
        _ = try await services.profiles.create(IssuanceProfile(id: "p", validity: .duration(.days(30))))
        _ = try await services.ca.createCA(
            try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"ca","subject":{"common_name":"ca"},"ca_expiration":{"type":"Duration","duration":"1y"},"profile_id":"p"}"#))
        for dms in dmsIDs {
            _ = try await services.dms.create(
                try DomainJSON.decode(DMSRequest.self, from: DeviceWorld.dmsJSON(dms, preventive: "10d", critical: "2d", enrollmentCA: "ca").replacingOccurrences(of: "root-ca", with: "ca")))
        }
        return services
    }

    /// Signs a certificate for device `id` by CA `ca` and binds it.
    static func bindNewCertificate(to id: String, services: SheduServices) async throws {
        let csr = try TestPKI.csr(commonName: id, key: try TestPKI.key("ECDSA", 256))
        let record = try await services.ca.sign(caID: "ca", SignCertificateRequest(csr: csr, profileID: nil))
        _ = try await services.devices.bindIdentity(deviceID: id, serialNumber: record.serialNumber, revokePrevious: false)
    }

    /// The monitor moves many devices with range updates, in batches, and records each move.
    @Test(arguments: TestBackend.available)
    func theWindowMonitorMovesDevicesInBatches(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
            let clock = ManualClock()
            let services = try await Self.services(database: database, clock: clock, dmsIDs: ["dms"])
            let count = 300
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<16 {
                    group.addTask {
                        for index in stride(from: worker, to: count, by: 16) {
                            let id = "dev-\(index)"
                            _ = try await services.devices.register(RegisterDeviceRequest(id: id, dmsID: "dms"))
                            try await Self.bindNewCertificate(to: id, services: services)
                        }
                    }
                }
                try await group.waitForAll()
            }
            clock.advance(by: 25 * 86_400)
            #expect(try await services.devices.advanceWindows(batchSize: 100) == count)
            let counts = try await services.devices.statusCounts(filters: [])
            #expect(counts[.renewalWindow] == count)
            let events = try await database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM events WHERE type = 'device.status.update'").first()!.decode(column: "n", as: Int.self)
            }
            #expect(events == 2 * count, "one event when bound, one when the window began")
        }
    }

    /// Stats come from counts each write keeps (SQLite) or from the devices themselves
    /// (PostgreSQL): either way they agree with the devices through registrations, bindings, a
    /// monitor pass, decommissions and deletions, for the fleet and for a DMS.
    @Test(arguments: TestBackend.available)
    func statsAgreeWithTheDevicesThroughEveryKindOfChange(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
            let clock = ManualClock()
            let services = try await Self.services(database: database, clock: clock, dmsIDs: ["dms", "other"])
            for index in 0..<12 {
                let id = "dev-\(index)"
                _ = try await services.devices.register(RegisterDeviceRequest(id: id, dmsID: index < 8 ? "dms" : "other"))
                guard index % 3 != 0 else { continue }
                try await Self.bindNewCertificate(to: id, services: services)
            }
            clock.advance(by: 25 * 86_400)
            try await services.devices.advanceWindows(batchSize: 3)
            _ = try await services.devices.decommission(id: "dev-1")
            _ = try await services.devices.decommission(id: "dev-8")
            try await services.devices.delete(id: "dev-0")
            try await services.devices.delete(id: "dev-9")

            func devicesByStatus(_ condition: String) async throws -> [String: Int] {
                try await database.read { db in
                    var counts: [String: Int] = [:]
                    for row in try await db.raw("SELECT status, COUNT(*) AS n FROM devices \(unsafeRaw: condition) GROUP BY status").all() {
                        counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
                    }
                    return counts
                }
            }
            func stats(_ filters: String...) async throws -> [String: Int] {
                let parsed = try filters.map { try Filter(parsing: $0, fields: Device.fields) }
                var counts: [String: Int] = [:]
                for (status, count) in try await services.devices.statusCounts(filters: parsed) where count != 0 {
                    counts[status.rawValue] = count
                }
                return counts
            }
            let fleet = try await devicesByStatus("")
            #expect(fleet == ["RENEWAL_WINDOW": 6, "DECOMMISSIONED": 2, "NO_IDENTITY": 2])
            #expect(try await stats() == fleet)
            #expect(try await stats("dms_owner[eq]dms") == devicesByStatus("WHERE dms_owner = 'dms'"))
            #expect(try await stats("dms_owner[in]dms,other") == fleet)
            #expect(try await stats("dms_owner[eq]other", "status[ne]DECOMMISSIONED") == devicesByStatus("WHERE dms_owner = 'other' AND status <> 'DECOMMISSIONED'"))
        }
    }

    /// Changes of one device made at the same time are each prepared from the device as read and
    /// written only if it did not change meanwhile: none is lost, the revocation among them
    /// included, and each leaves its event.
    @Test(arguments: TestBackend.available)
    func concurrentChangesOfOneDeviceAreAllKept(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client, services in
            let world = try await DeviceWorld.make(client: client, token: token)
            try await world.register("busy")
            let serial = try await world.issue(for: "busy")
            #expect(try await world.bind("busy", serial).status == .ok)
            let patches = 24
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<patches {
                    group.addTask {
                        let response = try await client.send(
                            .put, "/api/devmanager/v1/devices/busy/metadata", token: token,
                            json: #"{"patches":[{"op":"add","path":"/key-\#(index)","value":\#(index)}]}"#)
                        #expect(response.status == .ok, "\(response.text)")
                    }
                }
                group.addTask {
                    let response = try await world.api.status("/api/ca/v1/certificates/\(serial)/status", "REVOKED", reason: "KeyCompromise")
                    #expect(response.status == .ok, "\(response.text)")
                }
                try await group.waitForAll()
            }
            let device = try await world.device("busy")
            #expect(device["status"] == "REVOKED")
            let metadata = try #require(device["metadata"]?.objectValue)
            #expect(Set(metadata.keys) == Set((0..<patches).map { "key-\($0)" }))
            let outboxed = try await services.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM events WHERE type = 'device.metadata.update' AND subject = 'device/busy'")
                    .first()!.decode(column: "n", as: Int.self)
            }
            #expect(outboxed == patches)
        }
        await app.cleanup()
    }
}
