import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduPKI
import SheduTestSupport
import SwiftASN1
import Testing
import X509

@testable import SheduServer

@Suite("CA: status, cascades, import, reissue, deletion")
struct CALifecycleTests {
    @Test(arguments: TestBackend.available)
    func revokingACARevokesEverythingBelowItAndHoldsCanBeReleased(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "root", expiration: "20y")
            try await api.createCA(id: "sub-a", parent: "root", expiration: "10y")
            try await api.createCA(id: "sub-b", parent: "root", expiration: "10y")
            try await api.createCA(id: "sub-a-1", parent: "sub-a", expiration: "5y")
            var leaves: [String: String] = [:]
            for ca in ["sub-a", "sub-a-1", "sub-b"] {
                for index in 0..<3 {
                    let csr = try TestPKI.csr(commonName: "\(ca)-dev-\(index)", key: try TestPKI.key("ECDSA", 256))
                    let leaf = try await api.sign(ca: ca, csr: csr).json()
                    leaves["\(ca)-\(index)"] = leaf["serial_number"]?.stringValue
                }
            }
            // One leaf of sub-a-1 was revoked before, for key compromise: it keeps its reason.
            let compromised = leaves["sub-a-1-0"]!
            #expect(try await api.status("/api/ca/v1/certificates/\(compromised)/status", "REVOKED", reason: "KeyCompromise").status == .ok)
            // One leaf of sub-a was switched off: a hold and its release leave it off.
            let switchedOff = leaves["sub-a-2"]!
            #expect(try await api.status("/api/ca/v1/certificates/\(switchedOff)/status", "INACTIVE").status == .ok)

