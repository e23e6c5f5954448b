import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

/// The user's device lifecycle guide (`seeds/002`), step by step, with its curl bodies as written.
@Suite("Devices: the seed walk-through")
struct DeviceSeedWalkthroughTests {
    @Test(arguments: TestBackend.available)
    func theDeviceLifecycleGuideWorksAsWritten(_ backend: TestBackend) async throws {
        var app = try await TestApp.make(backend)
        let clock = ManualClock()
        app.clock = clock
        // The clock moves a year on below: the token lasts longer.
        let token = try await app.token(.operator, lifetime: .days(800))
        let folder = app.folder
        try await app.withRouter { client, services in
            let world = try await DeviceWorld.make(client: client, token: token)

            // Register a device.
            let registered = try await client.send(
                .post, "/api/devmanager/v1/devices", token: token,
                json: """
                    {
                    "id": "device-001",
                    "dms_id": "manufacturing-dms",
                    "tags": ["sensor", "production"],
                    "metadata": {
                    "location": "factory-floor-3",
                    "model": "TH-2000",
                    "serial_number": "SN123456789"
                    }
                    }
                    """)
            #expect(registered.status == .created, "\(registered.text)")
            let device = try registered.json()
            #expect(device["id"] == "device-001")
            #expect(device["dms_owner"] == "manufacturing-dms")
            #expect(device["status"] == "NO_IDENTITY")
            #expect(device["tags"] == ["sensor", "production"])
            #expect(device["metadata"] == ["location": "factory-floor-3", "model": "TH-2000", "serial_number": "SN123456789"])
            #expect(device["identity_slot"] == .null, "identity_slot is null until a certificate is bound")
            #expect(RFC3339.parse(device["creation_timestamp"]?.stringValue ?? "") != nil)
            #expect(registered.text.contains(#""identity_slot":null"#))

            // Verify registration.
            #expect(try await world.device("device-001") == device)

            // Generate CSR (openssl, as the guide does), convert to base64 DER, submit to the CA.
            let key = folder.appendingPathComponent("device-001.key").path
            let csrPath = folder.appendingPathComponent("device-001.csr").path
            _ = try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
            _ = try openssl(["req", "-new", "-key", key, "-out", csrPath, "-subj", "/CN=device-001/O=Acme Corp"])
            let derPath = try Self.derFile(csrPath, in: folder)
            let b64 = try runTool("base64", ["-w", "0", derPath]).output
            let signed = try await client.send(
                .post, "/api/ca/v1/cas/issuing-ca-01/sign", token: token,
                json: #"{"csr": "\#(b64.trimmingCharacters(in: .whitespacesAndNewlines))", "profile_id": "device-profile"}"#)
            #expect(signed.status == .created, "\(signed.text)")
            let serial = try #require(try signed.json()["serial_number"]?.stringValue)

            // Bind certificate to device: the device becomes ACTIVE.
            let bound = try await world.bind("device-001", serial)
            #expect(bound.status == .ok, "\(bound.text)")
            #expect(try bound.json()["device"]?["status"] == "ACTIVE")
            let active = try await world.device("device-001")
            #expect(active["status"] == "ACTIVE")
            #expect(active["identity_slot"]?["active_version"] == 0)
            #expect(active["identity_slot"]?["versions"] == ["0": .string(serial)])
            let certificate = try await world.api.get("/api/ca/v1/certificates/\(serial)")
            #expect(certificate["metadata"]?["lamassu.io/ra/attached-to"] == ["authorized_by": ["ra_id": "manufacturing-dms"], "device_id": "device-001"])
            #expect(certificate["metadata"]?["lamassu.io/ca/expiration-deltas"]?.arrayValue?.count == 2)

            // List and filter devices, each way the guide shows.
            try await world.register("device-002", tags: ["gateway", "staging"], metadata: #"{"location":"warehouse-2"}"#)
            for (query, expected) in [
                ("page_size=50", ["device-001", "device-002"]),
                ("filter=dms_owner[eq]=manufacturing-dms", ["device-001", "device-002"]),
                ("filter=status[eq]=ACTIVE", ["device-001"]),
                ("filter=tags[contains]=production", ["device-001"]),
                ("filter=metadata[jsonpath]$.location%20==%20%22factory-floor-3%22", ["device-001"]),
                // The slot as the API shows it, status and type included.
                ("filter=identity_slot[jsonpath]$.status%20==%20%22ACTIVE%22", ["device-001"]),
                ("filter=identity_slot[jsonpath]exists($.type)", ["device-001"]),
                ("filter=identity_slot[jsonpath]$.active_version%20==%200", ["device-001"]),
                ("filter=identity_slot[jsonpath]$.status%20==%20%22REVOKED%22", []),
                ("filter=creation_timestamp[after]=2020-01-01", ["device-001", "device-002"]),
                ("filter=creation_timestamp[before]=2020-01-01", []),
                ("sort_by=creation_timestamp&sort_mode=desc", ["device-002", "device-001"]),
            ] {
                #expect(try await world.ids("/api/devmanager/v1/devices?\(query)") == expected, "\(query)")
            }

            // Update metadata with the guide's JSON Patch, by PUT and by PATCH.
            let patch = """
                {
                "patches" : [
                {
                "op" : "replace" ,
                "path" : "/location" ,
                "value" : "warehouse-2"
                },
                {
                "op" : "add" ,
                "path" : "/firmware_version" ,
                "value" : "v2.1.0"
                }
                ]
                }
                """
            for method in [HTTPRequest.Method.put, .patch] {
                let patched = try await client.send(method, "/api/devmanager/v1/devices/device-001/metadata", token: token, json: patch)
                #expect(patched.status == .ok, "\(patched.text)")
                #expect(try patched.json()["metadata"]?["location"] == "warehouse-2")
                #expect(try patched.json()["metadata"]?["firmware_version"] == "v2.1.0")
                #expect(try patched.json()["metadata"]?["model"] == "TH-2000")
            }

            // Update the identity slot: the new certificate is active, the previous one revoked.
            let renewed = try await world.issue(for: "device-001")
            let slot = try await client.send(
                .put, "/api/devmanager/v1/devices/device-001/idslot", token: token,
                json: #"{"certificate_serial_number": "\#(renewed)"}"#)
            #expect(slot.status == .ok, "\(slot.text)")
            #expect(try slot.json()["identity_slot"]?["active_version"] == 1)
            #expect(try slot.json()["identity_slot"]?["versions"] == ["0": .string(serial), "1": .string(renewed)])
            let previous = try await world.api.get("/api/ca/v1/certificates/\(serial)")
            #expect(previous["status"] == "REVOKED")
            #expect(previous["revocation_reason"] == "Superseded")

            // Devices approaching expiration: time passes until the certificate is inside the critical window.
            clock.advance(by: 364 * 86_400 - 2 * 86_400)
            #expect(try await services.devices.advanceWindows() == 2 - 1, "device-001 moves, device-002 has no identity")
            #expect(try await world.ids("/api/devmanager/v1/devices?filter=status[eq]=ABOUT_TO_EXPIRE") == ["device-001"])

            // View device statistics: every status is present.
            let stats = try await world.api.get("/api/devmanager/v1/stats")
            #expect(stats["total"] == 2)
            #expect(stats["status_distribution"]?.objectValue?.count == 7)
            #expect(stats["status_distribution"]?["ABOUT_TO_EXPIRE"] == 1)
            #expect(stats["status_distribution"]?["NO_IDENTITY"] == 1)
            #expect(stats["status_distribution"]?["ACTIVE"] == 0)

            // Decommission: DECOMMISSIONED, and its certificate is revoked.
            let decommissioned = try await client.send(.delete, "/api/devmanager/v1/devices/device-001/decommission", token: token)
            #expect(decommissioned.status == .ok, "\(decommissioned.text)")
            let after = try await world.device("device-001")
            #expect(after["status"] == "DECOMMISSIONED")
            #expect(after["identity_slot"]?["status"] == "REVOKED")
            let slotHistory = try #require(after["identity_slot"]?["events"]?.objectValue)
            #expect(slotHistory.values.contains {
                $0["type"] == "STATUS-UPDATED" && $0["description"]?.stringValue?.hasSuffix("to 'REVOKED'") == true
            }, "the slot records its revocation: \(slotHistory)")
            let retired = try await world.api.get("/api/ca/v1/certificates/\(renewed)")
            #expect(retired["status"] == "REVOKED")
            #expect(retired["revocation_reason"] == "CessationOfOperation")

            // Delete: gone for good.
            let deleted = try await client.send(.delete, "/api/devmanager/v1/devices/device-001", token: token)
            #expect(deleted.status == .noContent)
            #expect(try await client.send(.get, "/api/devmanager/v1/devices/device-001", token: token).status == .notFound)

            // Device groups: the guide's group, whose members follow the devices.
            let group = try await client.send(
                .post, "/api/devmanager/v1/device-groups", token: token,
                json: """
                    {
                    "name": "Production Sensors",
                    "description": "All production environment sensors",
                    "criteria": [
                    {
                    "field": "tags",
                    "operand": "contains",
                    "value": "production"
                    },
                    {
                    "field": "tags",
                    "operand": "contains",
                    "value": "sensor"
                    }
                    ]
                    }
                    """)
            #expect(group.status == .created, "\(group.text)")
            let groupID = try #require(try group.json()["id"]?.stringValue)
            let groups = try await world.api.get("/api/devmanager/v1/device-groups")
            #expect(groups["list"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Production Sensors"])
            #expect(try await world.ids("/api/devmanager/v1/device-groups/\(groupID)/devices") == [])
            try await world.register("device-003", tags: ["sensor", "production"])
            try await world.register("device-004", tags: ["production"])
            #expect(try await world.ids("/api/devmanager/v1/device-groups/\(groupID)/devices") == ["device-003"])
        }
        await app.cleanup()
    }

    /// `openssl req -outform DER` written to a file, for `openssl base64`.
    static func derFile(_ csrPath: String, in folder: URL) throws -> String {
        let path = folder.appendingPathComponent("device-001.csr.der").path
        _ = try openssl(["req", "-in", csrPath, "-outform", "DER", "-out", path])
        return path
    }
}
