import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduPKI
import SheduTestSupport
import Testing
import X509

@testable import SheduServer

@Suite("CA: issuance that openssl and pkilint accept")
struct CAIssuanceTests {
    /// The seeds' signing flow, word for word: an openssl CSR as base64 DER, posted to
    /// `/cas/issuing-ca-01/sign` with `"profile_id": "device-profile"`.
    @Test func theSeedsSigningFlowWorksAsWritten() async throws {
        let app = try await TestApp.make { $0.publicURL = "https://pki.example.com" }
        let token = try await app.token(.operator)
        let work = try makeTemporaryFolder()
        _ = try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "device-001.key"], in: work)
        _ = try openssl(["req", "-new", "-key", "device-001.key", "-out", "device-001.csr", "-subj", "/CN=device-001/O=Acme Corp"], in: work)
        let csr = try runTool("sh", ["-c", "openssl req -in device-001.csr -outform DER | base64 -w 0"], in: work).output
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "root-ca", expiration: "20y")
            let issuing = try await api.createCA(id: "issuing-ca-01", parent: "root-ca", expiration: "10y", profileID: "device-profile")
            #expect(issuing["level"] == 1)
            #expect(issuing["profile_id"] == "device-profile")

            let response = try await client.send(
                .post, "/api/ca/v1/cas/issuing-ca-01/sign", token: token,
                json: #"{"csr": "\#(csr)", "profile_id": "device-profile"}"#)
            #expect(response.status == .created, "\(response.text)")
            let certificate = try response.json()
            #expect(certificate["subject"]?["common_name"] == "device-001")
            #expect(certificate["subject"]?["organization"] == "Acme Corp")
            #expect(certificate["status"] == "ACTIVE")
            #expect(certificate["issuer_metadata"]?["id"] == "issuing-ca-01")
            #expect(certificate["issuer_metadata"]?["level"] == 1)
            #expect(certificate["extensions"]?["key_usage"] == ["DigitalSignature"], "KeyEncipherment is dropped for an EC key")
            #expect(certificate["extensions"]?["extended_key_usage"] == ["ClientAuth"])
            #expect(certificate["key_metadata"] == ["type": "ECDSA", "bits": 256, "strength": "HIGH"])
            #expect(certificate["revocation_timestamp"] == "0001-01-01T00:00:00Z")
            let serial = try #require(certificate["serial_number"]?.stringValue)
            #expect(serial.count == 32 && serial.allSatisfy { $0.isHexDigit && !$0.isUppercase })

            // openssl verifies the chain root → issuing CA → device.
            let root = try await api.get("/api/ca/v1/cas/root-ca")
            try TestPKI.pem(fromAPI: root["certificate"]!["certificate"]!.stringValue!).write(to: work.appendingPathComponent("root.pem"), atomically: true, encoding: .utf8)
            try TestPKI.pem(fromAPI: issuing["certificate"]!["certificate"]!.stringValue!).write(to: work.appendingPathComponent("issuing.pem"), atomically: true, encoding: .utf8)
            try TestPKI.pem(fromAPI: certificate["certificate"]!.stringValue!).write(to: work.appendingPathComponent("device.pem"), atomically: true, encoding: .utf8)
            let verified = try runTool("openssl", ["verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "device.pem"], in: work)
            #expect(verified.output.contains("device.pem: OK"), "\(verified.output) \(verified.errors)")
            // The device's key matches what was certified.
            let certifiedKey = try openssl(["x509", "-in", "device.pem", "-noout", "-pubkey"], in: work)
            let ownKey = try openssl(["pkey", "-in", "device-001.key", "-pubout"], in: work)
            #expect(certifiedKey == ownKey)
            // CRL and OCSP locations come from --public-url and the issuer's key id.
            let text = try openssl(["x509", "-in", "device.pem", "-noout", "-text"], in: work)
            let issuerSKI = try #require(issuing["certificate"]?["subject_key_id"]?.stringValue)
            #expect(text.contains("URI:https://pki.example.com/api/va/crl/\(issuerSKI)"))
            #expect(text.contains("OCSP - URI:https://pki.example.com/api/va/ocsp"))

            // The same through the long path, and readable back.
            let again = try await api.sign(ca: "issuing-ca-01", csr: csr, path: "certificates/sign")
            #expect(again.status == .created)
            let fetched = try await api.get("/api/ca/v1/certificates/\(serial)")
            #expect(fetched == certificate)
            #expect(try await api.get("/api/ca/v1/cas/issuing-ca-01/certificates/\(serial)") == certificate)
            // Under another CA, or one that does not exist, it is not found.
            for (path, message) in [
                ("/api/ca/v1/cas/root-ca/certificates/\(serial)", "certificate '\(serial)' was not issued by CA 'root-ca'"),
                ("/api/ca/v1/cas/nope/certificates/\(serial)", "CA 'nope' not found"),
            ] {
                let elsewhere = try await client.send(.get, path, token: token)
                #expect(elsewhere.status == .notFound)
                #expect(try elsewhere.json()["err"] == .string(message), "\(elsewhere.text)")
            }
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    /// A name's fields read back as the certificate holds them, as Lamassu shows them, and a
    /// filter on the exact common name finds the certificate (they were shown escaped for a
    /// one-line name: "Acme\, Inc.").
    @Test func nameFieldsReadBackAsWritten() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "issuing-ca-01", expiration: "10y", profileID: "device-profile")
            let csr = try TestPKI.csr(commonName: "gate #4, north+east", organization: "Acme, Inc.", key: try TestPKI.key("ECDSA", 256))
            let response = try await api.sign(ca: "issuing-ca-01", csr: csr)
            #expect(response.status == .created, "\(response.text)")
            let certificate = try response.json()
            #expect(certificate["subject"]?["common_name"] == "gate #4, north+east")
            #expect(certificate["subject"]?["organization"] == "Acme, Inc.")
            let filter = "subject.common_name[equal]gate #4, north+east"
                .addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let found = try await api.get("/api/ca/v1/certificates?filter=\(filter)")["list"]?.arrayValue ?? []
            #expect(found.map { $0["serial_number"] } == [certificate["serial_number"]])

            // A name pkilint would call FATAL (beyond RFC 5280's 64 characters) is refused, by
            // the sign route and by CA creation alike, and nothing is written.
            let before = try await api.get("/api/ca/v1/stats")
            let long = String(repeating: "x", count: 65)
            let refused = try await api.sign(ca: "issuing-ca-01", csr: try TestPKI.csr(commonName: long, key: try TestPKI.key("ECDSA", 256)))
            #expect(refused.status == .badRequest)
            #expect(try refused.json()["err"] == "the subject's common name is 65 characters long; RFC 5280 allows 1 to 64")
            let longCA = try await api.createCA(id: "long", commonName: long, expect: .badRequest)
            #expect(longCA["err"] == "the subject's common name is 65 characters long; RFC 5280 allows 1 to 64")
            #expect(try await api.get("/api/ca/v1/stats") == before)
            #expect(try await api.get("/api/kms/v1/keys")["list"]?.arrayValue?.count == 1, "no key left behind")
        }
        await app.cleanup()
    }

    static let keyKinds: [(String, Int)] = [("ECDSA", 256), ("ECDSA", 384), ("ECDSA", 521), ("RSA", 2048), ("Ed25519", 256)]

    /// Each key type: a root, a subordinate and a leaf, verified by openssl and clean under pkilint.
    @Test(arguments: keyKinds)
    func everyKeyTypeMakesAChainThatOpenSSLAndPkilintAccept(_ algorithm: String, _ bits: Int) async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        let work = try makeTemporaryFolder()
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            let root = try await api.createCA(id: "root", type: algorithm, bits: bits, expiration: "20y")
            let sub = try await api.createCA(id: "sub", parent: "root", type: algorithm, bits: bits, expiration: "10y")
            let csr = try TestPKI.csr(commonName: "leaf-\(algorithm)", key: try TestPKI.key(algorithm, bits), dnsNames: ["leaf.example.com"])
            let leafResponse = try await api.sign(ca: "sub", csr: csr)
            #expect(leafResponse.status == .created, "\(leafResponse.text)")
            let leaf = try leafResponse.json()
            #expect(leaf["extensions"]?["subject_alternative_names"]?["dns"] == ["leaf.example.com"])
            #expect(root["certificate"]?["key_metadata"]?["type"] == .string(algorithm))

            let pems = [
                ("root.pem", try TestPKI.pem(fromAPI: root["certificate"]!["certificate"]!.stringValue!)),
                ("sub.pem", try TestPKI.pem(fromAPI: sub["certificate"]!["certificate"]!.stringValue!)),
                ("leaf.pem", try TestPKI.pem(fromAPI: leaf["certificate"]!.stringValue!)),
            ]
            for (file, pem) in pems { try pem.write(to: work.appendingPathComponent(file), atomically: true, encoding: .utf8) }
            let verified = try runTool("openssl", ["verify", "-x509_strict", "-CAfile", "root.pem", "-untrusted", "sub.pem", "leaf.pem"], in: work)
            #expect(verified.output.contains("leaf.pem: OK"), "\(algorithm) \(bits): \(verified.output) \(verified.errors)")
            let subVerified = try runTool("openssl", ["verify", "-x509_strict", "-CAfile", "root.pem", "sub.pem"], in: work)
            #expect(subVerified.output.contains("sub.pem: OK"))

            for (file, pem) in pems {
                if let errors = try TestPKI.pkilintErrors("lint_pkix_cert", pem: pem) {
                    #expect(errors.isEmpty, "pkilint on \(algorithm) \(bits) \(file): \(errors)")
                }
            }
            // SKI is SHA-256 of the key; the leaf's AKI is the sub's SKI.
            let subCertificate = try TestPKI.certificate(fromAPI: sub["certificate"]!["certificate"]!.stringValue!)
            #expect(sub["certificate"]?["subject_key_id"] == .string(subCertificate.publicKey.keyIdentifierHex))
            #expect(leaf["authority_key_id"] == sub["certificate"]?["subject_key_id"])
            let basicConstraints = try openssl(["x509", "-in", "sub.pem", "-noout", "-ext", "basicConstraints,keyUsage"], in: work)
            #expect(basicConstraints.contains("critical") && basicConstraints.contains("CA:TRUE"))
            #expect(basicConstraints.contains("Certificate Sign, CRL Sign"))
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    @Test func profilesAreAppliedAsSection2Says() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createCA(id: "ca", expiration: "5y")
            let key = try TestPKI.key("ECDSA", 256)
            let csr = try TestPKI.csr(
                commonName: "dev-7", organization: "Requested Org", key: key, dnsNames: ["dev-7.local"],
                keyUsage: KeyUsage(digitalSignature: true, keyAgreement: true), extendedKeyUsage: [.serverAuth, .clientAuth])

            func issue(_ profile: String) async throws -> JSONValue {
                let response = try await client.send(
                    .post, "/api/ca/v1/cas/ca/sign", token: token, json: #"{"csr":"\#(csr)","profile":\#(profile)}"#)
                #expect(response.status == .created, "\(profile): \(response.text)")
                return try response.json()
            }
            // honor_subject false: the profile's subject, the requested CN when the profile has none.
            let replaced = try await issue(#"{"validity":{"type":"Duration","duration":"30d"},"honor_subject":false,"subject":{"organization":"Fleet Inc","country":"ES"}}"#)
            #expect(replaced["subject"] == ["common_name": "dev-7", "organization": "Fleet Inc", "organization_unit": "", "country": "ES", "state": "", "locality": ""])
            // honor flags: the CSR's usages and SAN.
            let honored = try await issue(#"{"validity":{"type":"Duration","duration":"30d"},"honor_key_usage":true,"honor_extended_key_usages":true}"#)
            #expect(honored["extensions"]?["key_usage"] == ["DigitalSignature", "KeyAgreement"])
            #expect(honored["extensions"]?["extended_key_usage"] == ["ServerAuth", "ClientAuth"])
            #expect(honored["extensions"]?["subject_alternative_names"]?["dns"] == ["dev-7.local"])
            #expect(honored["subject"]?["organization"] == "Requested Org")
            // Not honored: the profile's usages; honor_extensions false drops the SAN.
            let fixed = try await issue(#"{"validity":{"type":"Duration","duration":"30d"},"key_usage":["DigitalSignature"],"extended_key_usages":["CodeSigning"],"honor_extensions":false}"#)
            #expect(fixed["extensions"]?["key_usage"] == ["DigitalSignature"])
            #expect(fixed["extensions"]?["extended_key_usage"] == ["CodeSigning"])
            #expect(fixed["extensions"]?["subject_alternative_names"]?["dns"] == [])
            // Validity: a duration from now, or a fixed time.
            let timed = try await issue(#"{"validity":{"type":"Time","time":"2027-06-01T00:00:00Z"}}"#)
            #expect(timed["valid_to"] == "2027-06-01T00:00:00Z")
            let validFrom = try #require(replaced["valid_from"]?.stringValue.flatMap { RFC3339.parse($0) })
            let validTo = try #require(replaced["valid_to"]?.stringValue.flatMap { RFC3339.parse($0) })
            #expect(abs(validTo.timeIntervalSince(validFrom) - (30 * 86_400 + 60)) < 2, "30 days after a minute of backdating")
            // sign_as_ca: a CA certificate that may sign certificates.
            let subCA = try await issue(#"{"validity":{"type":"Duration","duration":"30d"},"sign_as_ca":true}"#)
            #expect(subCA["is_ca"] == true)
            #expect(subCA["extensions"]?["key_usage"]?.arrayValue?.contains("CertSign") == true)

            // Crypto enforcement refuses what it does not allow, and nothing is written.
            let before = try await api.get("/api/ca/v1/stats")
            let refused = try await client.send(
                .post, "/api/ca/v1/cas/ca/sign", token: token,
                json: #"{"csr":"\#(csr)","profile":{"validity":{"type":"Duration","duration":"30d"},"crypto_enforcement":{"enabled":true,"allow_ecdsa_keys":true,"allowed_ecdsa_key_sizes":[384]}}}"#)
            #expect(refused.status == .badRequest)
            #expect(try refused.json()["err"] == "the issuance profile accepts ECDSA keys of 384 bits, not 256")
            let rsaOnly = try await client.send(
                .post, "/api/ca/v1/cas/ca/sign", token: token,
                json: #"{"csr":"\#(csr)","profile":{"validity":{"type":"Duration","duration":"30d"},"crypto_enforcement":{"enabled":true,"allow_ecdsa_keys":false}}}"#)
            #expect(try rsaOnly.json()["err"] == "the issuance profile does not accept ECDSA keys")
            // Outliving the CA is refused.
            let tooLong = try await client.send(
                .post, "/api/ca/v1/cas/ca/sign", token: token, json: #"{"csr":"\#(csr)","profile":{"validity":{"type":"Duration","duration":"9y"}}}"#)
            #expect(tooLong.status == .badRequest)
            #expect(try tooLong.json()["err"]?.stringValue?.contains("after its issuing CA") == true)
            #expect(try await api.get("/api/ca/v1/stats") == before)
        }
        await app.cleanup()
    }

    @Test func requestedUsagesAndNamesAreMadeRFC5280Clean() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        let work = try makeTemporaryFolder()
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createCA(id: "ca", expiration: "5y")
            let honoring = #"{"validity":{"type":"Duration","duration":"30d"},"honor_key_usage":true,"honor_extended_key_usages":true}"#
            func issue(_ csr: String, _ profile: String = honoring) async throws -> (json: JSONValue, pem: String) {
                let response = try await client.send(.post, "/api/ca/v1/cas/ca/sign", token: token, json: #"{"csr":"\#(csr)","profile":\#(profile)}"#)
                #expect(response.status == .created, "\(profile): \(response.text)")
                let json = try response.json()
                let pem = try TestPKI.pem(fromAPI: json["certificate"]?.stringValue ?? "")
                if let errors = try TestPKI.pkilintErrors("lint_pkix_cert", pem: pem) { #expect(errors.isEmpty, "pkilint: \(errors)") }
                return (json, pem)
            }
            func extensions(_ pem: String) throws -> String {
                try pem.write(to: work.appendingPathComponent("leaf.pem"), atomically: true, encoding: .utf8)
                return try openssl(["x509", "-in", "leaf.pem", "-noout", "-ext", "keyUsage,extendedKeyUsage"], in: work)
            }

            // A device asking to sign certificates gets no keyCertSign: it is not a CA.
            let ec = try TestPKI.key("ECDSA", 256)
            let signer = try await issue(try TestPKI.csr(
                commonName: "signer", key: ec, keyUsage: KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true)))
            #expect(signer.json["extensions"]?["key_usage"] == ["DigitalSignature", "CRLSign"])
            // An RSA key cannot agree keys; encipherOnly means nothing without key agreement.
            let rsa = try await issue(try TestPKI.csr(
                commonName: "rsa", key: try TestPKI.key("RSA", 2048),
                keyUsage: KeyUsage(digitalSignature: true, keyAgreement: true, encipherOnly: true)))
            #expect(rsa.json["extensions"]?["key_usage"] == ["DigitalSignature"])
            // Nothing left: no key usage extension, as RFC 5280 allows an end entity.
            let bare = try await issue(try TestPKI.csr(commonName: "bare", key: ec), #"{"validity":{"type":"Duration","duration":"30d"},"key_usage":[]}"#)
            #expect(bare.json["extensions"]?["key_usage"] == [])
            #expect(!(try extensions(bare.pem)).contains("X509v3 Key Usage"))
            // A time-stamping usage is critical (RFC 3161 §2.3).
            let stamper = try await issue(try TestPKI.csr(commonName: "tsa", key: ec, extendedKeyUsage: [.timeStamping]))
            #expect(try extensions(stamper.pem).contains("X509v3 Extended Key Usage: critical"))
            // A usage Shedu has no name for is copied: dropped, it left a certificate with no
            // extended key usage at all, good for any purpose.
            let custom = try await issue(try TestPKI.csr(
                commonName: "custom", key: ec, extendedKeyUsage: [.init(oid: [1, 3, 6, 1, 4, 1, 99999, 7]), .clientAuth]))
            let customUsages = try extensions(custom.pem)
            #expect(customUsages.contains("1.3.6.1.4.1.99999.7") && customUsages.contains("TLS Web Client Authentication"), "\(customUsages)")
            #expect(custom.json["extensions"]?["extended_key_usage"] == ["ClientAuth"])
            // Usages that do not decode are the request's mistake: a 400, not a 500.
            for (requested, name) in [
                (Certificate.Extension(oid: .X509ExtensionID.keyUsage, critical: false, value: [0x03, 0x04, 0x00, 0xFF, 0xFF, 0xFF]),
                 "key usage (RFC 5280 §4.2.1.3)"),
                (Certificate.Extension(oid: .X509ExtensionID.extendedKeyUsage, critical: false, value: [0x02, 0x01, 0x01]),
                 "extended key usage (RFC 5280 §4.2.1.12)"),
            ] {
                let malformed = try TestPKI.csr(commonName: "malformed", key: ec, extraExtensions: [requested])
                let answer = try await client.send(.post, "/api/ca/v1/cas/ca/sign", token: token, json: #"{"csr":"\#(malformed)","profile":\#(honoring)}"#)
                #expect(answer.status == .badRequest, "\(answer.text)")
                #expect(try answer.json()["err"] == .string("the requested \(name) does not decode"))
            }
            // A country written as UTF8String is written as PrintableString.
            let utf8Country = try DistinguishedName([
                RelativeDistinguishedName(.init(type: .RDNAttributeType.countryName, utf8String: "DE")),
                RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, utf8String: "meter-9")),
            ])
            let german = try await issue(try TestPKI.csr(commonName: "", key: ec, name: utf8Country))
            #expect(german.json["subject"]?["country"] == "DE")
            _ = try extensions(german.pem)
            let dump = try runTool("sh", ["-c", "openssl x509 -in leaf.pem -noout -subject -nameopt show_type"], in: work)
            #expect(dump.output.contains("C=PRINTABLESTRING:DE") || dump.output.contains("C = PRINTABLESTRING:DE"), "\(dump.output)")
            let badCountry = try DistinguishedName([RelativeDistinguishedName(.init(type: .RDNAttributeType.countryName, utf8String: "D@")),
                                                    RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, utf8String: "x"))])
            let refused = try await client.send(
                .post, "/api/ca/v1/cas/ca/sign", token: token, json: #"{"csr":"\#(try TestPKI.csr(commonName: "", key: ec, name: badCountry))","profile":\#(honoring)}"#)
            #expect(refused.status == .badRequest)
            #expect(try refused.json()["err"] == "the subject's country 'D@' is not a PrintableString (RFC 5280 Appendix A.1)")
            let bothRequested = try TestPKI.csr(
                commonName: "x", key: ec, keyUsage: KeyUsage(keyAgreement: true, encipherOnly: true, decipherOnly: true))
            let both = try await client.send(
                .post, "/api/ca/v1/cas/ca/sign", token: token, json: #"{"csr":"\#(bothRequested)","profile":\#(honoring)}"#)
            #expect(try both.json()["err"] == "key usages EncipherOnly and DecipherOnly exclude each other (RFC 5280 §4.2.1.3)")
            let bothInProfile = try await client.send(
                .post, "/api/ca/v1/cas/ca/sign", token: token,
                json: #"{"csr":"\#(try TestPKI.csr(commonName: "x", key: ec))","profile":{"validity":{"type":"Duration","duration":"1d"},"key_usage":["KeyAgreement","EncipherOnly","DecipherOnly"]}}"#)
            #expect(try bothInProfile.json()["err"] == "profile.key_usage: EncipherOnly and DecipherOnly exclude each other (RFC 5280 §4.2.1.3)")
            // PEM lines of 76 characters, as MIME tools write them (RFC 7468 §3: parsers accept any length).
            let der = try #require(Data(base64Encoded: try TestPKI.csr(commonName: "mime", key: ec)))
            let mime = "-----BEGIN CERTIFICATE REQUEST-----\n" + der.base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
                + "\n-----END CERTIFICATE REQUEST-----\n"
            let inlineMIME = try await client.send(
                .post, "/api/ca/v1/cas/ca/sign", token: token,
                json: #"{"csr":"\#(mime.replacingOccurrences(of: "\n", with: "\\n"))","profile":\#(honoring)}"#)
            #expect(inlineMIME.status == .created, "\(inlineMIME.text)")
            let bundle = try await client.send(
                .post, "/api/ca/v1/certificates/import", token: token,
                json: JSONValue.object(["certificate": .string(Data((signer.pem + rsa.pem).utf8).base64EncodedString())]).jsonText())
            #expect(try bundle.json()["err"] == "certificate holds 2 PEM blocks; give one")
            // An extension asked for twice is refused, not dropped with the names it carried.
            let twice = try await client.send(
                .post, "/api/ca/v1/cas/ca/sign", token: token,
                json: #"{"csr":"\#(try TestPKI.csrWithTwoAlternativeNames(commonName: "twice", key: ec))","profile":\#(honoring)}"#)
            #expect(twice.status == .badRequest, "\(twice.text)")
            #expect(try twice.json()["err"] == "the CSR's extension request does not decode; each extension may appear once (RFC 5280 §4.2)")
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    @Test func badSigningRequestsAre4xxAndWriteNothing() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            let api = CAClient(client: client, token: token)
            try await api.createProfile(deviceProfile)
            try await api.createCA(id: "ca", expiration: "5y")
            let good = try TestPKI.csr(commonName: "d1", key: try TestPKI.key("ECDSA", 256))
            // Flip a byte inside the signature of the CSR.
            var tampered = try #require(Data(base64Encoded: good))
            tampered[tampered.count - 5] ^= 0x01
            let cases: [(String, String, String?, HTTPResponse.Status, String)] = [
                ("ca", "bm90IGEgY3Ny", "device-profile", .badRequest, "csr is not a PKCS#10 certificate request"),
                ("ca", "%%%", "device-profile", .badRequest, "csr is neither PEM nor base64"),
                ("ca", "", "device-profile", .badRequest, "csr is empty"),
                ("ca", tampered.base64EncodedString(), "device-profile", .unprocessableContent, "the CSR's signature does not verify"),
                ("nope", good, "device-profile", .notFound, "CA 'nope' not found"),
                ("ca", good, "missing", .notFound, "issuance profile 'missing' not found"),
                ("ca", good, nil, .badRequest, "no issuance profile"),
            ]
            for (ca, csr, profile, status, message) in cases {
                let response = try await api.sign(ca: ca, csr: csr, profileID: profile)
                #expect(response.status == status, "\(message): \(response.text)")
                #expect(try response.json()["err"]?.stringValue?.contains(message) == true, "\(response.text)")
            }
            // PEM and base64-of-PEM CSRs are accepted too.
            let pem = PEMText.pem(derCertificate: Array(Data(base64Encoded: good)!), discriminator: "CERTIFICATE REQUEST")
            #expect(try await api.sign(ca: "ca", csr: pem).status == .created)
            #expect(try await api.sign(ca: "ca", csr: Data(pem.utf8).base64EncodedString()).status == .created)
            // With the text `openssl req -text` writes before the block (RFC 7468 §2), as PEM and base64 of it.
            let explained = "Certificate Request:\n    Data:\n        Version: 1 (0x0)\n" + pem
            #expect(try await api.sign(ca: "ca", csr: explained).status == .created)
            #expect(try await api.sign(ca: "ca", csr: Data(explained.utf8).base64EncodedString()).status == .created)
            #expect(try await api.get("/api/ca/v1/cas/ca/certificates")["list"]?.arrayValue?.count == 4)
        }
        await app.cleanup()
    }
}