            // Hold sub-a: sub-a, sub-a-1 and their certificates are held; sub-b is untouched.
            let held = try await api.status("/api/ca/v1/cas/sub-a/status", "REVOKED", reason: "CertificateHold")
            #expect(held.status == .ok)
            #expect(try held.json()["certificate"]?["status"] == "REVOKED")
            #expect(try await api.get("/api/ca/v1/cas/sub-a-1")["certificate"]?["revocation_reason"] == "CertificateHold")
            #expect(try await api.get("/api/ca/v1/certificates/\(leaves["sub-a-0"]!)")["revocation_reason"] == "CertificateHold")
            #expect(try await api.get("/api/ca/v1/certificates/\(compromised)")["revocation_reason"] == "KeyCompromise")
            #expect(try await api.get("/api/ca/v1/certificates/\(leaves["sub-b-0"]!)")["status"] == "ACTIVE")
            // A held CA cannot sign.
            let refused = try await api.sign(ca: "sub-a-1", csr: try TestPKI.csr(commonName: "x", key: try TestPKI.key("ECDSA", 256)))
            #expect(refused.status == .conflict)
            #expect(try refused.json()["err"] == "CA 'sub-a-1' is on hold (REVOKED, CertificateHold) and cannot sign until CA 'sub-a' above it is released")
            let signedData = try await client.send(
                .post, "/api/ca/v1/cas/sub-a-1/signature/sign", token: token,
                json: #"{"message":"aGVsbG8=","message_type":"RAW","signature_algorithm":"ECDSA_SHA_256"}"#)
            #expect(signedData.status == .conflict, "nor sign data: \(signedData.text)")
            let keyID = try #require(try await api.get("/api/ca/v1/cas/sub-a-1")["certificate"]?["subject_key_id"]?.stringValue)
            let throughKMS = try await client.send(
                .post, "/api/kms/v1/keys/\(keyID)/sign", token: token, json: #"{"algorithm":"ECDSA_SHA_256","message":"aGVsbG8="}"#)
            #expect(throughKMS.status == .conflict, "nor through the KMS: \(throughKMS.text)")
            // Nothing below a held CA is made ACTIVE on its own: that would issue, and pass checks, under the hold.
            let early = try await api.status("/api/ca/v1/cas/sub-a-1/status", "ACTIVE")
            #expect(early.status == .conflict)
            #expect(try early.json()["err"] == "CA 'sub-a-1' cannot be made ACTIVE while its issuing CA 'sub-a' is REVOKED (CertificateHold); release that CA first")
            let earlyLeaf = try await api.status("/api/ca/v1/certificates/\(leaves["sub-a-1"]!)/status", "ACTIVE")
            #expect(earlyLeaf.status == .conflict, "\(earlyLeaf.text)")
            #expect(try await api.get("/api/ca/v1/certificates/\(switchedOff)")["status"] == "INACTIVE")
            #expect(try await api.status("/api/ca/v1/certificates/\(switchedOff)/status", "ACTIVE").status == .conflict)

            // Release: everything the hold held is ACTIVE again; the compromised leaf stays revoked.
            #expect(try await api.status("/api/ca/v1/cas/sub-a/status", "ACTIVE").status == .ok)
            #expect(try await api.get("/api/ca/v1/cas/sub-a-1")["certificate"]?["status"] == "ACTIVE")
            let released = try await api.get("/api/ca/v1/certificates/\(leaves["sub-a-1-1"]!)")
            #expect(released["status"] == "ACTIVE")
            #expect(released["revocation_timestamp"] == "0001-01-01T00:00:00Z")
            #expect(try await api.get("/api/ca/v1/certificates/\(compromised)")["status"] == "REVOKED")
            #expect(try await api.get("/api/ca/v1/certificates/\(switchedOff)")["status"] == "INACTIVE")
            let signedOnceReleased = try await client.send(
                .post, "/api/ca/v1/cas/sub-a-1/signature/sign", token: token,
                json: #"{"message":"aGVsbG8=","message_type":"RAW","signature_algorithm":"ECDSA_SHA_256"}"#)
            #expect(signedOnceReleased.status == .ok, "\(signedOnceReleased.text)")

            // Revoke the root: everything below is revoked, CessationOfOperation, in one go.
            let revoked = try await api.status("/api/ca/v1/cas/root/status", "REVOKED", reason: "KeyCompromise")
            #expect(try revoked.json()["certificate"]?["revocation_reason"] == "KeyCompromise")
            for ca in ["sub-a", "sub-b", "sub-a-1"] {
                let state = try await api.get("/api/ca/v1/cas/\(ca)")["certificate"]
                #expect(state?["status"] == "REVOKED")
                #expect(state?["revocation_reason"] == "CessationOfOperation", "\(ca)")
            }
            for (name, serial) in leaves where serial != compromised {
                let leaf = try await api.get("/api/ca/v1/certificates/\(serial)")
                #expect(leaf["status"] == "REVOKED", "\(name)")
                #expect(leaf["revocation_reason"] == "CessationOfOperation", "\(name)")
            }
            #expect(try await api.get("/api/ca/v1/certificates/\(compromised)")["revocation_reason"] == "KeyCompromise")
            // A final revocation cannot be undone.
            let undo = try await api.status("/api/ca/v1/cas/root/status", "ACTIVE")
            #expect(undo.status == .conflict)
            #expect(try undo.json()["err"] == "CA 'root' is REVOKED (KeyCompromise), which is final")
            // sub-a issued three device certificates and the certificate of sub-a-1.
            let stats = try await api.get("/api/ca/v1/stats/sub-a")
            #expect(stats == ["ACTIVE": 0, "EXPIRED": 0, "REVOKED": 4, "INACTIVE": 0])
        }
        await app.cleanup()
    }

    /// A hold reaches past a CA it left INACTIVE: nothing below that CA is made ACTIVE under the
    /// hold, and a held subordinate still may not outlive its parent's reissue.
    @Test(arguments: TestBackend.available)
    func aHoldReachesPastAnInactiveCA(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "root", expiration: "20y")
            try await api.createCA(id: "mid", parent: "root", expiration: "10y")
            try await api.createCA(id: "low", parent: "mid", expiration: "5y")
            let leaf = try #require(try await api.sign(ca: "mid", csr: try TestPKI.csr(commonName: "d", key: try TestPKI.key("ECDSA", 256))).json()["serial_number"]?.stringValue)
            #expect(try await api.status("/api/ca/v1/cas/mid/status", "INACTIVE").status == .ok)
            #expect(try await api.status("/api/ca/v1/cas/root/status", "REVOKED", reason: "CertificateHold").status == .ok)
            let lowReleased = try await api.status("/api/ca/v1/cas/low/status", "ACTIVE")
            #expect(lowReleased.status == .conflict)
            #expect(try lowReleased.json()["err"] == "CA 'low' cannot be made ACTIVE while CA 'root' above its issuing CA 'mid' is REVOKED (CertificateHold); release that CA first")
            #expect(try await api.status("/api/ca/v1/certificates/\(leaf)/status", "ACTIVE").status == .conflict)
            #expect(try await api.status("/api/ca/v1/cas/mid/status", "ACTIVE").status == .conflict)
            // The held subordinate counts when its parent is reissued shorter.
            let shorter = try await client.send(
                .post, "/api/ca/v1/cas/mid/reissue", token: token, json: #"{"profile":{"validity":{"type":"Duration","duration":"1y"},"sign_as_ca":true}}"#)
            #expect(shorter.status == .conflict || shorter.status == .badRequest, "\(shorter.text)")
            #expect(try await api.status("/api/ca/v1/cas/root/status", "ACTIVE").status == .ok)
            #expect(try await api.get("/api/ca/v1/cas/low")["certificate"]?["status"] == "ACTIVE")
            let shorterOnceReleased = try await client.send(
                .post, "/api/ca/v1/cas/root/reissue", token: token, json: #"{"profile":{"validity":{"type":"Duration","duration":"1y"},"sign_as_ca":true}}"#)
            #expect(shorterOnceReleased.status == .badRequest, "\(shorterOnceReleased.text)")
            // Held again, mid is still counted.
            #expect(try await api.status("/api/ca/v1/cas/mid/status", "ACTIVE").status == .ok)
            #expect(try await api.status("/api/ca/v1/cas/mid/status", "REVOKED", reason: "CertificateHold").status == .ok)
            let whileHeld = try await client.send(
                .post, "/api/ca/v1/cas/root/reissue", token: token, json: #"{"profile":{"validity":{"type":"Duration","duration":"1y"},"sign_as_ca":true}}"#)
            #expect(whileHeld.status == .badRequest, "\(whileHeld.text)")
            #expect(try whileHeld.json()["err"]?.stringValue?.contains("before CA 'mid' below it") == true, "\(whileHeld.text)")
        }
        await app.cleanup()
    }

    /// A certificate imported below a held or revoked CA comes in as the cascade would have left
    /// it, not ACTIVE (OCSP answered good for it).
    @Test func importsBelowARevokedCAComeInRevoked() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        let work = try makeTemporaryFolder()
        let outside = OutsidePKI(folder: work)
        try outside.root("root", commonName: "Outside Root")
        try outside.root("root2", commonName: "Second Outside Root")
        let racing = (0..<8).map { "racer-\($0)" }
        for name in ["leaf-1", "leaf-2"] + racing {
            try outside.issue(name, commonName: name, by: name.hasPrefix("racer") ? "root2" : "root", days: 365)
        }
        @Sendable func base64(_ file: String) throws -> String { try outside.base64(file) }
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            #expect(try await client.send(.post, "/api/ca/v1/cas/import", token: token,
                                          json: #"{"id":"outside","ca":"\#(try base64("root.pem"))","private_key":"\#(try base64("root.key"))"}"#).status == .created)
            #expect(try await api.status("/api/ca/v1/cas/outside/status", "REVOKED", reason: "CertificateHold").status == .ok)
            let held = try await client.send(.post, "/api/ca/v1/certificates/import", token: token, json: #"{"certificate":"\#(try base64("leaf-1.pem"))"}"#)
            #expect(held.status == .created, "\(held.text)")
            #expect(try held.json()["status"] == "REVOKED")
            #expect(try held.json()["revocation_reason"] == "CertificateHold")
            // Released with the CA that holds it.
            #expect(try await api.status("/api/ca/v1/cas/outside/status", "ACTIVE").status == .ok)
            let serial = try #require(try held.json()["serial_number"]?.stringValue)
            #expect(try await api.get("/api/ca/v1/certificates/\(serial)")["status"] == "ACTIVE")
            // Below a CA revoked for good: revoked, CessationOfOperation.
            #expect(try await api.status("/api/ca/v1/cas/outside/status", "REVOKED", reason: "KeyCompromise").status == .ok)
            let ceased = try await client.send(.post, "/api/ca/v1/certificates/import", token: token, json: #"{"certificate":"\#(try base64("leaf-2.pem"))"}"#)
            #expect(try ceased.json()["status"] == "REVOKED")
            #expect(try ceased.json()["revocation_reason"] == "CessationOfOperation")

            // Imports landing while a hold is placed: none stays ACTIVE below the held CA.
            #expect(try await client.send(.post, "/api/ca/v1/cas/import", token: token,
                                          json: #"{"id":"second","ca":"\#(try base64("root2.pem"))","private_key":"\#(try base64("root2.key"))"}"#).status == .created)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for name in racing {
                    group.addTask {
                        let certificate = try base64("\(name).pem")
                        _ = try await client.send(.post, "/api/ca/v1/certificates/import", token: token, json: #"{"certificate":"\#(certificate)"}"#)
                    }
                }
                group.addTask { _ = try await api.status("/api/ca/v1/cas/second/status", "REVOKED", reason: "CertificateHold") }
                try await group.waitForAll()
            }
            let live = try await api.get("/api/ca/v1/cas/second/certificates?filter=status[eq]ACTIVE")
            #expect(live["list"]?.arrayValue?.isEmpty == true, "\(live)")
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    /// A CA whose validity ended signs nothing, before the expiry monitor has marked it too.
    @Test func aCAOutsideItsValidityDoesNotSign() async throws {
        var app = try await TestApp.make()
        let clock = ManualClock()
        app.clock = clock
        let token = try await app.token(.operator, lifetime: .days(30))
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(#"{"id":"hour","validity":{"type":"Duration","duration":"1h"}}"#)
            try await api.createCA(id: "brief", expiration: "2d", profileID: "hour")
            let caStart = try #require(try await api.get("/api/ca/v1/cas/brief")["certificate"]?["valid_from"])
            // Before it starts (as an imported CA may): what it signed would not verify yet.
            clock.advance(by: -3_600)
            let early = try await api.sign(ca: "brief", csr: try TestPKI.csr(commonName: "early", key: try TestPKI.key("ECDSA", 256)))
            #expect(early.status == .conflict, "\(early.text)")
            #expect(try early.json()["err"]?.stringValue?.hasPrefix("CA 'brief' is not valid before ") == true, "\(early.text)")
            // Within its first minute, a leaf is backdated no further than the CA's own start.
            clock.advance(by: 3_600 - 30)
            let backdated = try await api.sign(
                ca: "brief", csr: try TestPKI.csr(commonName: "first", key: try TestPKI.key("ECDSA", 256)), profileID: "hour")
            #expect(backdated.status == .created, "\(backdated.text)")
            #expect(try backdated.json()["valid_from"] == caStart, "\(backdated.text)")
            clock.advance(by: 30)
            clock.advance(by: 3 * 86_400)
            #expect(try await api.get("/api/ca/v1/cas/brief")["certificate"]?["status"] == "ACTIVE", "not marked yet")
            let signed = try await api.sign(ca: "brief", csr: try TestPKI.csr(commonName: "late", key: try TestPKI.key("ECDSA", 256)))
            #expect(signed.status == .conflict)
            #expect(try signed.json()["err"]?.stringValue?.hasPrefix("CA 'brief' expired at ") == true, "\(signed.text)")
            let data = try await client.send(
                .post, "/api/ca/v1/cas/brief/signature/sign", token: token,
                json: #"{"message":"aGVsbG8=","message_type":"RAW","signature_algorithm":"ECDSA_SHA_256"}"#)
            #expect(data.status == .conflict)
            let keyID = try #require(try await api.get("/api/ca/v1/cas/brief")["certificate"]?["subject_key_id"]?.stringValue)
            let throughKMS = try await client.send(
                .post, "/api/kms/v1/keys/\(keyID)/sign", token: token, json: #"{"algorithm":"ECDSA_SHA_256","message":"aGVsbG8="}"#)
            #expect(throughKMS.status == .conflict, "\(throughKMS.text)")
            let reissued = try await client.send(.post, "/api/ca/v1/cas/brief/reissue", token: token, json: "{}")
            #expect(reissued.status == .conflict, "a root past its end does not sign its own new certificate: \(reissued.text)")
        }
        await app.cleanup()
    }

    @Test func certificateStatusTransitionsFollowTheRules() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "ca", expiration: "5y")
            let serial = try #require(try await api.sign(ca: "ca", csr: try TestPKI.csr(commonName: "d", key: try TestPKI.key("ECDSA", 256))).json()["serial_number"]?.stringValue)
            let path = "/api/ca/v1/certificates/\(serial)/status"
            #expect(try await api.status(path, "INACTIVE").json()["status"] == "INACTIVE")
            #expect(try await api.status(path, "ACTIVE").json()["status"] == "ACTIVE")
            let hold = try await api.status(path, "REVOKED", reason: "certificatehold").json()
            #expect(hold["revocation_reason"] == "CertificateHold")
            #expect(hold["revocation_timestamp"] != "0001-01-01T00:00:00Z")
            #expect(try await api.status(path, "INACTIVE").status == .conflict)
            #expect(try await api.status(path, "ACTIVE").json()["status"] == "ACTIVE")
            let superseded = try await client.send(.put, path, token: token, json: #"{"status":"REVOKED","revocation_reason":"Superseded"}"#)
            #expect(try superseded.json()["revocation_reason"] == "Superseded")
            let problems: [(String, String?, HTTPResponse.Status, String)] = [
                ("ACTIVE", nil, .conflict, "is REVOKED (Superseded), which is final"),
                ("EXPIRED", nil, .badRequest, "status EXPIRED is set by the expiry monitor"),
                ("DELETED", nil, .badRequest, "status 'DELETED' is not one of ACTIVE, EXPIRED, REVOKED, INACTIVE"),
                ("REVOKED", "Bored", .badRequest, "revocation_reason 'Bored' is not one of"),
            ]
            for (status, reason, code, message) in problems {
                let response = try await api.status(path, status, reason: reason)
                #expect(response.status == code, "\(status)")
                #expect(try response.json()["err"]?.stringValue?.contains(message) == true, "\(response.text)")
            }
            #expect(try await api.status("/api/ca/v1/certificates/abcdef/status", "REVOKED").status == .notFound)
        }
        await app.cleanup()
    }

    @Test func createRulesAndDeletion() async throws {
        let app = try await TestApp.make()
        let admin = try await app.token(.admin)
        let operatorToken = try await app.token(.operator)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: admin)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "root", expiration: "5y")
            let duplicate = try await api.createCA(id: "root", expect: .conflict)
            #expect(duplicate["err"] == "CA 'root' already exists")
            let outliving = try await api.createCA(id: "child", parent: "root", expiration: "10y", expect: .badRequest)
            #expect(outliving["err"]?.stringValue?.contains("after its issuing CA") == true)
            let noParent = try await api.createCA(id: "orphan", parent: "ghost", expect: .notFound)
            #expect(noParent["err"] == "CA 'ghost' not found")
            let reserved = try await api.createCA(id: "-", expect: .badRequest)
            #expect(reserved["err"] == "id '-' is reserved: it names an unknown issuer")
            // GET /cas/cn/{cn} and POST /cas/import take these paths: such a CA could not be reached.
            for segment in ["cn", "import"] {
                let unreachable = try await api.createCA(id: segment, expect: .badRequest)
                #expect(unreachable["err"]?.stringValue == "id '\(segment)' is a fixed segment of the API's paths here: requests for it would reach that route instead; choose another")
            }
            let badKey = try await api.createCA(id: "weak", type: "RSA", bits: 1024, expect: .badRequest)
            #expect(badKey["err"]?.stringValue?.contains("RSA keys come in sizes") == true)
            let badProfile = try await api.createCA(id: "p", profileID: "missing", expect: .notFound)
            #expect(badProfile["err"] == "issuance profile 'missing' not found")
            let beyondYear9999 = try await api.createCA(id: "forever", expiration: "10000y", expect: .badRequest)
            #expect(beyondYear9999["err"]?.stringValue?.contains("after 9999-12-31T23:59:59Z, the latest time a certificate can hold") == true)
            // The time is written out (Date's own description gives up past the year 4000 or so).
            let tooLate = beyondYear9999["err"]?.stringValue ?? ""
            #expect(tooLate.firstMatch(of: /^the validity would end at \d{5}-\d\d-\d\dT\d\d:\d\d:\d\dZ, after/) != nil, "\(tooLate)")
            #expect(try await api.get("/api/ca/v1/cas")["list"]?.arrayValue?.count == 1, "refusals wrote nothing")
            #expect(try await api.get("/api/kms/v1/keys")["list"]?.arrayValue?.count == 1, "no orphan keys either")

            // The CA's key is a KMS key in use: it cannot be deleted.
            let keyID = try #require(try await api.get("/api/ca/v1/cas/root")["certificate"]?["subject_key_id"]?.stringValue)
            let keyDelete = try await client.send(.delete, "/api/kms/v1/keys/\(keyID)", token: admin)
            #expect(keyDelete.status == .conflict)

            let serial = try #require(try await api.sign(ca: "root", csr: try TestPKI.csr(commonName: "d", key: try TestPKI.key("ECDSA", 256))).json()["serial_number"]?.stringValue)
            #expect(try await client.send(.delete, "/api/ca/v1/cas/root", token: operatorToken).status == .forbidden)
            let active = try await client.send(.delete, "/api/ca/v1/cas/root", token: admin)
            #expect(active.status == .conflict)
            #expect(try active.json()["err"] == "CA 'root' is ACTIVE; revoke it before deleting it")
            let certificateDelete = try await client.send(.delete, "/api/ca/v1/certificates/\(serial)", token: admin)
            #expect(certificateDelete.status == .conflict)
            #expect(try certificateDelete.json()["err"]?.stringValue?.contains("its issuing CA 'root' still exists") == true)

            _ = try await api.status("/api/ca/v1/cas/root/status", "REVOKED")
            #expect(try await client.send(.delete, "/api/ca/v1/cas/root", token: admin).status == .noContent)
            #expect(try await client.send(.get, "/api/ca/v1/cas/root", token: admin).status == .notFound)
            #expect(try await client.send(.get, "/api/kms/v1/keys/\(keyID)", token: admin).status == .notFound, "the CA's key went with it")
            // Its certificates remain, and can now be deleted.
            #expect(try await api.get("/api/ca/v1/certificates/\(serial)")["status"] == "REVOKED")
            #expect(try await client.send(.delete, "/api/ca/v1/certificates/\(serial)", token: admin).status == .noContent)
            #expect(try await client.send(.get, "/api/ca/v1/certificates/\(serial)", token: admin).status == .notFound)
        }
        await app.cleanup()
    }

