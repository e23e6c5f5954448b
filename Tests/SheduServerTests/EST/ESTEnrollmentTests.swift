import Foundation
import SheduCore
import SheduPKI
import SheduTestSupport
import Testing
import X509

@testable import SheduServer

@Suite("EST over mutual TLS: enrollment, re-enrollment, server key generation")
struct ESTEnrollmentTests {
    /// A device with a factory certificate enrolls, shows up ACTIVE, re-enrolls with its new
    /// identity, and gets a key made for it — all over TLS with client certificates.
    @Test(arguments: TestBackend.available)
    func aDeviceEnrollsReenrollsAndGetsAServerKey(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        try await app.withESTWorld { world in
            let (server, caPath) = (world.server, world.caPath)
            try await world.createDMS("factory-dms")

            // cacerts: the enrollment CA's chain up to its root, no client certificate needed.
            let cacerts = try await server.request(.GET, "/.well-known/est/factory-dms/cacerts")
            #expect(cacerts.status == 200, "\(cacerts.text)")
            #expect(try ESTReply.certificates(cacerts).map(ESTReply.commonName).sorted() == ["issuing-ca-01", "root-ca"])
            let pem = try await server.request(.GET, "/.well-known/est/factory-dms/cacerts", headers: [("Accept", "application/x-pem-file")])
            #expect(pem.text.components(separatedBy: "-----BEGIN CERTIFICATE-----").count == 3)
            // A revoked CA is no trust anchor to hand out, managed or not.
            try await world.createCA("retired-ca")
            try await world.createDMS("distributing-dms", [("ca_distribution_settings", "managed_cas", ["retired-ca"])])
            let withRetired = try await server.request(.GET, "/.well-known/est/distributing-dms/cacerts")
            #expect(try ESTReply.certificates(withRetired).map(ESTReply.commonName).sorted() == ["issuing-ca-01", "retired-ca", "root-ca"])
            try await world.post("/api/ca/v1/cas/retired-ca/status", #"{"status":"REVOKED"}"#, expect: 200)
            let withoutRetired = try await server.request(.GET, "/.well-known/est/distributing-dms/cacerts")
            #expect(try ESTReply.certificates(withoutRetired).map(ESTReply.commonName).sorted() == ["issuing-ca-01", "root-ca"])
            // With nothing left to hand out, the answer says why.
            try await world.createCA("lonely-ca")
            try await world.createDMS("lonely-dms", [("enrollment_settings", "enrollment_ca", "lonely-ca")])
            try await world.post("/api/ca/v1/cas/lonely-ca/status", #"{"status":"REVOKED","revocation_reason":"CertificateHold"}"#, expect: 200)
            let nothingLive = try await server.request(.GET, "/.well-known/est/lonely-dms/cacerts")
            #expect(nothingLive.status == 404)
            #expect(nothingLive.text.contains("its CAs are revoked or expired: 'lonely-ca' (REVOKED)"), "\(nothingLive.text)")

            // Enroll with the bootstrap certificate.
            var device = try TestDevice("sensor-1")
            try await world.bootstrap(&device)
            let bootstrapClient = try device.client(server, caCertificatePath: caPath)
            let operational = try SigningKey.generate(try KeySpec(algorithm: .ecdsa, bits: 256))
            let enrolled = try await bootstrapClient.est("/.well-known/est/factory-dms/simpleenroll", csr: try device.csrBody(key: operational))
            #expect(enrolled.status == 200, "\(enrolled.text)")
            let issued = try #require(try ESTReply.certificates(enrolled).first)
            #expect(ESTReply.commonName(issued) == "sensor-1")
            #expect(issued.publicKey == operational.publicKey)
            #expect(Subject(issued.issuer).commonName == "issuing-ca-01")

            let registered = try await world.get("/api/devmanager/v1/devices/sensor-1")
            #expect(registered["status"] == "ACTIVE")
            #expect(registered["dms_owner"] == "factory-dms")
            #expect(registered["tags"] == ["est"], "JITP uses the DMS's provisioning profile")
            #expect(registered["identity_slot"]?["versions"]?["0"] == .string(issued.serialNumber.hexString))
            try await bootstrapClient.shutdown()

            // Re-enroll with the operational identity: a new version; the old one revoked (revoke_on_reenrollment).
            device.key = operational
            device.certificatePEM = PEMText.pem(derCertificate: issued.derBytes)
            let identityClient = try device.client(server, caCertificatePath: caPath)
            let renewed = try await identityClient.est("/.well-known/est/factory-dms/simplereenroll", csr: try device.csrBody())
            #expect(renewed.status == 200, "\(renewed.text)")
            let second = try #require(try ESTReply.certificates(renewed).first)
            #expect(second.serialNumber != issued.serialNumber)
            let after = try await world.get("/api/devmanager/v1/devices/sensor-1")
            #expect(after["identity_slot"]?["active_version"] == 1)
            #expect(after["status"] == "ACTIVE")
            let old = try await world.get("/api/ca/v1/certificates/\(issued.serialNumber.hexString)")
            #expect(old["status"] == "REVOKED")
            #expect(old["revocation_reason"] == "Superseded")

            // The superseded certificate no longer renews anything.
            let stale = try await identityClient.est("/.well-known/est/factory-dms/simplereenroll", csr: try device.csrBody())
            #expect(stale.status == 401 || stale.status == 403, "\(stale.text)")
            try await identityClient.shutdown()

            // Renewals sent at once with the current certificate: one wins (each passed the check
            // made before the write, and every one took a new identity).
            device.certificatePEM = PEMText.pem(derCertificate: second.derBytes)
            let racers = try (0..<6).map { _ in try device.client(server, caCertificatePath: caPath) }
            let csr = try device.csrBody()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for racer in racers {
                    group.addTask { try await racer.est("/.well-known/est/factory-dms/simplereenroll", csr: csr).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for racer in racers { try await racer.shutdown() }
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 403 || $0 == 401 }, "\(statuses)")
            #expect(try await world.get("/api/devmanager/v1/devices/sensor-1")["identity_slot"]?["active_version"] == 2)

            // Server key generation through the alias path: key and certificate in a multipart answer.
            var other = try TestDevice("sensor-2")
            try await world.bootstrap(&other)
            let otherClient = try other.client(server, caCertificatePath: caPath)
            let made = try await otherClient.est("/api/dmsmanager/.well-known/est/factory-dms/serverkeygen", csr: try other.csrBody())
            try await otherClient.shutdown()
            #expect(made.status == 200, "\(made.text)")
            #expect(made.header("Content-Type")?.hasPrefix("multipart/mixed; boundary=") == true)
            #expect(made.header("Cache-Control") == "no-store", "the answer holds a private key")
            let parts = made.text.components(separatedBy: "--estServerKeyGenBoundary").dropFirst().filter { !$0.hasPrefix("--") }
            #expect(parts.count == 2)
            let keyPart = try #require(parts.first { $0.contains("application/pkcs8") })
            let certificatePart = try #require(parts.first { $0.contains("application/pkcs7-mime") })
            func body(_ part: String) -> String {
                part.components(separatedBy: "\r\n\r\n").last!.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let keyDER = try #require(Data(base64Encoded: body(keyPart)))
            let madeKey = try SigningKey(pemEncoded: PEMText.pem(derCertificate: Array(keyDER), discriminator: "PRIVATE KEY"))
            let certificateDER = try #require(Data(base64Encoded: body(certificatePart)))
            let madeCertificate = try #require(try CMSCertificatesOnly.certificates(fromDER: Array(certificateDER)).first)
            #expect(madeCertificate.publicKey == madeKey.publicKey, "the certificate is for the key handed out")
            #expect(ESTReply.commonName(madeCertificate) == "sensor-2")
            #expect(try await world.get("/api/devmanager/v1/devices/sensor-2")["status"] == "ACTIVE")
            let keyFile = app.folder.appendingPathComponent("made.der")
            try keyDER.write(to: keyFile)
            _ = try openssl(["pkey", "-inform", "DER", "-in", keyFile.path, "-noout"])

            // An identity on hold is the operator's suspension: the device does not step round it
            // by enrolling again with its bootstrap certificate, and the hold stays a hold.
            let heldSerial = madeCertificate.serialNumber.hexString
            let hold = try await server.request(
                .PUT, "/api/ca/v1/certificates/\(heldSerial)/status", token: world.token, body: #"{"status":"REVOKED","revocation_reason":"CertificateHold"}"#)
            #expect(hold.status == 200, "\(hold.text)")
            let bypass = try other.client(server, caCertificatePath: caPath)
            let refused = try await bypass.est("/.well-known/est/factory-dms/simpleenroll", csr: try other.csrBody())
            try await bypass.shutdown()
            #expect(refused.status == 403, "\(refused.text)")
            #expect(refused.text.contains("has its identity on hold (certificate \(heldSerial))"), "\(refused.text)")
            #expect(try await world.get("/api/ca/v1/certificates/\(heldSerial)")["revocation_reason"] == "CertificateHold")
        }
        await app.cleanup()
    }

    /// Every refusal is a 4xx that says why, and leaves no device, certificate or slot behind.
    @Test func refusalsSayWhyAndLeaveNothingBehind() async throws {
        let app = try await TestApp.make()
        try await app.withESTWorld { world in
            let (server, caPath) = (world.server, world.caPath)
            try await world.createDMS("factory-dms")
            try await world.createDMS("strict-dms", [
                ("enrollment_settings", "registration_mode", "PRE_REGISTRATION"),
                ("enrollment_settings", "enable_replaceable_enrollment", false), ("server_keygen_settings", "enabled", false),
            ])
            try await world.createCA("other-factory-ca", profile: "bootstrap")
            // Enrolling at root-ca, which has no default profile, with no profile of its own.
            try await world.createDMS("profileless-dms", [("enrollment_settings", "enrollment_ca", "root-ca")])
            // A server-made key its own profile would refuse: refused when the DMS is written.
            try await world.post("/api/ca/v1/profiles", #"{"id":"p384-only","validity":{"type":"Duration","duration":"30d"},"crypto_enforcement":{"enabled":true,"allow_ecdsa_keys":true,"allowed_ecdsa_key_sizes":[384]}}"#)
            let contradicting = try await world.post(
                "/api/dmsmanager/v1/dms",
                #"{"id":"p384-dms","settings":{"issuance_profile_id":"p384-only","enrollment_settings":{"enrollment_ca":"issuing-ca-01","registration_mode":"JITP","est_rfc7030_settings":{"auth_mode":"NO_AUTH"}},"server_keygen_settings":{"enabled":true,"key":{"type":"ECDSA","bits":256}}}}"#,
                expect: 400)
            #expect(contradicting["err"] == "settings.server_keygen_settings.key: the issuance profile accepts ECDSA keys of 384 bits, not 256")
            var device = try TestDevice("sensor-9")
            try await world.bootstrap(&device)
            var foreign = try TestDevice("sensor-9")
            try await world.bootstrap(&foreign, ca: "other-factory-ca")
            var revoked = try TestDevice("sensor-r")
            try await world.bootstrap(&revoked)
            let revokedSerial = try Certificate(pemEncoded: revoked.certificatePEM!).serialNumber.hexString
            try await world.post("/api/ca/v1/certificates/\(revokedSerial)/status", #"{"status":"REVOKED","revocation_reason":"KeyCompromise"}"#, expect: 200)

            let certificatesBefore = try await world.certificateCount()
            let anonymous = try TestDevice("sensor-9").client(server, caCertificatePath: caPath)
            let bootstrapped = try device.client(server, caCertificatePath: caPath)
            let untrusted = try foreign.client(server, caCertificatePath: caPath)
            let withRevoked = try revoked.client(server, caCertificatePath: caPath)
            let csr = try device.csrBody()
            let cases: [(LiveClient, String, String, String, Int, String)] = [
                (anonymous, "/.well-known/est/factory-dms/simpleenroll", csr, "application/pkcs10", 401, "requires a client certificate"),
                (untrusted, "/.well-known/est/factory-dms/simpleenroll", csr, "application/pkcs10", 401, "not trusted"),
                (withRevoked, "/.well-known/est/factory-dms/simpleenroll", try revoked.csrBody(), "application/pkcs10", 401, "REVOKED"),
                (bootstrapped, "/.well-known/est/factory-dms/simpleenroll", csr, "application/json", 415, "application/pkcs10"),
                (bootstrapped, "/.well-known/est/factory-dms/simpleenroll", "not base64 at all!", "application/pkcs10", 400, "base64"),
                (bootstrapped, "/.well-known/est/factory-dms/simpleenroll", Data("hello".utf8).base64EncodedString(), "application/pkcs10", 400, "PKCS#10"),
                (bootstrapped, "/.well-known/est/factory-dms/simpleenroll", try device.csrBody(commonName: ""), "application/pkcs10", 400, "common name"),
                // The common name becomes the device's id, a path segment of the inventory's API.
                (bootstrapped, "/.well-known/est/factory-dms/simpleenroll", try device.csrBody(commonName: "bay 4/x"), "application/pkcs10", 400, "cannot name a device"),
                (bootstrapped, "/.well-known/est/factory-dms/simpleenroll", try device.csrBody(commonName: " "), "application/pkcs10", 400, "cannot name a device"),
                (bootstrapped, "/.well-known/est/no-such-dms/simpleenroll", csr, "application/pkcs10", 404, "no-such-dms"),
                (bootstrapped, "/.well-known/est/simpleenroll", csr, "application/pkcs10", 404, "--est-default-dms"),
                (bootstrapped, "/.well-known/est/strict-dms/simpleenroll", csr, "application/pkcs10", 403, "PRE_REGISTRATION"),
                (bootstrapped, "/.well-known/est/strict-dms/serverkeygen", csr, "application/pkcs10", 403, "server-side key generation"),
                // Nothing the device can change: the DMS's settings are named.
                (bootstrapped, "/.well-known/est/profileless-dms/simpleenroll", csr, "application/pkcs10", 409,
                 "DMS 'profileless-dms' cannot issue: it names no issuance profile (settings.issuance_profile_id)"),
                // Renewals authenticate before the device is looked at: neither a client without a
                // certificate nor one with only a factory certificate learns whether it exists.
                (anonymous, "/.well-known/est/factory-dms/simplereenroll", csr, "application/pkcs10", 401, "requires a client certificate"),
                (bootstrapped, "/.well-known/est/factory-dms/simplereenroll", csr, "application/pkcs10", 401, "not trusted"),
            ]
            for (client, path, body, contentType, status, message) in cases {
                let reply = try await client.est(path, csr: body, contentType: contentType)
                #expect(reply.status == status, "\(path) → \(reply.status) \(reply.text)")
                let error = (try? reply.json())?["err"]?.stringValue ?? reply.text
                #expect(error.contains(message), "\(path): '\(error)' should say '\(message)'")
            }
            #expect(try await world.certificateCount() == certificatesBefore, "no certificate issued")
            #expect(try await world.deviceIDs() == [], "no device created")

            // A device registered to another DMS, and one that may not be replaced.
            try await world.post("/api/devmanager/v1/devices", #"{"id":"sensor-9","dms_id":"strict-dms"}"#)
            let elsewhere = try await bootstrapped.est("/.well-known/est/factory-dms/simpleenroll", csr: csr)
            #expect(elsewhere.status == 403, "\(elsewhere.text)")
            #expect((try? elsewhere.json())?["err"]?.stringValue?.contains("registered to DMS 'strict-dms'") == true)
            let first = try await bootstrapped.est("/.well-known/est/strict-dms/simpleenroll", csr: csr)
            #expect(first.status == 200, "a pre-registered device enrolls: \(first.text)")
            let second = try await bootstrapped.est("/.well-known/est/strict-dms/simpleenroll", csr: try device.csrBody())
            #expect(second.status == 403, "\(second.text)")
            #expect((try? second.json())?["err"]?.stringValue?.contains("enable_replaceable_enrollment") == true)
            let slot = try await world.get("/api/devmanager/v1/devices/sensor-9")["identity_slot"]
            #expect(slot?["versions"]?.objectValue?.count == 1, "the refused enrollment left no slot version")

            // An operational certificate of the enrollment CA authenticates a renewal of its own
            // device only (another name learns nothing of that device), in this DMS.
            var enrolled = device
            enrolled.certificatePEM = PEMText.pem(derCertificate: try #require(try ESTReply.certificates(first).first).derBytes)
            let operational = try enrolled.client(server, caCertificatePath: caPath)
            let renewals: [(String, String, String)] = [
                ("/.well-known/est/strict-dms/simplereenroll", try device.csrBody(commonName: "sensor-unknown"), "the client certificate is device 'sensor-9''s; it renews that device only, not 'sensor-unknown'"),
                ("/.well-known/est/factory-dms/simplereenroll", try device.csrBody(), "registered to DMS 'strict-dms'"),
            ]
            for (path, body, message) in renewals {
                let reply = try await operational.est(path, csr: body)
                #expect(reply.status == 403, "\(path) → \(reply.status) \(reply.text)")
                #expect((try? reply.json())?["err"]?.stringValue?.contains(message) == true, "\(path): \(reply.text)")
            }
            // Nor is a revoked identity replaced: a factory certificate would undo the revocation.
            let operationalSerial = try Certificate(pemEncoded: enrolled.certificatePEM!).serialNumber.hexString
            try await world.post("/api/ca/v1/certificates/\(operationalSerial)/status", #"{"status":"REVOKED","revocation_reason":"KeyCompromise"}"#, expect: 200)
            #expect(try await world.get("/api/devmanager/v1/devices/sensor-9")["status"] == "REVOKED")
            let afterRevocation = try await bootstrapped.est("/.well-known/est/strict-dms/simpleenroll", csr: try device.csrBody())
            #expect(afterRevocation.status == 403, "\(afterRevocation.text)")
            #expect(
                (try? afterRevocation.json())?["err"]?.stringValue?.hasSuffix("(enable_replaceable_enrollment); its identity is REVOKED") == true,
                "\(afterRevocation.text)")
            #expect(try await world.get("/api/devmanager/v1/devices/sensor-9")["status"] == "REVOKED")
            try await operational.shutdown()
            for client in [anonymous, bootstrapped, untrusted, withRevoked] { try await client.shutdown() }
        }
        await app.cleanup()
    }

    /// Re-enrollment only inside the window before expiry (or after it, when allowed), with the
    /// same subject; a rotated enrollment CA is accepted through additional_validation_cas.
    @Test func reenrollmentFollowsTheWindowAndTheSubject() async throws {
        var app = try await TestApp.make()
        let clock = ManualClock()
        app.clock = clock
        let token = try await app.token(.admin, lifetime: .days(400))
        let caPath = app.dataFolder.caCertificate.path
        try await app.withLiveServer { server in
            let world = try await ESTWorld.make(server: server, token: token, caPath: caPath)
            try await world.createDMS("factory-dms", [
                ("reenrollment_settings", "reenrollment_delta", "7d"), ("reenrollment_settings", "revoke_on_reenrollment", false),
            ])
            var device = try TestDevice("meter-1")
            try await world.bootstrap(&device)
            let bootstrapClient = try device.client(server, caCertificatePath: caPath)
            let operational = try TestPKI.key("ECDSA", 256)
            let enrolled = try await bootstrapClient.est("/.well-known/est/factory-dms/simpleenroll", csr: try device.csrBody(key: operational))
            try await bootstrapClient.shutdown()
            let issued = try #require(try ESTReply.certificates(enrolled).first)
            device.key = operational
            device.certificatePEM = PEMText.pem(derCertificate: issued.derBytes)
            let client = try device.client(server, caCertificatePath: caPath)

            // Another device's name: refused alike whether that device exists or not.
            for other in ["meter-2", "no-such-meter"] {
                let elsewhere = try await client.est("/.well-known/est/factory-dms/simplereenroll", csr: try device.csrBody(commonName: other))
                #expect(elsewhere.status == 403, "\(elsewhere.text)")
                #expect((try? elsewhere.json())?["err"]?.stringValue == "the client certificate is device 'meter-1''s; it renews that device only, not '\(other)' (the CSR's common name)")
            }
            let early = try await client.est("/.well-known/est/factory-dms/simplereenroll", csr: try device.csrBody())
            #expect(early.status == 403, "\(early.text)")
            #expect((try? early.json())?["err"]?.stringValue?.contains("opens at") == true)

            clock.advance(by: 24 * 86_400)
            let inWindow = try await client.est("/.well-known/est/factory-dms/simplereenroll", csr: try device.csrBody())
            #expect(inWindow.status == 200, "inside the window: \(inWindow.text)")
            // The replaced certificate no longer names the device (as in Lamassu), and stays ACTIVE
            // (revoke_on_reenrollment false); the new one does.
            let replaced = try await world.get("/api/ca/v1/certificates/\(issued.serialNumber.hexString)")
            #expect(replaced["status"] == "ACTIVE")
            #expect(replaced["metadata"]?["lamassu.io/ra/attached-to"] == nil, "\(replaced)")
            #expect(replaced["metadata"]?["lamassu.io/ca/expiration-deltas"] == nil)
            let renewal = try #require(try ESTReply.certificates(inWindow).first)
            let attached = try await world.get("/api/ca/v1/certificates/\(renewal.serialNumber.hexString)")["metadata"]
            #expect(attached?["lamassu.io/ra/attached-to"]?["device_id"] == "meter-1")

            // After expiry, without enable_expired_renewal, the current certificate cannot renew.
            let current = try #require(try ESTReply.certificates(inWindow).first)
            device.certificatePEM = PEMText.pem(derCertificate: current.derBytes)
            let renewedClient = try device.client(server, caCertificatePath: caPath)
            clock.advance(by: 31 * 86_400)
            let expired = try await renewedClient.est("/.well-known/est/factory-dms/simplereenroll", csr: try device.csrBody())
            #expect(expired.status == 401 || expired.status == 403, "\(expired.text)")
            #expect((try? expired.json())?["err"]?.stringValue?.contains("expired") == true, "\(expired.text)")
            try await client.shutdown()
            try await renewedClient.shutdown()
        }
        await app.cleanup()
    }

    /// A renewal keeps the names of the certificate it renews (RFC 7030 §4.2.2): the subject, also
    /// when the client writes it as PrintableString where the certificate holds UTF8String (Lamassu
    /// compares the fields), and the subject alternative names, which the profile here copies.
    @Test func renewalsKeepTheirNames() async throws {
        let app = try await TestApp.make()
        try await app.withESTWorld { world in
            try await world.createDMS("factory-dms")  // 30-day certificates, renewable at once
            var device = try TestDevice("meter-1")
            try await world.bootstrap(&device)
            let bootstrapClient = try device.client(world.server, caCertificatePath: world.caPath)
            let operational = try TestPKI.key("ECDSA", 256)
            let ownName = "meter-1.fleet.example"
            let enrolled = try await bootstrapClient.est(
                "/.well-known/est/factory-dms/simpleenroll",
                csr: try TestPKI.csr(commonName: "meter-1", key: operational, dnsNames: [ownName]))
            try await bootstrapClient.shutdown()
            let issued = try #require(try ESTReply.certificates(enrolled).first)
            device.key = operational
            device.certificatePEM = PEMText.pem(derCertificate: issued.derBytes)
            let client = try device.client(world.server, caCertificatePath: world.caPath)
            let before = try await world.certificateCount()

            for (names, shown) in [(["bank.example.com"], "DNS:bank.example.com"), ([], "none")] {
                let renamed = try await client.est(
                    "/.well-known/est/factory-dms/simplereenroll",
                    csr: try TestPKI.csr(commonName: "meter-1", key: try TestPKI.key("ECDSA", 256), dnsNames: names))
                #expect(renamed.status == 400, "\(renamed.text)")
                let message = (try? renamed.json())?["err"]?.stringValue ?? ""
                #expect(message.contains("subject alternative names (\(shown))") && message.contains("(DNS:\(ownName))"), "\(message)")
            }
            // The same first fields with one more common name is another subject.
            let widened = try await client.est(
                "/.well-known/est/factory-dms/simplereenroll",
                csr: try TestPKI.csr(
                    commonName: "meter-1", key: try TestPKI.key("ECDSA", 256), dnsNames: [ownName],
                    name: try DistinguishedName { CommonName("meter-1"); CommonName("admin") }))
            #expect(widened.status == 400, "\(widened.text)")
            #expect((try? widened.json())?["err"]?.stringValue?.contains("a renewal keeps its subject") == true, "\(widened.text)")
            #expect(try await world.certificateCount() == before, "a refused renewal issued nothing")

            let printable = try DistinguishedName([
                RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.commonName, printableString: "meter-1"))
            ])
            #expect(printable != issued.subject, "the request writes the name in another string type")
            let renewed = try await client.est(
                "/.well-known/est/factory-dms/simplereenroll",
                csr: try TestPKI.csr(commonName: "meter-1", key: try TestPKI.key("ECDSA", 256), dnsNames: [ownName], name: printable))
            #expect(renewed.status == 200, "\(renewed.text)")
            let renewal = try #require(try ESTReply.certificates(renewed).first)
            #expect(ESTReply.commonName(renewal) == "meter-1")
            #expect(Array(try #require(try renewal.extensions.subjectAlternativeNames)) == [.dnsName(ownName)])
            try await client.shutdown()

            // A profile that writes the subject takes only the common name from a CSR: the
            // device's usual request renews, although the certificate's subject holds more.
            try await world.post(
                "/api/ca/v1/profiles",
                #"{"id":"acme","validity":{"type":"Duration","duration":"30d"},"honor_subject":false,"subject":{"organization":"Acme"},"extended_key_usages":["ClientAuth"]}"#)
            try await world.createDMS("acme-dms", profileID: "acme")
            var gauge = try TestDevice("gauge-1")
            try await world.bootstrap(&gauge)
            let gaugeBootstrap = try gauge.client(world.server, caCertificatePath: world.caPath)
            let gaugeKey = try TestPKI.key("ECDSA", 256)
            let gaugeEnrolled = try await gaugeBootstrap.est("/.well-known/est/acme-dms/simpleenroll", csr: try gauge.csrBody(key: gaugeKey))
            try await gaugeBootstrap.shutdown()
            let gaugeCertificate = try #require(try ESTReply.certificates(gaugeEnrolled).first)
            #expect(Subject(gaugeCertificate.subject).organization == "Acme")
            gauge.key = gaugeKey
            gauge.certificatePEM = PEMText.pem(derCertificate: gaugeCertificate.derBytes)
            let gaugeClient = try gauge.client(world.server, caCertificatePath: world.caPath)
            let gaugeRenewed = try await gaugeClient.est("/.well-known/est/acme-dms/simplereenroll", csr: try gauge.csrBody())
            #expect(gaugeRenewed.status == 200, "\(gaugeRenewed.text)")
            try await gaugeClient.shutdown()
        }
        await app.cleanup()
    }
}
