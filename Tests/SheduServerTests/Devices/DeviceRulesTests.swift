import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduTestSupport
import Testing
import X509

@testable import SheduServer

@Suite("Devices, groups and DMS records: rules and bad input")
struct DeviceRulesTests {
    /// `_ic` filters fold ASCII letters, and only those, on both stores: PostgreSQL's lower()
    /// followed the database's locale (every letter in a UTF-8 one), SQLite's folds ASCII alone.
    @Test(arguments: TestBackend.available)
    func caseInsensitiveFiltersAnswerAlikeOnBothStores(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            try await world.register("Çà-Unit-1", tags: ["Zône"])
            try await world.register("plain-1", tags: ["zone"])
            func matching(_ filter: String) async throws -> [String] {
                let encoded = try #require(filter.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")))
                return try await world.ids("/api/devmanager/v1/devices?filter=\(encoded)").sorted()
            }
            #expect(try await matching("id[eq_ic]Çà-UNIT-1") == ["Çà-Unit-1"])
            #expect(try await matching("id[eq_ic]çà-unit-1").isEmpty, "Ç and ç are not folded")
            #expect(try await matching("id[ct_ic]à-uNi") == ["Çà-Unit-1"])
            #expect(try await matching("id[in_ic]Çà-unit-1,PLAIN-1") == ["plain-1", "Çà-Unit-1"])
            #expect(try await matching("id[ne_ic]ÇÀ-UNIT-1") == ["plain-1", "Çà-Unit-1"])
            #expect(try await matching("tags[ct_ic]ZôNE") == ["Çà-Unit-1"])
            #expect(try await matching("tags[ct_ic]ZONE") == ["plain-1"])
        }
        await app.cleanup()
    }

    /// Names and tags are indexed: past 512 characters each is refused (400) on both stores, as
    /// PostgreSQL's index refused one of about 2,700 bytes with a 500 while SQLite took it; 512
    /// characters of four bytes each are kept on both.
    @Test(arguments: TestBackend.available)
    func namesAndTagsPastTheIndexLimitAreRefusedAlikeOnBothStores(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            let longest = String(repeating: "\u{1D11E}", count: 512)
            let tooLong = String(repeating: "x", count: 2_800)
            let creations: [(path: String, json: (String, String) -> String, field: String)] = [
                ("/api/devmanager/v1/devices", { #"{"id":"\#($0)","dms_id":"manufacturing-dms","tags":["\#($1)"]}"# }, "a tag of tags"),
                ("/api/dmsmanager/v1/dms", { DeviceWorld.dmsJSON($0).replacingOccurrences(of: #""name":"DMS \#($0)""#, with: #""name":"\#($1)""#) }, "name"),
                ("/api/ca/v1/profiles", { #"{"id":"\#($0)","name":"\#($1)","validity":{"type":"Duration","duration":"1y"}}"# }, "name"),
                ("/api/devmanager/v1/device-groups", { #"{"id":"\#($0)","name":"\#($1)"}"# }, "name"),
            ]
            for (index, creation) in creations.enumerated() {
                let refused = try await client.send(.post, creation.path, token: token, json: creation.json("long-\(index)", tooLong))
                #expect(refused.status == .badRequest, "\(creation.path): \(refused.text)")
                #expect(try refused.json()["err"]?.stringValue == "\(creation.field) is longer than 512 characters", "\(refused.text)")
                let kept = try await client.send(.post, creation.path, token: token, json: creation.json("kept-\(index)", longest))
                #expect(kept.status == .created, "\(creation.path): \(kept.text)")
                #expect(try await client.send(.get, "\(creation.path)/long-\(index)", token: token).status == .notFound)
            }
            let renamed = try await client.send(.put, "/api/devmanager/v1/device-groups/kept-3", token: token, json: #"{"name":"\#(tooLong)"}"#)
            #expect(renamed.status == .badRequest, "\(renamed.text)")

            // A KMS key's alias, and an imported certificate's common name, are indexed too.
            let key = try await client.send(.post, "/api/kms/v1/keys", token: token, json: #"{"algorithm":"ECDSA","size":256,"name":"k"}"#)
            let keyID = try #require(try key.json()["key_id"]?.stringValue)
            let alias = try await client.send(
                .put, "/api/kms/v1/keys/\(keyID)/alias", token: token, json: #"{"patches":[{"op":"add","path":"/-","value":"\#(tooLong)"}]}"#)
            #expect(alias.status == .badRequest, "\(alias.text)")
            #expect(try alias.json()["err"] == "an alias is longer than 512 characters")
            let signer = P256.Signing.PrivateKey()
            let longName = try DistinguishedName { CommonName(tooLong) }
            let longCN = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(signer.publicKey), notValidBefore: Date(),
                notValidAfter: Date().addingTimeInterval(86_400), issuer: longName, subject: longName,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                }, issuerPrivateKey: .init(signer))
            let pem = Data(try longCN.serializeAsPEM().pemString.utf8).base64EncodedString()
            for (path, field) in [("/api/ca/v1/certificates/import", "certificate"), ("/api/ca/v1/cas/import", "ca")] {
                let imported = try await client.send(.post, path, token: token, json: #"{"\#(field)":"\#(pem)","id":"long-cn"}"#)
                #expect(imported.status == .badRequest, "\(path): \(imported.text)")
                #expect(try imported.json()["err"] == "the certificate's subject common name is longer than 512 characters", "\(path): \(imported.text)")
            }
        }
        await app.cleanup()
    }

    /// Each mistake is a 4xx that names the problem, and changes nothing.
    /// A CA's certificate is no device identity, even for a device named like the CA: retiring it
    /// later (a new identity, a decommission) would revoke the CA without its cascade.
    @Test func aCACertificateCannotBecomeADeviceIdentity() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            let ca = try await world.api.get("/api/ca/v1/cas/issuing-ca-01")
            let serial = try #require(ca["serial_number"]?.stringValue)
            let name = try #require(ca["certificate"]?["subject"]?["common_name"]?.stringValue)
            try await world.register(name)
            let path = "/api/devmanager/v1/devices/\(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
            for (method, route, body) in [
                (HTTPRequest.Method.put, "\(path)/idslot", #"{"certificate_serial_number":"\#(serial)"}"#),
                (.post, "/api/dmsmanager/v1/dms/bind-identity", #"{"device_id":"\#(name)","certificate_serial_number":"\#(serial)"}"#),
            ] {
                let refused = try await client.send(method, route, token: token, json: body)
                #expect(refused.status == .badRequest, "\(route): \(refused.text)")
                #expect(try refused.json()["err"]?.stringValue?.contains("the certificate of CA 'issuing-ca-01'") == true, "\(refused.text)")
            }
            #expect(try await world.api.get("/api/ca/v1/cas/issuing-ca-01")["certificate"]?["status"] == "ACTIVE")
            #expect(try await client.send(.get, path, token: token).json()["status"] == "NO_IDENTITY")
        }
        await app.cleanup()
    }

    @Test func badInputIsRefusedAndChangesNothing() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            try await world.register("device-1", tags: ["a"])
            let before = try await world.device("device-1")
            let otherSerial = try await world.issue(for: "someone-else")
            // A CA that will sign nothing again cannot be a DMS's enrollment CA; one on hold can.
            try await world.api.createCA(id: "retired-ca", parent: "root-ca", expiration: "5y")
            try await world.api.createCA(id: "held-ca", parent: "root-ca", expiration: "5y")
            for (id, reason) in [("retired-ca", "KeyCompromise"), ("held-ca", "CertificateHold")] {
                let revoked = try await client.send(
                    .post, "/api/ca/v1/cas/\(id)/status", token: token, json: #"{"status":"REVOKED","revocation_reason":"\#(reason)"}"#)
                #expect(revoked.status == .ok, "\(revoked.text)")
            }
            let heldDMS = try await client.send(.post, "/api/dmsmanager/v1/dms", token: token, json: DeviceWorld.dmsJSON("held-dms", enrollmentCA: "held-ca"))
            #expect(heldDMS.status == .created, "\(heldDMS.text)")
            #expect(try await client.send(.delete, "/api/dmsmanager/v1/dms/held-dms", token: token).status == .noContent)
            let validationCAs = #""validation_cas":["root-ca"]"#
            // More tags than a device carries: SQLite's bound-variable limit answered 500 past ~80,000.
            let tooManyTags = (0...Device.maximumTagCount).map { "\"t\($0)\"" }.joined(separator: ",")
            let cases: [(HTTPRequest.Method, String, String?, HTTPResponse.Status, String)] = [
                (.post, "/api/devmanager/v1/devices", #"{"id":"x","dms_id":"manufacturing-dms","tags":[\#(tooManyTags)]}"#, .badRequest, "tags holds 1001 distinct tags"),
                (.post, "/api/dmsmanager/v1/dms",
                 DeviceWorld.dmsJSON("dms-x").replacingOccurrences(of: #""registration_mode":"JITP","#, with: #""registration_mode":"JITP","device_provisioning_profile":{"tags":[\#(tooManyTags)]},"#),
                 .badRequest, "device_provisioning_profile.tags holds 1001"),
                (.post, "/api/devmanager/v1/devices", #"{"id":"x","dms_id":"no-such-dms"}"#, .notFound, "DMS 'no-such-dms' not found"),
                (.post, "/api/devmanager/v1/devices", #"{"id":"device-1","dms_id":"manufacturing-dms"}"#, .conflict, "already exists"),
                (.post, "/api/devmanager/v1/devices", #"{"dms_id":"manufacturing-dms"}"#, .badRequest, "id is required"),
                (.post, "/api/devmanager/v1/devices", #"{"id":"y"}"#, .badRequest, "dms_id is required"),
                // GET /devices/dms/{dms_id} and POST /dms/bind-identity take these paths.
                (.post, "/api/devmanager/v1/devices", #"{"id":"dms","dms_id":"manufacturing-dms"}"#, .badRequest, "id 'dms' is a fixed segment"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("bind-identity"), .badRequest, "id 'bind-identity' is a fixed segment"),
                (.post, "/api/devmanager/v1/devices", #"{"id":"y","dms_id":"manufacturing-dms","tags":"a"}"#, .badRequest, "tags"),
                (.put, "/api/devmanager/v1/devices/device-1/metadata", #"{"patches":[{"op":"jump","path":"/a"}]}"#, .badRequest, "jump"),
                (.put, "/api/devmanager/v1/devices/device-1/metadata", #"{"patches":[{"op":"replace","path":"/missing","value":1}]}"#, .badRequest, "missing"),
                (.put, "/api/devmanager/v1/devices/device-1/metadata", "[1]", .badRequest, "object"),
                (.put, "/api/devmanager/v1/devices/device-1/idslot", #"{"certificate_serial_number":"\#(otherSerial)"}"#, .badRequest, "someone-else"),
                (.put, "/api/devmanager/v1/devices/device-1/idslot", #"{"certificate_serial_number":"abcdef"}"#, .badRequest, "certificate 'abcdef' not found"),
                (.put, "/api/devmanager/v1/devices/device-1/idslot", "{}", .badRequest, "certificate_serial_number is required"),
                (.put, "/api/devmanager/v1/devices/nobody/idslot", #"{"certificate_serial_number":"\#(otherSerial)"}"#, .notFound, "device 'nobody' not found"),
                (.post, "/api/dmsmanager/v1/dms/bind-identity", #"{"device_id":"device-1"}"#, .badRequest, "certificate_serial_number is required"),
                (.get, "/api/devmanager/v1/devices?filter=status[eq]SLEEPING", nil, .badRequest, "SLEEPING"),
                (.get, "/api/devmanager/v1/devices?filter=colour[eq]red", nil, .badRequest, "colour"),
                (.get, "/api/devmanager/v1/devices?filter=tags[eq]a", nil, .badRequest, "tags"),
                (.get, "/api/devmanager/v1/devices/dms/no-such-dms", nil, .notFound, "no-such-dms"),
                (.get, "/api/devmanager/v1/devices/nobody", nil, .notFound, "device 'nobody' not found"),
                (.delete, "/api/devmanager/v1/devices/nobody/decommission", nil, .notFound, "nobody"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x", enrollmentCA: "no-such-ca"), .badRequest, "no-such-ca"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x", enrollmentCA: "retired-ca"), .badRequest, "CA 'retired-ca' is REVOKED"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x").replacingOccurrences(of: validationCAs, with: #""validation_cas":["root-ca","issuing-ca-01","root-ca"]"#),
                 .badRequest, "validation_cas[2]: CA 'root-ca' is already named at settings.enrollment_settings.est_rfc7030_settings.client_certificate_settings.validation_cas[0]"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x").replacingOccurrences(of: validationCAs, with: validationCAs + #","chain_level_validation":-2"#),
                 .badRequest, "chain_level_validation must be -1 (the whole chain) or the number of certificates to verify, not -2"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x").replacingOccurrences(of: #""name":"DMS dms-x""#, with: #""name":" ""#), .badRequest, "name must not be empty"),
                (.put, "/api/dmsmanager/v1/dms/manufacturing-dms", DeviceWorld.dmsJSON("manufacturing-dms").replacingOccurrences(of: #""name":"DMS manufacturing-dms""#, with: #""name":"""#),
                 .badRequest, "name must not be empty"),
                (.post, "/api/dmsmanager/v1/dms",
                 DeviceWorld.dmsJSON("dms-x").replacingOccurrences(of: #""settings":{"#, with: #""settings":{"server_keygen_settings":{"enabled":false,"key":{"type":"DSA","bits":2048}},"#),
                 .badRequest, "server_keygen_settings.key.type 'DSA'"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x", preventive: "1d", critical: "3d"), .badRequest, "critical_delta"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x", preventive: "soon"), .badRequest, "'soon' is not a duration"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("manufacturing-dms"), .conflict, "already exists"),
                (.post, "/api/dmsmanager/v1/dms", #"{"name":"no id"}"#, .badRequest, "id is required"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x").replacingOccurrences(of: "CLIENT_CERTIFICATE", with: "MAGIC"), .badRequest, "MAGIC"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x").replacingOccurrences(of: "\"CLIENT_CERTIFICATE\"", with: "\"EXTERNAL_WEBHOOK\""), .badRequest, "url"),
                (.post, "/api/dmsmanager/v1/dms", DeviceWorld.dmsJSON("dms-x").replacingOccurrences(of: "JITP", with: "WHENEVER"), .badRequest, "registration_mode"),
                // An unreadable timeout was dropped for the default 10 s without a word.
                (.post, "/api/dmsmanager/v1/dms",
                 DeviceWorld.dmsJSON("dms-x").replacingOccurrences(
                    of: #""auth_mode":"CLIENT_CERTIFICATE","client_certificate_settings":{"validation_cas":["root-ca"]}"#,
                    with: #""auth_mode":"EXTERNAL_WEBHOOK","external_webhook_settings":{"url":"https://hooks.example/enroll","config":{"call_timeout":"forever"}}"#),
                 .badRequest, #"config.call_timeout must be a positive duration such as 10s, not "forever""#),
                (.delete, "/api/dmsmanager/v1/dms/manufacturing-dms", nil, .conflict, "device"),
                (.get, "/api/dmsmanager/v1/dms/no-such-dms", nil, .notFound, "DMS 'no-such-dms' not found"),
                (.put, "/api/dmsmanager/v1/dms/manufacturing-dms", DeviceWorld.dmsJSON("other-id"), .badRequest, "differs"),
                // PUT replaces the whole DMS: a body without settings does not keep the old ones.
                (.put, "/api/dmsmanager/v1/dms/manufacturing-dms", #"{"name":"renamed"}"#, .badRequest, "enrollment_ca is required"),
                (.post, "/api/devmanager/v1/device-groups", #"{"name":"g","criteria":[{"field":"tags","operand":"eq","value":"a"}]}"#, .badRequest, "tags"),
                (.post, "/api/devmanager/v1/device-groups", #"{"name":"g","criteria":[{"field":"size","operand":"eq","value":"a"}]}"#, .badRequest, "size"),
                (.post, "/api/devmanager/v1/device-groups", #"{"name":"g","parent_id":"no-such-group"}"#, .notFound, "no-such-group"),
                (.post, "/api/devmanager/v1/device-groups", #"{"criteria":[]}"#, .badRequest, "name is required"),
            ]
            for (method, path, body, status, message) in cases {
                let response = try await client.send(method, path, token: token, json: body)
                #expect(response.status == status, "\(method) \(path) \(body ?? ""): \(response.text)")
                let error = try response.json()["err"]?.stringValue ?? ""
                #expect(error.contains(message), "\(method) \(path): '\(error)' should name \(message)")
            }
            #expect(try await world.device("device-1") == before, "nothing changed")
            #expect(try await world.ids("/api/devmanager/v1/devices") == ["device-1"])
            #expect(try await world.ids("/api/dmsmanager/v1/dms") == ["manufacturing-dms"])
            // A full body replaces everything, the metadata it leaves out included.
            let tagged = try await client.send(.put, "/api/dmsmanager/v1/dms/manufacturing-dms/metadata", token: token, json: #"{"site":"north"}"#)
            #expect(try tagged.json()["metadata"] == ["site": "north"], "\(tagged.text)")
            let replaced = try await client.send(.put, "/api/dmsmanager/v1/dms/manufacturing-dms", token: token, json: DeviceWorld.dmsJSON("manufacturing-dms"))
            #expect(replaced.status == .ok, "\(replaced.text)")
            #expect(try replaced.json()["metadata"] == [:], "\(replaced.text)")

            // A live identity blocks deletion; decommissioning is final, and revokes every identity
            // the device was given: bind-identity left the one it replaced live, as Lamassu does.
            let rebound = try await world.issue(for: "device-1")
            let current = try await world.issue(for: "device-1")
            #expect(try await world.bind("device-1", rebound).status == .ok)
            #expect(try await world.bind("device-1", current).status == .ok)
            #expect(try await world.api.get("/api/ca/v1/certificates/\(rebound)")["status"] == "ACTIVE")
            let live = try await client.send(.delete, "/api/devmanager/v1/devices/device-1", token: token)
            #expect(live.status == .conflict, "\(live.text)")
            #expect(try await client.send(.delete, "/api/devmanager/v1/devices/device-1/decommission", token: token).status == .ok)
            for serial in [rebound, current] {
                let certificate = try await world.api.get("/api/ca/v1/certificates/\(serial)")
                #expect(certificate["status"] == "REVOKED" && certificate["revocation_reason"] == "CessationOfOperation", "\(certificate)")
            }
            let again = try await client.send(.delete, "/api/devmanager/v1/devices/device-1/decommission", token: token)
            #expect(again.status == .conflict, "\(again.text)")
            let rebind = try await world.bind("device-1", try await world.issue(for: "device-1"))
            #expect(rebind.status == .conflict, "\(rebind.text)")
            #expect(try await world.status(of: "device-1") == "DECOMMISSIONED")

            // A viewer reads but may not change anything.
            let viewer = try await app.token(.viewer)
            #expect(try await client.send(.get, "/api/devmanager/v1/devices", token: viewer).status == .ok)
            #expect(try await client.send(.post, "/api/devmanager/v1/devices", token: viewer, json: #"{"id":"v","dms_id":"manufacturing-dms"}"#).status == .forbidden)
            #expect(try await client.send(.get, "/api/devmanager/v1/devices").status == .unauthorized)
        }
        await app.cleanup()
    }

    /// Nested groups select the devices of their own and every ancestor's criteria, always
    /// current; a cycle is refused; deleting a group deletes the groups below it.
    @Test(arguments: TestBackend.available)
    func deviceGroupsNestAndStayCurrent(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let world = try await DeviceWorld.make(client: client, token: token)
            try await world.register("s-1", tags: ["production", "sensor"], metadata: #"{"site":"madrid","floor":3}"#)
            try await world.register("s-2", tags: ["production", "sensor"], metadata: #"{"site":"bilbao","floor":1}"#)
            try await world.register("g-1", tags: ["production", "gateway"], metadata: #"{"site":"madrid"}"#)
            try await world.register("t-1", tags: ["staging", "sensor"], metadata: #"{"site":"madrid"}"#)

            func create(_ json: String) async throws -> String {
                let response = try await client.send(.post, "/api/devmanager/v1/device-groups", token: token, json: json)
                #expect(response.status == .created, "\(response.text)")
                return try #require(try response.json()["id"]?.stringValue)
            }
            let production = try await create(#"{"id":"production","name":"Production","criteria":[{"field":"tags","operand":"contains","value":"production"}]}"#)
            let madrid = try await create(#"{"name":"Madrid production","parent_id":"production","criteria":[{"field":"metadata","operand":"jsonpath","value":"$.site == \"madrid\""}]}"#)
            let active = try await create(#"{"name":"Active in Madrid","parent_id":"\#(madrid)","criteria":[{"field":"status","operand":"eq","value":"ACTIVE"}]}"#)
            let group = try await world.api.get("/api/devmanager/v1/device-groups/\(active)")
            #expect(group["criteria"] == [["field": "status", "operand": "eq", "value": "ACTIVE"]])
            #expect(group["inherited_criteria"]?.arrayValue?.count == 2)
            #expect(group["parent_id"] == .string(madrid))

            #expect(try await world.ids("/api/devmanager/v1/device-groups/\(production)/devices") == ["s-1", "s-2", "g-1"])
            #expect(try await world.ids("/api/devmanager/v1/device-groups/\(madrid)/devices") == ["s-1", "g-1"])
            #expect(try await world.ids("/api/devmanager/v1/device-groups/\(madrid)/devices?filter=tags[contains]sensor") == ["s-1"])
            #expect(try await world.ids("/api/devmanager/v1/device-groups/\(active)/devices") == [])

            // Members follow the devices: s-1 gets an identity.
            #expect(try await world.bind("s-1", try await world.issue(for: "s-1")).status == .ok)
            #expect(try await world.ids("/api/devmanager/v1/device-groups/\(active)/devices") == ["s-1"])
            let stats = try await world.api.get("/api/devmanager/v1/device-groups/\(madrid)/stats")
            #expect(stats["total"] == 2)
            #expect(stats["status_distribution"]?["ACTIVE"] == 1)
            #expect(stats["status_distribution"]?["NO_IDENTITY"] == 1)

            // Paging through members keeps the group's criteria in the bookmark.
            let paged = try await world.ids("/api/devmanager/v1/device-groups/\(production)/devices?page_size=1")
            #expect(paged == ["s-1", "s-2", "g-1"])

            // A cycle is refused; an update changes only what it names.
            let cycle = try await client.send(.put, "/api/devmanager/v1/device-groups/production", token: token, json: #"{"parent_id":"\#(active)"}"#)
            #expect(cycle.status == .badRequest, "\(cycle.text)")
            #expect(try cycle.json()["err"]?.stringValue?.contains("cycle") == true)
            let renamed = try await client.send(.put, "/api/devmanager/v1/device-groups/\(madrid)", token: token, json: #"{"name":"Madrid"}"#)
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(try renamed.json()["criteria"]?.arrayValue?.count == 1, "criteria kept")
            let duplicate = try await client.send(.post, "/api/devmanager/v1/device-groups", token: token, json: #"{"name":"Madrid"}"#)
            #expect(duplicate.status == .conflict)

            // Deleting a group deletes its subgroups.
            #expect(try await client.send(.delete, "/api/devmanager/v1/device-groups/production", token: token).status == .noContent)
            #expect(try await client.send(.get, "/api/devmanager/v1/device-groups/\(active)", token: token).status == .notFound)
            #expect(try await world.api.get("/api/devmanager/v1/device-groups")["list"] == [])
        }
        await app.cleanup()
    }

    /// A registration naming a DMS that does not exist is refused by the write itself: refused
    /// ones leave nothing, and the registrations they shared a commit with are all kept.
    @Test(arguments: TestBackend.available)
    func registrationsToAnUnknownDMSAreRefusedAloneUnderLoad(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
            let services = SheduServices(database: database, masterKey: .init(size: .bits256), clock: ManualClock(), publicURL: "https://localhost")
            _ = try await services.ca.createCA(
                try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"ca","subject":{"common_name":"ca"},"ca_expiration":{"type":"Duration","duration":"1y"}}"#))
            _ = try await services.dms.create(
                try DomainJSON.decode(DMSRequest.self, from: DeviceWorld.dmsJSON("dms", enrollmentCA: "ca").replacingOccurrences(of: "root-ca", with: "ca")))
            let outcomes = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let dms = index % 3 == 0 ? "no-such-dms" : "dms"
                        do {
                            _ = try await services.devices.register(RegisterDeviceRequest(id: "dev-\(index)", dmsID: dms))
                            return (index, nil)
                        } catch let error as SheduError {
                            return (index, "\(error.kind) \(error.message)")
                        }
                    }
                }
                return try await group.reduce(into: [Int: String?]()) { $0[$1.0] = $1.1 }
            }
            for index in 0..<60 {
                let stored = try? await services.devices.device(id: "dev-\(index)")
                if index % 3 == 0 {
                    #expect(outcomes[index] == "notFound DMS 'no-such-dms' not found")
                    #expect(stored == nil, "dev-\(index) was refused and must not exist")
                } else {
                    #expect(outcomes[index] == .some(nil))
                    #expect(stored?.dmsOwner == "dms")
                }
            }
            #expect(try await services.devices.statusCounts(filters: [])[.noIdentity] == 40)
        }
    }

    /// Paging through thousands of devices with bookmarks returns each exactly once, with a tag
    /// filter (driven by the tag index) and without, in both directions.
    @Test(arguments: TestBackend.available)
    func pagingThroughDevicesReturnsEachOnce(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
            let clock = ManualClock()
            let services = SheduServices(database: database, masterKey: .init(size: .bits256), clock: clock, publicURL: "https://localhost")
            _ = try await services.ca.createCA(
                try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"ca","subject":{"common_name":"ca"},"ca_expiration":{"type":"Duration","duration":"1y"}}"#))
            _ = try await services.dms.create(
                try DomainJSON.decode(DMSRequest.self, from: DeviceWorld.dmsJSON("dms", enrollmentCA: "ca").replacingOccurrences(of: "root-ca", with: "ca")))
            let count = 2000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<20 {
                    group.addTask {
                        for index in stride(from: worker, to: count, by: 20) {
                            // Some devices share a creation instant, so ties are broken by id.
                            let tags = index % 7 == 0 ? ["rare", "all"] : ["all"]
                            // A third carry a number to sort by; the others have none (NULL).
                            let metadata: [String: JSONValue] = index % 3 == 0 ? ["i": .int(Int64(index))] : [:]
                            _ = try await services.devices.register(
                                RegisterDeviceRequest(id: String(format: "dev-%05d", index), dmsID: "dms", tags: tags, metadata: metadata))
                            if index % 50 == 0 { clock.advance(by: 1) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            for (filters, sort, descending, expected) in [
                ([String](), nil as String?, false, count), (["tags[contains]rare"], nil, false, (count + 6) / 7),
                (["tags[contains]rare"], nil, true, (count + 6) / 7), (["tags[contains]all", "status[eq]NO_IDENTITY"], "id", true, count),
                (["tags[contains_ignorecase]RARE"], nil, false, (count + 6) / 7),
                ([], "metadata[jsonpath]$.i", false, count), ([], "metadata[jsonpath]$.i", true, count),
            ] {
                var seen: [String] = []
                var bookmark: String?
                repeat {
                    let query = try ListQuery(
                        filters: bookmark == nil ? filters : [], sortBy: bookmark == nil ? sort : nil,
                        sortMode: bookmark == nil ? (descending ? "desc" : "asc") : nil, pageSize: "97", bookmark: bookmark,
                        fields: Device.fields)
                    let page = try await services.devices.list(query)
                    seen += page.items.map(\.id)
                    bookmark = page.next
                } while bookmark != nil
                #expect(seen.count == expected, "\(filters)")
                #expect(Set(seen).count == expected, "\(filters): each exactly once")
                if let sort, sort.hasPrefix("metadata") {
                    // As Lamassu: devices without the value first ascending, last descending.
                    let numbered = stride(from: 0, to: count, by: 3).map { String(format: "dev-%05d", $0) }
                    if descending {
                        #expect(Array(seen.prefix(numbered.count)) == numbered.reversed(), "the largest value first")
                    } else {
                        #expect(Array(seen.suffix(numbered.count)) == numbered, "the devices without a value before the smallest")
                    }
                }
                if sort == nil {
                    let devices = try await services.devices.list(try ListQuery(filters: filters, sortBy: nil, sortMode: descending ? "desc" : "asc", pageSize: "1000", bookmark: nil, fields: Device.fields))
                    let order = devices.items.map { ($0.creationDate, $0.id) }
                    let sorted = order.sorted { descending ? ($0.0, $0.1) > ($1.0, $1.1) : ($0.0, $0.1) < ($1.0, $1.1) }
                    #expect(order.map(\.1) == sorted.map(\.1), "\(filters): in creation order")
                }
            }
        }
    }
}