    /// The offline sub-CA: its key stays elsewhere while Shedu signs its CSR; imported with its key
    /// later, the certificate Shedu already holds becomes the CA's.
    @Test(arguments: TestBackend.available)
    func aCACertificateSignedHereIsImportedAsACA(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        let work = try makeTemporaryFolder()
        _ = try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sub.key"], in: work)
        _ = try openssl(["req", "-new", "-key", "sub.key", "-subj", "/CN=Offline Sub", "-outform", "DER", "-out", "sub.csr"], in: work)
        let csr = try Data(contentsOf: work.appendingPathComponent("sub.csr")).base64EncodedString()
        let key = try Data(contentsOf: work.appendingPathComponent("sub.key")).base64EncodedString()
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "root", expiration: "5y")
            let signed = try await client.send(
                .post, "/api/ca/v1/cas/root/sign", token: token,
                json: #"{"csr":"\#(csr)","profile":{"validity":{"type":"Duration","duration":"2y"},"sign_as_ca":true}}"#)
            #expect(signed.status == .created, "\(signed.text)")
            let certificate = try #require(try signed.json()["certificate"]?.stringValue)
            let serial = try #require(try signed.json()["serial_number"]?.stringValue)
            let imported = try await client.send(
                .post, "/api/ca/v1/cas/import", token: token,
                json: #"{"id":"offline","ca":"\#(certificate)","private_key":"\#(key)","profile_id":"device-profile"}"#)
            #expect(imported.status == .created, "\(imported.text)")
            let ca = try imported.json()
            #expect(ca["serial_number"] == .string(serial))
            #expect(ca["certificate"]?["type"] == "IMPORTED_WITH_KEY")
            #expect(ca["certificate"]?["status"] == "ACTIVE")
            #expect(ca["level"] == 1)
            #expect(ca["certificate"]?["issuer_metadata"]?["id"] == "root")
            // It signs, and it is one certificate, not two.
            let leaf = try await api.sign(ca: "offline", csr: try TestPKI.csr(commonName: "dev", key: try TestPKI.key("ECDSA", 256)))
            #expect(leaf.status == .created, "\(leaf.text)")
            #expect(try await api.get("/api/ca/v1/stats/root")["ACTIVE"] == 1)
            #expect(try await api.get("/api/ca/v1/certificates/\(serial)")["metadata"] != nil)
            let twice = try await client.send(.post, "/api/ca/v1/cas/import", token: token, json: #"{"id":"offline-2","ca":"\#(certificate)"}"#)
            #expect(twice.status == .conflict)
            #expect(try twice.json()["err"]?.stringValue?.contains("is already the key of CA 'offline'") == true, "\(twice.text)")
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    /// A key or profile deleted while a CA starts using it: one of the two calls wins, never both
    /// (a CA whose key was gone answered 404 to every signature, and its CRL and OCSP failed).
    @Test(arguments: TestBackend.available)
    func aKeyOrProfileIsNotDeletedUnderACAThatIsTakingItUp(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createCA(id: "root", expiration: "5y")
            let unnamed = try await client.send(.post, "/api/ca/v1/cas/root/profile", token: token, json: #"{"profile_id":" "}"#)
            #expect(unnamed.status == .badRequest)
            #expect(try unnamed.json()["err"] == "profile_id must name an issuance profile")
            for round in 0..<12 {
                let keyID = try #require(try await client.send(
                    .post, "/api/kms/v1/keys", token: token, json: #"{"algorithm":"ECDSA","size":256,"name":"k\#(round)"}"#).json()["key_id"]?.stringValue)
                try await api.createProfile(#"{"id":"p\#(round)","validity":{"type":"Duration","duration":"1d"}}"#)
                async let deletedKey = client.send(.delete, "/api/kms/v1/keys/\(keyID)", token: token)
                async let created = client.send(
                    .post, "/api/ca/v1/cas", token: token,
                    json: #"{"id":"ca\#(round)","subject":{"common_name":"ca\#(round)"},"key_metadata":{"key_id":"\#(keyID)"},"ca_expiration":{"type":"Duration","duration":"1y"}}"#)
                let (keyDeletion, creation) = try await (deletedKey, created)
                #expect((keyDeletion.status == .noContent) != (creation.status == .created), "round \(round): \(keyDeletion.status) \(creation.status) \(creation.text)")
                guard creation.status == .created else { continue }
                async let deletedProfile = client.send(.delete, "/api/ca/v1/profiles/p\(round)", token: token)
                async let assigned = client.send(.post, "/api/ca/v1/cas/ca\(round)/profile", token: token, json: #"{"profile_id":"p\#(round)"}"#)
                let (profileDeletion, assignment) = try await (deletedProfile, assigned)
                #expect((profileDeletion.status == .noContent) != (assignment.status == .ok), "round \(round): \(profileDeletion.status) \(assignment.status)")
                // The same for a DMS that names a profile.
                try await api.createProfile(#"{"id":"d\#(round)","validity":{"type":"Duration","duration":"1d"}}"#)
                async let deletedDMSProfile = client.send(.delete, "/api/ca/v1/profiles/d\(round)", token: token)
                async let dms = client.send(
                    .post, "/api/dmsmanager/v1/dms", token: token,
                    json: #"{"id":"dms\#(round)","settings":{"issuance_profile_id":"d\#(round)","enrollment_settings":{"enrollment_ca":"root","est_rfc7030_settings":{"auth_mode":"NO_AUTH"}}}}"#)
                let (dmsProfileDeletion, dmsCreation) = try await (deletedDMSProfile, dms)
                #expect((dmsProfileDeletion.status == .noContent) != (dmsCreation.status == .created), "round \(round): \(dmsProfileDeletion.status) \(dmsCreation.status) \(dmsCreation.text)")
            }
        }
        await app.cleanup()
    }

    @Test func noCAIsMadePastAPathLengthConstraint() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        let work = try makeTemporaryFolder()
        // An outside root over an intermediate that may certify no further CA (pathlen:0).
        let outside = OutsidePKI(folder: work)
        try outside.root("root", commonName: "Pathlen Root")
        try outside.issue(
            "int", commonName: "Last Intermediate", by: "root", days: 1825,
            extensions: OutsidePKI.intermediate.replacingOccurrences(of: "CA:TRUE", with: "CA:TRUE,pathlen:0"))
        // A root that certifies no CA, its country written as UTF8String (openssl would not).
        let flatKey = P256.Signing.PrivateKey()
        let flatName = try DistinguishedName([
            RelativeDistinguishedName(.init(type: .RDNAttributeType.countryName, utf8String: "DE")),
            RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, utf8String: "Flat Root")),
        ])
        let flat = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(flatKey.publicKey), notValidBefore: Date().addingTimeInterval(-60),
            notValidAfter: Date().addingTimeInterval(10 * 365 * 86_400), issuer: flatName, subject: flatName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(flatKey))
        try flat.serializeAsPEM().pemString.write(to: work.appendingPathComponent("flat.pem"), atomically: true, encoding: .utf8)
        try flatKey.pemRepresentation.write(to: work.appendingPathComponent("flat.key"), atomically: true, encoding: .utf8)
        @Sendable func base64(_ file: String) throws -> String { try outside.base64(file) }
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            #expect(try await client.send(.post, "/api/ca/v1/cas/import", token: token, json: #"{"id":"root","ca":"\#(try base64("root.pem"))"}"#).status == .created)
            let imported = try await client.send(
                .post, "/api/ca/v1/cas/import", token: token,
                json: #"{"id":"last","ca":"\#(try base64("int.pem"))","private_key":"\#(try base64("int.key"))","profile_id":"device-profile"}"#)
            #expect(imported.status == .created, "\(imported.text)")
            let message = "a CA certificate issued by 'last' would exceed the pathLenConstraint (0) of CA 'last'"
            let child = try await api.createCA(id: "too-deep", parent: "last", expiration: "1y", expect: .badRequest)
            #expect(child["err"] == .string(message))
            let csr = try TestPKI.csr(commonName: "sub", key: try TestPKI.key("ECDSA", 256))
            let signedCA = try await client.send(
                .post, "/api/ca/v1/cas/last/sign", token: token,
                json: #"{"csr":"\#(csr)","profile":{"validity":{"type":"Duration","duration":"1d"},"sign_as_ca":true}}"#)
            #expect(signedCA.status == .badRequest)
            #expect(try signedCA.json()["err"] == .string(message))
            // Devices it may certify.
            let leaf = try await api.sign(ca: "last", csr: csr)
            #expect(leaf.status == .created, "\(leaf.text)")
            #expect(try await client.send(.get, "/api/ca/v1/cas/too-deep", token: token).status == .notFound)

            // A reissue keeps the constraint, and the subject's bytes (a UTF8String country here).
            let imported2 = try await client.send(
                .post, "/api/ca/v1/cas/import", token: token,
                json: #"{"id":"flat-root","ca":"\#(try base64("flat.pem"))","private_key":"\#(try base64("flat.key"))"}"#)
            #expect(imported2.status == .created, "\(imported2.text)")
            let reissued = try await client.send(.post, "/api/ca/v1/cas/flat-root/reissue", token: token, json: "{}")
            #expect(reissued.status == .ok, "\(reissued.text)")
            let newPEM = try TestPKI.pem(fromAPI: try #require(try reissued.json()["certificate"]?["certificate"]?.stringValue))
            let old = try Certificate(pemEncoded: try String(contentsOf: work.appendingPathComponent("flat.pem"), encoding: .utf8))
            let new = try Certificate(pemEncoded: newPEM)
            var oldName = DER.Serializer(), newName = DER.Serializer()
            try oldName.serialize(old.subject)
            try newName.serialize(new.subject)
            #expect(oldName.serializedBytes == newName.serializedBytes, "the subject to the byte")
            #expect(try new.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
            let underFlat = try await api.createCA(id: "under-flat", parent: "flat-root", expiration: "1y", expect: .badRequest)
            #expect(underFlat["err"]?.stringValue?.contains("pathLenConstraint (0) of CA 'flat-root'") == true)
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    @Test func importFindsParentsAndChildrenAndReissueKeepsTheKey() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        let work = try makeTemporaryFolder()
        // An outside hierarchy made with openssl: root → intermediate.
        let outside = OutsidePKI(folder: work)
        try outside.root("root", commonName: "Outside Root")
        try outside.issue("int", commonName: "Outside Intermediate", by: "root", days: 1825, extensions: OutsidePKI.intermediate)
        // RFC 5280 lets a CA certificate go without key identifiers: found by name and signature.
        try outside.issue(
            "int-bare", commonName: "Outside Intermediate Without Key Identifiers", by: "root", days: 1825,
            extensions: "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n")
        @Sendable func base64(_ file: String) throws -> String { try outside.base64(file) }
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            let bare = try await client.send(.post, "/api/ca/v1/cas/import", token: token, json: #"{"id":"int-bare","ca":"\#(try base64("int-bare.pem"))"}"#)
            #expect(bare.status == .created, "\(bare.text)")
            // A chain that is none is refused, not ignored.
            for (chain, message) in [("\"garbage\"", "ca_chain[0] is not an X.509 certificate"), ("\"\(try base64("root.pem"))\",\"\(try base64("int-bare.key"))\"", "ca_chain[1] is a PEM 'PRIVATE KEY', expected CERTIFICATE")] {
                let chained = try await client.send(
                    .post, "/api/ca/v1/cas/import", token: token, json: #"{"id":"chained","ca":"\#(try base64("int.pem"))","ca_chain":[\#(chain)]}"#)
                #expect(chained.status == .badRequest, "\(chained.text)")
                #expect(try chained.json()["err"]?.stringValue == message, "\(chained.text)")
            }
            // The intermediate first, with its key: its parent is not known yet.
            let intermediate = try await client.send(
                .post, "/api/ca/v1/cas/import", token: token,
                json: #"{"id":"int","ca":"\#(try base64("int.pem"))","private_key":"\#(try base64("int.key"))","profile_id":"device-profile"}"#)
            #expect(intermediate.status == .created, "\(intermediate.text)")
            #expect(try intermediate.json()["certificate"]?["type"] == "IMPORTED_WITH_KEY")
            #expect(try intermediate.json()["certificate"]?["issuer_metadata"] == ["serial_number": "-", "id": "-", "level": -1])
            let earlyLeaf = try await api.sign(ca: "int", csr: try TestPKI.csr(commonName: "early", key: try TestPKI.key("ECDSA", 256))).json()
            #expect(earlyLeaf["issuer_metadata"]?["level"] == 0)
            // Then the root, without its key: the intermediate becomes its child.
            let root = try await client.send(.post, "/api/ca/v1/cas/import", token: token, json: #"{"id":"outside-root","ca":"\#(try base64("root.pem"))"}"#)
            #expect(root.status == .created, "\(root.text)")
            #expect(try root.json()["certificate"]?["type"] == "IMPORTED_WITHOUT_KEY")
            for id in ["int", "int-bare"] {
                let reparented = try await api.get("/api/ca/v1/cas/\(id)")
                #expect(reparented["level"] == 1, "\(id)")
                #expect(reparented["certificate"]?["issuer_metadata"]?["id"] == "outside-root", "\(id)")
            }
            let earlySerial = try #require(earlyLeaf["serial_number"]?.stringValue)
            #expect(try await api.get("/api/ca/v1/certificates/\(earlySerial)")["issuer_metadata"]?["level"] == 1, "its issuer's new level")
            // The imported intermediate signs, and openssl verifies up to the outside root.
            let leaf = try await api.sign(ca: "int", csr: try TestPKI.csr(commonName: "dev", key: try TestPKI.key("ECDSA", 256))).json()
            try TestPKI.pem(fromAPI: leaf["certificate"]!.stringValue!).write(to: work.appendingPathComponent("leaf.pem"), atomically: true, encoding: .utf8)
            let verified = try runTool("openssl", ["verify", "-CAfile", "root.pem", "-untrusted", "int.pem", "leaf.pem"], in: work)
            #expect(verified.output.contains("leaf.pem: OK"), "\(verified.errors)")
            // A keyless CA cannot sign; a wrong key and a non-CA certificate are refused.
            let keyless = try await api.sign(ca: "outside-root", csr: try TestPKI.csr(commonName: "x", key: try TestPKI.key("ECDSA", 256)))
            #expect(keyless.status == .conflict)
            let mismatch = try await client.send(
                .post, "/api/ca/v1/cas/import", token: token, json: #"{"id":"bad","ca":"\#(try base64("root.pem"))","private_key":"\#(try base64("int.key"))"}"#)
            #expect(try mismatch.json()["err"] == "private_key does not belong to the certificate in ca")
            let notCA = try await client.send(.post, "/api/ca/v1/cas/import", token: token, json: #"{"id":"leaf","ca":"\#(try base64("leaf.pem"))"}"#)
            #expect(try notCA.json()["err"]?.stringValue?.contains("is not a CA certificate") == true)
            let again = try await client.send(.post, "/api/ca/v1/cas/import", token: token, json: #"{"id":"root-again","ca":"\#(try base64("root.pem"))"}"#)
            #expect(again.status == .conflict)

            // Reissue: a new certificate, same key and id; the old one says what replaced it.
            try await api.createCA(id: "mine", expiration: "3y")
            let before = try await api.get("/api/ca/v1/cas/mine")
            let reissued = try await client.send(.post, "/api/ca/v1/cas/mine/reissue", token: token, json: "{}")
            #expect(reissued.status == .ok, "\(reissued.text)")
            let after = try reissued.json()
            #expect(after["serial_number"] != before["serial_number"])
            #expect(after["certificate"]?["subject_key_id"] == before["certificate"]?["subject_key_id"])
            let oldSerial = try #require(before["serial_number"]?.stringValue)
            #expect(try await api.get("/api/ca/v1/certificates/\(oldSerial)")["metadata"]?["lamassu.io/ca/reissued-as"] == after["serial_number"])
            #expect(after["certificate"]?["metadata"]?["lamassu.io/ca/reissued-from"] == before["serial_number"])

            // What a reissue keeps: the subject (what the CA issued names it), and no subordinate outlives it.
            try await api.createCA(id: "mine-sub", parent: "mine", expiration: "2y")
            let subLeaf = try await api.sign(ca: "mine-sub", csr: try TestPKI.csr(commonName: "dev-2", key: try TestPKI.key("ECDSA", 256))).json()
            let renamed = try await client.send(
                .post, "/api/ca/v1/cas/mine-sub/reissue", token: token,
                json: #"{"profile":{"validity":{"type":"Duration","duration":"1y"},"sign_as_ca":true,"honor_subject":false,"subject":{"organization":"Other","country":"DE"}}}"#)
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(try renamed.json()["certificate"]?["subject"]?["organization"] == "Shedu Tests", "the subject is kept")
            #expect(try renamed.json()["certificate"]?["issuer_metadata"]?["serial_number"] == after["serial_number"], "issued by mine's current certificate")
            func save(_ base64PEM: JSONValue?, to file: String) throws {
                try TestPKI.pem(fromAPI: try #require(base64PEM?.stringValue)).write(
                    to: work.appendingPathComponent(file), atomically: true, encoding: .utf8)
            }
            try save(try renamed.json()["certificate"]?["certificate"], to: "mine-sub.pem")
            try save(try reissued.json()["certificate"]?["certificate"], to: "mine.pem")
            try save(subLeaf["certificate"], to: "sub-leaf.pem")
            let stillValid = try runTool("openssl", ["verify", "-CAfile", "mine.pem", "-untrusted", "mine-sub.pem", "sub-leaf.pem"], in: work)
            #expect(stillValid.output.contains("sub-leaf.pem: OK"), "\(stillValid.output)\(stillValid.errors)")
            let leafProfile = try await client.send(
                .post, "/api/ca/v1/cas/mine-sub/reissue", token: token, json: #"{"profile":{"validity":{"type":"Duration","duration":"1y"}}}"#)
            #expect(leafProfile.status == .badRequest)
            #expect(try leafProfile.json()["err"] == "the CA issuance profile must have sign_as_ca true")
            let short = try await client.send(
                .post, "/api/ca/v1/cas/mine/reissue", token: token, json: #"{"profile":{"validity":{"type":"Duration","duration":"30d"},"sign_as_ca":true}}"#)
            #expect(short.status == .badRequest)
            #expect(try short.json()["err"]?.stringValue?.contains("before CA 'mine-sub' below it") == true, "\(short.text)")
            #expect(try await api.get("/api/ca/v1/cas/mine")["serial_number"] == after["serial_number"], "nothing changed")
            // After its parent's reissue, a child's reissue names the parent's new certificate.
            let mineAgain = try await client.send(.post, "/api/ca/v1/cas/mine/reissue", token: token, json: "{}").json()
            let subAgain = try await client.send(.post, "/api/ca/v1/cas/mine-sub/reissue", token: token, json: "{}").json()
            #expect(subAgain["certificate"]?["issuer_metadata"]?["serial_number"] == mineAgain["serial_number"])
            // An INACTIVE CA stays INACTIVE: a reissue gives it a certificate, not its signing back.
            _ = try await api.status("/api/ca/v1/cas/mine-sub/status", "INACTIVE")
            let inactiveReissued = try await client.send(.post, "/api/ca/v1/cas/mine-sub/reissue", token: token, json: "{}")
            #expect(inactiveReissued.status == .ok, "\(inactiveReissued.text)")
            #expect(try inactiveReissued.json()["certificate"]?["status"] == "INACTIVE")
            let refusedSign = try await api.sign(ca: "mine-sub", csr: try TestPKI.csr(commonName: "dev-3", key: try TestPKI.key("ECDSA", 256)))
            #expect(refusedSign.status == .conflict, "\(refusedSign.text)")
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    /// Imported CAs keep what relying parties find them by: a reissue keeps the key identifier
    /// openssl gave (SHA-1, not Shedu's SHA-256), so older certificates still chain and their CRL
    /// address still answers; a key certifies for one CA only; an intermediate whose issuer Shedu
    /// does not hold is not reissued as a root; deleting a keyless CA revokes what it certified.
    @Test(arguments: TestBackend.available)
    func importedCAsKeepTheirKeyIdentifierAndLineage(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        let work = try makeTemporaryFolder()
        let outside = OutsidePKI(folder: work)
        for root in ["root", "other-root"] { try outside.root(root, commonName: "Outside \(root)") }
        try outside.issue("int", commonName: "Outside Intermediate", by: "other-root", days: 1825, extensions: OutsidePKI.intermediate)
        // A second certificate for the root's key.
        _ = try openssl(["req", "-x509", "-new", "-key", "root.key", "-out", "root-twin.pem", "-subj", "/CN=Outside Twin", "-days", "365",
                         "-addext", "basicConstraints=critical,CA:TRUE"], in: work)
        @Sendable func base64(_ file: String) throws -> String { try outside.base64(file) }
        @Sendable func write(_ base64PEM: JSONValue?, to file: String) throws {
            try TestPKI.pem(fromAPI: try #require(base64PEM?.stringValue)).write(
                to: work.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            let imported = try await client.send(
                .post, "/api/ca/v1/cas/import", token: token,
                json: #"{"id":"outside","ca":"\#(try base64("root.pem"))","private_key":"\#(try base64("root.key"))","profile_id":"device-profile"}"#)
            #expect(imported.status == .created, "\(imported.text)")
            let keyIdentifier = try #require(try imported.json()["certificate"]?["subject_key_id"]?.stringValue)
            #expect(keyIdentifier.count == 40, "openssl's SHA-1 key identifier: \(keyIdentifier)")
            let leaf = try await api.sign(ca: "outside", csr: try TestPKI.csr(commonName: "older", key: try TestPKI.key("ECDSA", 256))).json()
            try write(leaf["certificate"], to: "older.pem")

            // Reissued: same key identifier, and the older certificate chains to the new one.
            let reissued = try await client.send(.post, "/api/ca/v1/cas/outside/reissue", token: token, json: "{}")
            #expect(reissued.status == .ok, "\(reissued.text)")
            #expect(try reissued.json()["certificate"]?["subject_key_id"]?.stringValue == keyIdentifier)
            try write(try reissued.json()["certificate"]?["certificate"], to: "reissued.pem")
            let chained = try runTool("openssl", ["verify", "-CAfile", "reissued.pem", "older.pem"], in: work)
            #expect(chained.output.contains("older.pem: OK"), "\(chained.output)\(chained.errors)")
            // The older certificate's CRL address answers, with its revocation, signed by the CA.
            _ = try await api.status("/api/ca/v1/certificates/\(leaf["serial_number"]!.stringValue!)/status", "REVOKED", reason: "KeyCompromise")
            let crl = try await client.send(.get, "/api/va/crl/\(keyIdentifier)")
            #expect(crl.status == .ok, "\(crl.text)")
            try Data(crl.body.readableBytesView).write(to: work.appendingPathComponent("outside.crl"))
            let crlText = try runTool(
                "openssl", ["crl", "-inform", "DER", "-in", "outside.crl", "-CAfile", "reissued.pem", "-verify", "-noout", "-text"], in: work)
            #expect(crlText.errors.contains("verify OK"), "\(crlText.errors)")
            #expect(crlText.output.uppercased().contains(leaf["serial_number"]!.stringValue!.uppercased()))

            // One key, one CA: neither a new CA on the key nor another certificate of it.
            let keyID = try runTool("sh", ["-c", "openssl pkey -in root.key -pubout -outform DER | sha256sum | cut -c1-64"], in: work).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try await client.send(.get, "/api/kms/v1/keys/\(keyID)", token: token).status == .ok, "the KMS key id is SHA-256 of the SPKI")
            let onSameKey = try await client.send(
                .post, "/api/ca/v1/cas", token: token,
                json: #"{"id":"twin","subject":{"common_name":"Twin"},"key_metadata":{"key_id":"\#(keyID)"},"ca_expiration":{"type":"Duration","duration":"1y"}}"#)
            #expect(onSameKey.status == .conflict)
            #expect(try onSameKey.json()["err"]?.stringValue?.contains("already the key of CA 'outside'") == true, "\(onSameKey.text)")
            let twin = try await client.send(
                .post, "/api/ca/v1/cas/import", token: token,
                json: #"{"id":"twin","ca":"\#(try base64("root-twin.pem"))","private_key":"\#(try base64("root.key"))"}"#)
            #expect(twin.status == .conflict)
            #expect(try twin.json()["err"]?.stringValue?.contains("already the key of CA 'outside'") == true, "\(twin.text)")
            #expect(try await client.send(.get, "/api/ca/v1/cas/twin", token: token).status == .notFound)

            // An intermediate whose root Shedu does not hold is not reissued (it would become self-signed).
            let orphan = try await client.send(
                .post, "/api/ca/v1/cas/import", token: token,
                json: #"{"id":"int","ca":"\#(try base64("int.pem"))","private_key":"\#(try base64("int.key"))","profile_id":"device-profile"}"#)
            #expect(orphan.status == .created, "\(orphan.text)")
            let orphanSerial = try orphan.json()["serial_number"]
            let refused = try await client.send(.post, "/api/ca/v1/cas/int/reissue", token: token, json: "{}")
            #expect(refused.status == .conflict)
            #expect(try refused.json()["err"]?.stringValue?.contains("only its issuer can give it a new certificate") == true, "\(refused.text)")
            #expect(try await api.get("/api/ca/v1/cas/int")["serial_number"] == orphanSerial, "the refusal changed nothing")

            // Its root arrives without key; deleting that root revokes the intermediate and its leaf.
            let otherRoot = try await client.send(.post, "/api/ca/v1/cas/import", token: token, json: #"{"id":"other-root","ca":"\#(try base64("other-root.pem"))"}"#)
            #expect(otherRoot.status == .created, "\(otherRoot.text)")
            #expect(try await api.get("/api/ca/v1/cas/int")["certificate"]?["issuer_metadata"]?["id"] == "other-root")
            let device = try await api.sign(ca: "int", csr: try TestPKI.csr(commonName: "below", key: try TestPKI.key("ECDSA", 256))).json()
            #expect(try await client.send(.delete, "/api/ca/v1/cas/other-root", token: token).status == .noContent)
            let intermediate = try await api.get("/api/ca/v1/cas/int")
            #expect(intermediate["certificate"]?["status"] == "REVOKED")
            #expect(intermediate["certificate"]?["revocation_reason"] == "CessationOfOperation")
            let below = try await api.get("/api/ca/v1/certificates/\(device["serial_number"]!.stringValue!)")
            #expect(below["status"] == "REVOKED")
            #expect(below["revocation_reason"] == "CessationOfOperation")
            // and relying parties see it at once in the intermediate's CRL.
            let intermediateCRL = try await client.send(.get, "/api/va/crl/\(intermediate["certificate"]!["subject_key_id"]!.stringValue!)")
            #expect(intermediateCRL.status == .ok, "\(intermediateCRL.text)")
            try Data(intermediateCRL.body.readableBytesView).write(to: work.appendingPathComponent("int.crl"))
            let intermediateCRLText = try runTool("openssl", ["crl", "-inform", "DER", "-in", "int.crl", "-noout", "-text"], in: work)
            #expect(intermediateCRLText.output.uppercased().contains(device["serial_number"]!.stringValue!.uppercased()), "\(intermediateCRLText.output)")
            #expect(try await api.get("/api/ca/v1/cas/outside")["certificate"]?["status"] == "ACTIVE", "another hierarchy is untouched")
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    /// A profile that a CA or a DMS issues with cannot be deleted from under it.
    @Test(arguments: TestBackend.available)
    func profilesInUseAreNotDeleted(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            for id in ["for-ca", "for-dms", "unused"] {
                try await api.createProfile(#"{"id":"\#(id)","validity":{"type":"Duration","duration":"30d"}}"#)
            }
            try await api.createCA(id: "ca", expiration: "1y", profileID: "for-ca")
            let dms = try await client.send(
                .post, "/api/dmsmanager/v1/dms", token: token,
                json: #"{"id":"line-7","settings":{"enrollment_settings":{"protocol":"EST_RFC7030","enrollment_ca":"ca","registration_mode":"JITP","est_rfc7030_settings":{"auth_mode":"NO_AUTH"}},"issuance_profile_id":"for-dms"}}"#)
            #expect(dms.status == .created, "\(dms.text)")
            for (profile, user) in [("for-ca", "CA 'ca'"), ("for-dms", "DMS 'line-7'")] {
                let refused = try await client.send(.delete, "/api/ca/v1/profiles/\(profile)", token: token)
                #expect(refused.status == .conflict)
                #expect(try refused.json()["err"]?.stringValue?.contains("is the profile of \(user)") == true, "\(refused.text)")
                #expect(try await client.send(.get, "/api/ca/v1/profiles/\(profile)", token: token).status == .ok)
            }
            #expect(try await client.send(.delete, "/api/ca/v1/profiles/unused", token: token).status == .noContent)
        }
        await app.cleanup()
    }

    /// A deleted CA's certificates: a CA imported again with its key takes them back (its CRL
    /// lists their revocations again, OCSP knows them), and a new CA that only reuses its id does not.
    @Test(arguments: TestBackend.available)
    func aCAImportedAgainTakesBackWhatItsKeySigned(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        let work = try makeTemporaryFolder()
        _ = try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root.key"], in: work)
        for name in ["first.pem", "again.pem"] {
            _ = try openssl(["req", "-x509", "-key", "root.key", "-out", name, "-subj", "/CN=Outside Root", "-days", "3650",
                             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], in: work)
        }
        @Sendable func base64(_ file: String) throws -> String {
            try Data(contentsOf: work.appendingPathComponent(file)).base64EncodedString()
        }
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            func importRoot(_ id: String, _ file: String) async throws -> JSONValue {
                let imported = try await client.send(
                    .post, "/api/ca/v1/cas/import", token: token,
                    json: #"{"id":"\#(id)","ca":"\#(try base64(file))","private_key":"\#(try base64("root.key"))","profile_id":"device-profile"}"#)
                #expect(imported.status == .created, "\(imported.text)")
                return try imported.json()
            }
            let ski = try #require(try await importRoot("outside", "first.pem")["certificate"]?["subject_key_id"]?.stringValue)
            let signed = try await api.sign(ca: "outside", csr: try TestPKI.csr(commonName: "d-1", key: try TestPKI.key("ECDSA", 256)))
            let leaf = try #require(try signed.json()["serial_number"]?.stringValue)
            _ = try await api.createCA(id: "outside-sub", parent: "outside", expiration: "1y")
            _ = try await api.status("/api/ca/v1/certificates/\(leaf)/status", "REVOKED", reason: "KeyCompromise")
            _ = try await api.status("/api/ca/v1/cas/outside/status", "REVOKED")
            #expect(try await client.send(.delete, "/api/ca/v1/cas/outside", token: token).status == .noContent)

            // The same key and name, a new certificate, a new id.
            _ = try await importRoot("outside-again", "again.pem")
            let taken = try await api.get("/api/ca/v1/certificates/\(leaf)")
            #expect(taken["issuer_metadata"]?["id"] == "outside-again")
            #expect(taken["status"] == "REVOKED" && taken["revocation_reason"] == "KeyCompromise")
            let crl = try await client.send(.get, "/api/va/crl/\(ski)")
            #expect(crl.status == .ok)
            let entries = try CertificateRevocationList(derEncoded: Array(crl.body.readableBytesView)).entries
            #expect(entries.contains { $0.serialNumber.hexString == leaf }, "the revoked leaf is on the CRL again")
            // Its subordinate CA too: it pointed at the deleted id.
            let sub = try await api.get("/api/ca/v1/cas/outside-sub")
            #expect(sub["certificate"]?["issuer_metadata"]?["id"] == "outside-again", "\(sub)")
            #expect(sub["level"] == 1)

            // A new CA that only reuses an id does not take what the old one issued.
            try await api.createCA(id: "reused", expiration: "5y", profileID: "device-profile")
            let old = try #require(try await api.sign(ca: "reused", csr: try TestPKI.csr(commonName: "d-2", key: try TestPKI.key("ECDSA", 256))).json()["serial_number"]?.stringValue)
            _ = try await api.createCA(id: "reused-sub", parent: "reused", expiration: "1y")
            _ = try await api.status("/api/ca/v1/cas/reused/status", "REVOKED")
            #expect(try await client.send(.delete, "/api/ca/v1/cas/reused", token: token).status == .noContent)
            try await api.createCA(id: "reused", expiration: "5y", profileID: "device-profile")
            #expect(try await api.get("/api/ca/v1/certificates/\(old)")["issuer_metadata"]?["id"] == "-")
            // Nor its subordinate CA (which was listed, counted and put on the new CA's CRL).
            #expect(try await api.get("/api/ca/v1/cas/reused-sub")["certificate"]?["issuer_metadata"]?["id"] == "-")
            let counts = try await api.get("/api/ca/v1/stats/reused")
            #expect(counts["REVOKED"] == 0 && counts["ACTIVE"] == 0, "\(counts)")
            #expect(try await api.get("/api/ca/v1/cas/reused/certificates")["list"]?.arrayValue?.isEmpty == true)
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    /// A revoked CA that a DMS still names is not deleted: the DMS would answer EST with 404.
    @Test(arguments: TestBackend.available)
    func casNamedByADMSAreNotDeleted(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            for id in ["issuing", "validator", "unused"] { try await api.createCA(id: id, expiration: "1y") }
            let dms = try await client.send(
                .post, "/api/dmsmanager/v1/dms", token: token,
                json: #"{"id":"line-7","settings":{"enrollment_settings":{"protocol":"EST_RFC7030","enrollment_ca":"issuing","registration_mode":"JITP","est_rfc7030_settings":{"auth_mode":"CLIENT_CERTIFICATE","client_certificate_settings":{"validation_cas":["validator"]}}}}}"#)
            #expect(dms.status == .created, "\(dms.text)")
            for id in ["issuing", "validator", "unused"] { _ = try await api.status("/api/ca/v1/cas/\(id)/status", "REVOKED") }
            for (ca, field) in [
                ("issuing", "settings.enrollment_settings.enrollment_ca"),
                ("validator", "settings.enrollment_settings.est_rfc7030_settings.client_certificate_settings.validation_cas[0]"),
            ] {
                let refused = try await client.send(.delete, "/api/ca/v1/cas/\(ca)", token: token)
                #expect(refused.status == .conflict)
                #expect(try refused.json()["err"]?.stringValue == "CA '\(ca)' is named by DMS 'line-7' in \(field); change or delete that DMS first")
                #expect(try await client.send(.get, "/api/ca/v1/cas/\(ca)", token: token).status == .ok, "nothing deleted")
            }
            #expect(try await client.send(.delete, "/api/ca/v1/cas/unused", token: token).status == .noContent)
            #expect(try await client.send(.delete, "/api/dmsmanager/v1/dms/line-7", token: token).status == .noContent)
            for ca in ["issuing", "validator"] {
                #expect(try await client.send(.delete, "/api/ca/v1/cas/\(ca)", token: token).status == .noContent)
            }
        }
        await app.cleanup()
    }

    @Test func serverSideKeysImportsStatsAndExpirationWindows() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "ca", expiration: "5y", profileID: "device-profile")
            let made = try await client.send(
                .post, "/api/ca/v1/certificates", token: token,
                json: #"{"ca_id":"ca","key_spec":{"type":"RSA","bits":2048},"subject":{"common_name":"gateway-1"},"metadata":{"site":"a"}}"#)
            #expect(made.status == .created, "\(made.text)")
            let certificate = try made.json()
            #expect(certificate["type"] == "MANAGED")
            #expect(certificate["engine_id"] == "software")
            #expect(certificate["metadata"] == ["site": "a"])
            let key = try await api.get("/api/kms/v1/keys/\(certificate["subject_key_id"]!.stringValue!)")
            #expect(key["algorithm"] == "RSA")
            #expect(!key.jsonText().contains("PRIVATE"))

            // Importing a certificate Shedu issued recognizes its CA; a foreign one has no known issuer.
            let pem = try TestPKI.pem(fromAPI: certificate["certificate"]!.stringValue!)
            #expect(try await client.send(.post, "/api/ca/v1/certificates/import", token: token,
                                          json: #"{"certificate":"\#(Data(pem.utf8).base64EncodedString())"}"#).status == .conflict)
            let foreign = try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null", "-subj", "/CN=foreign", "-days", "30"])
            let imported = try await client.send(.post, "/api/ca/v1/certificates/import", token: token,
                                                 json: #"{"certificate":"\#(Data(foreign.utf8).base64EncodedString())","metadata":{"from":"elsewhere"}}"#)
            #expect(imported.status == .created, "\(imported.text)")
            #expect(try imported.json()["type"] == "IMPORTED_WITHOUT_KEY")

            // The expiration window: the RSA certificate (1 year) is in it, the CA (5 years) is not.
            let window = try await api.get("/api/ca/v1/certificates/expiration?expires_after=2026-01-01T00:00:00Z&expires_before=\(RFC3339.format(Date().addingTimeInterval(400 * 86_400)))")
            let serials = window["list"]?.arrayValue?.compactMap { $0["serial_number"]?.stringValue } ?? []
            let foreignSerial = try imported.json()["serial_number"]?.stringValue
            #expect(serials == [foreignSerial, certificate["serial_number"]?.stringValue], "the foreign (30 days) then the RSA (1 year): soonest expiry first")
            // A page at a time, the bookmarks keep the window: the CA (5 years) never comes.
            let paged = try await api.all("/api/ca/v1/certificates/expiration?page_size=1&expires_after=2026-01-01T00:00:00Z&expires_before=\(RFC3339.format(Date().addingTimeInterval(400 * 86_400)))")
            #expect(paged.compactMap { $0["serial_number"]?.stringValue } == serials)
            let badWindow = try await client.send(.get, "/api/ca/v1/certificates/expiration?expires_before=soon", token: token)
            #expect(badWindow.status == .badRequest)

            let stats = try await api.get("/api/ca/v1/stats")
            #expect(stats["cas"]?["total"] == 1)
            #expect(stats["cas"]?["engine_distribution"] == ["software": 1])
            #expect(stats["certificates"]?["total"] == 3)
            #expect(stats["certificates"]?["status_distribution"] == ["ACTIVE": 3, "EXPIRED": 0, "REVOKED": 0, "INACTIVE": 0])
            // Lamassu's ca_filter and cert_filter narrow what is counted.
            let leaves = try await api.get("/api/ca/v1/stats?cert_filter=is_ca[eq]false&cert_filter=key_metadata.type[eq]RSA&ca_filter=id[eq]none")
            #expect(leaves["certificates"]?["total"] == 1)
            #expect(leaves["certificates"]?["status_distribution"] == ["ACTIVE": 1, "EXPIRED": 0, "REVOKED": 0, "INACTIVE": 0])
            #expect(leaves["cas"]?["total"] == 0)
            #expect(leaves["cas"]?["engine_distribution"] == ["software": 0], "every configured engine, as Lamassu lists them")
            let issued = try await api.get("/api/ca/v1/stats/ca?cert_filter=subject.common_name[eq]gateway-1")
            #expect(issued == ["ACTIVE": 1, "EXPIRED": 0, "REVOKED": 0, "INACTIVE": 0])
            #expect(try await api.get("/api/ca/v1/stats/ca?cert_filter=subject.common_name[eq]nobody")["ACTIVE"] == 0)
            let unknownField = try await client.send(.get, "/api/ca/v1/stats?cert_filter=colour[eq]red", token: token)
            #expect(unknownField.status == .badRequest)
            #expect(try unknownField.json()["err"]?.stringValue?.contains("colour") == true, "\(unknownField.text)")
            let byStatus = try await api.get("/api/ca/v1/certificates/status/active")
            #expect(byStatus["list"]?.arrayValue?.count == 3)
            let byCN = try await api.get("/api/ca/v1/cas/cn/ca")
            #expect(byCN["list"]?.arrayValue?.count == 1)
            let metadata = try await client.send(.patch, "/api/ca/v1/cas/ca/metadata", token: token, json: #"{"owner":"ops"}"#)
            #expect(try metadata.json()["metadata"] == ["owner": "ops"])
            let filtered = try await api.get("/api/ca/v1/certificates?filter=key_metadata.type[eq]RSA&filter=metadata[jsonpath]$.site == \"a\"")
            #expect(filtered["list"]?.arrayValue?.count == 1)

            // A key the KMS already holds, by key_identifier (id or alias): certified, not replaced.
            let held = try await client.send(.post, "/api/kms/v1/keys", token: token, json: #"{"algorithm":"ECDSA","size":384,"name":"held"}"#)
            let heldID = try #require(try held.json()["key_id"]?.stringValue)
            for spec in [#"{"key_identifier":"\#(heldID)"}"#, #"{"type":"ECDSA","bits":384,"key_identifier":"\#(heldID)"}"#] {
                let reused = try await client.send(
                    .post, "/api/ca/v1/certificates", token: token, json: #"{"ca_id":"ca","key_spec":\#(spec),"subject":{"common_name":"gateway-2"}}"#)
                #expect(reused.status == .created, "\(reused.text)")
                #expect(try reused.json()["subject_key_id"]?.stringValue == heldID, "\(reused.text)")
                #expect(try reused.json()["type"] == "MANAGED")
            }
            let caKey = try #require(try await api.get("/api/ca/v1/cas/ca")["certificate"]?["subject_key_id"]?.stringValue)
            let before = try await api.get("/api/ca/v1/stats")["certificates"]?["total"]
            let refusals = [
                (#"{"type":"RSA","bits":2048,"key_identifier":"\#(heldID)"}"#, "key_spec: type and bits describe a new key, key_identifier an existing one (ECDSA 384); give one or the other"),
                (#"{"key_identifier":"\#(caKey)"}"#, "key_spec.key_identifier: key '\(caKey)' is the key of CA 'ca', which certifies that CA only"),
                (#"{"bits":256}"#, "key_spec needs type (and bits) for a new key, or key_identifier for a key the KMS holds"),
            ]
            for (spec, message) in refusals {
                let refused = try await client.send(
                    .post, "/api/ca/v1/certificates", token: token, json: #"{"ca_id":"ca","key_spec":\#(spec),"subject":{"common_name":"gateway-3"}}"#)
                #expect(refused.status == .badRequest, "\(spec): \(refused.text)")
                #expect(try refused.json()["err"]?.stringValue == message, "\(refused.text)")
            }
            let unknown = try await client.send(
                .post, "/api/ca/v1/certificates", token: token, json: #"{"ca_id":"ca","key_spec":{"key_identifier":"nope"},"subject":{"common_name":"gateway-3"}}"#)
            #expect(unknown.status == .notFound, "\(unknown.text)")
            #expect(try await api.get("/api/ca/v1/stats")["certificates"]?["total"] == before, "nothing issued")
        }
        await app.cleanup()
    }
}
