import Crypto
import Foundation
import Logging
import SheduCore
import SheduPKI
import SheduTestSupport
import Testing
import X509

@testable import SheduServer

@Suite("API authentication with client certificates")
struct ClientCertificateAuthTests {
    /// Machine clients authenticate with certificates of an API client CA: their role comes from
    /// the certificate, a viewer cannot write, a revoked one is refused, a certificate of any other
    /// CA authenticates nothing, a bearer token wins, and the request log names the client.
    @Test func apiClientCertificatesAuthenticateWithTheirRole() async throws {
        let app = try await TestApp.make { $0.apiClientCAs = ["partner-ca"] }
        let admin = try await app.token(.admin)
        let caPath = app.dataFolder.caCertificate.path
        let folder = app.folder
        // Credentials made from the data folder, as `shedu client-cert create` makes them.
        let line = try await APIClientCredentials.issue(
            configuration: app.configuration, subject: "factory-line-1", role: .operator, caID: nil, lifetime: .days(30),
            logger: Logger(label: "test"))
        let dashboard = try await APIClientCredentials.issue(
            configuration: app.configuration, subject: "dashboard", role: .viewer, caID: nil, lifetime: .days(30),
            logger: Logger(label: "test"))
        try await app.withLiveServer { server in
            func client(_ issued: APIClientCredentials.Issued) throws -> LiveClient {
                try LiveClient(baseURL: server.baseURL, httpBaseURL: nil, caCertificatePath: caPath, identity: (issued.certificatePEM, issued.keyPEM))
            }
            // curl with a client certificate lists CAs.
            let certFile = folder.appendingPathComponent("line.pem")
            let keyFile = folder.appendingPathComponent("line-key.pem")
            try line.certificatePEM.write(to: certFile, atomically: true, encoding: .utf8)
            try line.keyPEM.write(to: keyFile, atomically: true, encoding: .utf8)
            let curl = try runTool(
                "curl", ["-s", "-w", "\n%{http_code}", "--cacert", caPath, "--cert", certFile.path, "--key", keyFile.path, "\(server.baseURL)/api/ca/v1/cas"])
            #expect(curl.output.hasSuffix("\n200"), "\(curl.output)")
            #expect(curl.output.contains("shedu-api-clients"))

            let operatorClient = try client(line)
            let created = try await operatorClient.request(
                .POST, "/api/ca/v1/profiles", body: #"{"id":"from-the-line","validity":{"type":"Duration","duration":"1d"}}"#)
            #expect(created.status == 201, "an operator certificate writes: \(created.text)")
            let viewerClient = try client(dashboard)
            #expect(try await viewerClient.request(.GET, "/api/ca/v1/profiles").status == 200)
            let refused = try await viewerClient.request(
                .POST, "/api/ca/v1/profiles", body: #"{"id":"nope","validity":{"type":"Duration","duration":"1d"}}"#)
            #expect(refused.status == 403, "\(refused.text)")
            let overridden = try await viewerClient.request(
                .POST, "/api/ca/v1/profiles", token: admin, body: #"{"id":"by-token","validity":{"type":"Duration","duration":"1d"}}"#)
            #expect(overridden.status == 201, "a bearer token wins: \(overridden.text)")

            // A certificate of a CA that is not an API client CA authenticates nothing.
            let other = try await server.request(
                .POST, "/api/ca/v1/cas", token: admin,
                body: #"{"id":"device-ca","subject":{"common_name":"Devices"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"1y"}}"#)
            #expect(other.status == 201)
            var device = try TestDevice("some-device")
            let signed = try await server.request(
                .POST, "/api/ca/v1/cas/device-ca/sign", token: admin,
                body: #"{"csr":"\#(try TestPKI.csr(commonName: "some-device", key: device.key))","profile":{"validity":{"type":"Duration","duration":"1d"}}}"#)
            device.certificatePEM = try TestPKI.pem(fromAPI: try #require(try signed.json()["certificate"]?.stringValue))
            let deviceClient = try device.client(server, caCertificatePath: caPath)
            let anonymous = try await deviceClient.request(.GET, "/api/ca/v1/cas")
            #expect(anonymous.status == 401, "\(anonymous.text)")

            // ... until an admin designates its CA at run time through the CA's metadata.
            let flagged = try await server.request(
                .PATCH, "/api/ca/v1/cas/device-ca/metadata", token: admin, body: #"{"shedu.io/api-client-ca": true}"#)
            #expect(flagged.status == 200, "\(flagged.text)")
            try await Task.sleep(for: .milliseconds(Int(APIClientCertificates.anchorLifetime * 1000) + 200))
            #expect(try await deviceClient.request(.GET, "/api/ca/v1/cas").status == 200, "now a viewer")

            // A revoked API client certificate is refused at once.
            let revoked = try await server.request(
                .POST, "/api/ca/v1/certificates/\(line.serialNumber)/status", token: admin,
                body: #"{"status":"REVOKED","revocation_reason":"KeyCompromise"}"#)
            #expect(revoked.status == 200)
            let afterRevocation = try await operatorClient.request(.GET, "/api/ca/v1/cas")
            #expect(afterRevocation.status == 401, "\(afterRevocation.text)")
            #expect(afterRevocation.text.contains("REVOKED"))
            // A CA designated in the configuration (--api-client-ca partner-ca) counts without a flag.
            let partner = try await server.request(
                .POST, "/api/ca/v1/cas", token: admin,
                body: #"{"id":"partner-ca","subject":{"common_name":"Partner PKI"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"1y"}}"#)
            #expect(partner.status == 201)
            let partnerCredentials = try await APIClientCredentials.issue(
                configuration: app.configuration, subject: "partner-mes", role: .admin, caID: "partner-ca", lifetime: .days(1),
                logger: Logger(label: "test"))
            let partnerClient = try client(partnerCredentials)
            try await Task.sleep(for: .milliseconds(Int(APIClientCertificates.anchorLifetime * 1000) + 200))
            let deleted = try await partnerClient.request(.DELETE, "/api/ca/v1/profiles/from-the-line")
            #expect(deleted.status == 204, "an admin certificate of a configured CA: \(deleted.text)")
            for client in [operatorClient, viewerClient, deviceClient, partnerClient] { try await client.shutdown() }
        }
        // The audit line of each change names who made it.
        #expect(app.logs.all.contains { $0.contains("POST /api/ca/v1/profiles 201") && $0.contains("auth.subject=factory-line-1") })
        #expect(app.logs.all.contains { $0.contains("POST /api/ca/v1/profiles 403") && $0.contains("auth.subject=dashboard") })
        await app.cleanup()
    }

    /// What an API client CA signs is a credential: an operator may not sign with it (CSR, new
    /// subordinate, raw signature through the CA or the KMS), point a DMS at it, create the CA
    /// `--api-client-ca` names, or flag one in its metadata. Each would mint it an admin certificate.
    /// And a certificate of that CA without clientAuth among its extended key usages is no credential.
    @Test func onlyAnAdminSignsWithAnAPIClientCA() async throws {
        let app = try await TestApp.make { $0.apiClientCAs = ["partner-ca", "future-ca"] }
        let admin = try await app.token(.admin)
        let operatorToken = try await app.token(.operator, subject: "line-operator")
        try await app.withLiveServer { server in
            func post(_ path: String, _ token: String, _ body: String) async throws -> (status: Int, text: String) {
                let response = try await server.request(.POST, path, token: token, body: body)
                return (Int(response.status), response.text)
            }
            // Subordinates are made for less than their parents: a child may not outlive its parent.
            let caBody = { (id: String, extra: String) in
                let duration = extra.contains("parent_id") ? "30d" : "1y"
                return #"{"id":"\#(id)","subject":{"common_name":"\#(id)"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"\#(duration)"}\#(extra)}"#
            }
            #expect(try await post("/api/ca/v1/cas", admin, caBody("partner-ca", "")).status == 201)
            #expect(try await post("/api/ca/v1/cas", admin, caBody("partner-sub", #","parent_id":"partner-ca""#)).status == 201)
            #expect(try await post("/api/ca/v1/cas", operatorToken, caBody("device-ca", "")).status == 201)
            let key = try TestPKI.key("ECDSA", 256)
            let csr = try TestPKI.csr(commonName: "minted", key: key)
            let signBody = #"{"csr":"\#(csr)","profile":{"validity":{"type":"Duration","duration":"1d"},"honor_extensions":true}}"#
            for caID in ["partner-ca", "partner-sub"] {
                // Twice: the second goes through the fast path, for a token the router has seen.
                for _ in 0..<2 {
                    let refused = try await post("/api/ca/v1/cas/\(caID)/certificates/sign", operatorToken, signBody)
                    #expect(refused.status == 403 && refused.text.contains("only an admin may sign"), "\(caID): \(refused.text)")
                }
            }
            #expect(try await post("/api/ca/v1/cas/device-ca/certificates/sign", operatorToken, signBody).status == 201)
            #expect(try await post("/api/ca/v1/cas/partner-ca/certificates/sign", admin, signBody).status == 201)
            let subordinate = try await post("/api/ca/v1/cas", operatorToken, caBody("operator-sub", #","parent_id":"partner-ca""#))
            #expect(subordinate.status == 403, "\(subordinate.text)")
            let message = #"{"message":"\#(Data("x".utf8).base64EncodedString())","message_type":"raw","signature_algorithm":"ECDSA_SHA_256"}"#
            let raw = try await post("/api/ca/v1/cas/partner-ca/signature/sign", operatorToken, message)
            #expect(raw.status == 403, "\(raw.text)")
            let keyID = try #require(try await server.request(.GET, "/api/ca/v1/cas/partner-ca", token: admin).json()["certificate"]?["subject_key_id"]?.stringValue)
            let kms = try await post("/api/kms/v1/keys/\(keyID)/sign", operatorToken, #"{"message":"eA==","message_type":"raw","algorithm":"ECDSA_SHA_256"}"#)
            #expect(kms.status == 403, "\(kms.text)")
            let dms = try await post(
                "/api/dmsmanager/v1/dms", operatorToken,
                #"{"id":"partner-dms","name":"partner","settings":{"enrollment_settings":{"enrollment_ca":"partner-sub","protocol":"EST_RFC7030","est_rfc7030_settings":{"auth_mode":"NO_AUTH"}}}}"#)
            #expect(dms.status == 403, "\(dms.text)")
            let future = try await post("/api/ca/v1/cas", operatorToken, caBody("future-ca", ""))
            #expect(future.status == 403, "\(future.text)")
            let flagged = try await server.request(
                .PATCH, "/api/ca/v1/cas/device-ca/metadata", token: operatorToken, body: #"{"shedu.io/api-client-ca": true}"#)
            #expect(flagged.status == 403, "\(flagged.text)")
            let flaggedAtBirth = try await post("/api/ca/v1/cas", operatorToken, caBody("flagged-ca", #","metadata":{"shedu.io/api-client-ca":true}"#))
            #expect(flaggedAtBirth.status == 403, "\(flaggedAtBirth.text)")
            // Nothing was made or changed by what was refused.
            let cas = try await server.request(.GET, "/api/ca/v1/cas", token: admin).text
            for id in ["operator-sub", "future-ca", "flagged-ca"] { #expect(!cas.contains(#""id":"\#(id)""#), "\(id)") }
            #expect(try await server.request(.GET, "/api/ca/v1/cas/device-ca", token: admin).text.contains("api-client-ca") == false)
            #expect(try await server.request(.GET, "/api/dmsmanager/v1/dms/partner-dms", token: admin).status == 404)

            // A certificate of the API client CA whose extended key usages exclude clientAuth
            // (RFC 5280 §4.2.1.12) authenticates nothing; one with clientAuth does.
            for (usage, expected) in [("ServerAuth", 401), ("ClientAuth", 200)] {
                var device = try TestDevice("partner-\(usage)")
                let signed = try await server.request(
                    .POST, "/api/ca/v1/cas/partner-ca/sign", token: admin,
                    body: #"{"csr":"\#(try TestPKI.csr(commonName: device.name, key: device.key))","profile":{"validity":{"type":"Duration","duration":"1d"},"extended_key_usages":["\#(usage)"]}}"#)
                device.certificatePEM = try TestPKI.pem(fromAPI: try #require(try signed.json()["certificate"]?.stringValue))
                let client = try device.client(server, caCertificatePath: app.dataFolder.caCertificate.path)
                let answer = try await client.request(.GET, "/api/ca/v1/cas")
                #expect(answer.status == expected, "\(usage): \(answer.text)")
                if expected == 401 { #expect(answer.text.contains("lacks clientAuth"), "\(answer.text)") }
                try await client.shutdown()
            }
        }
        #expect(app.logs.all.contains { $0.contains("--api-client-ca names CA 'future-ca', which does not exist") }, "a start names what is missing")
        await app.cleanup()
    }

    /// A certificate's role is the highest its role URIs name, as for a token's roles; without
    /// one, its OU when that names a role, else viewer.
    @Test func aCertificateCarriesTheHighestRoleItNames() throws {
        func certificate(uris: [String], organizationUnit: String? = nil) throws -> Certificate {
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName {
                CommonName("client")
                if let organizationUnit { OrganizationalUnitName(organizationUnit) }
            }
            let extensions = try Certificate.Extensions {
                SubjectAlternativeNames(uris.map { .uniformResourceIdentifier($0) })
            }
            return try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date(),
                notValidAfter: Date().addingTimeInterval(3600), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions, issuerPrivateKey: .init(key))
        }
        let prefix = APIClientCertificates.roleURIPrefix
        #expect(APIClientCertificates.role(of: try certificate(uris: ["\(prefix)viewer", "\(prefix)admin"])) == .admin)
        #expect(APIClientCertificates.role(of: try certificate(uris: ["\(prefix)operator", "\(prefix)root"])) == .operator)
        #expect(APIClientCertificates.role(of: try certificate(uris: ["https://example.com"], organizationUnit: "operator")) == .operator)
        #expect(APIClientCertificates.role(of: try certificate(uris: ["https://example.com"])) == .viewer)
    }

    /// `shedu client-cert create` writes a certificate with the role and a private key file of
    /// mode 0600, from the data folder.
    @Test func theCommandLineIssuesClientCredentialsInOneStep() async throws {
        let folder = try makeTemporaryFolder()
        let data = folder.appendingPathComponent("data").path
        let prefix = folder.appendingPathComponent("line-7").path
        let elsewhere = try await SheduProcess.run(
            ["client-cert", "create", "--data-dir", data, "--subject", "line-7", "--role", "operator", "--out", prefix])
        #expect(elsewhere.status != 0, "a folder no server started in gets no CA and keys of its own")
        #expect(elsewhere.errors.contains("is not a Shedu data folder"), "\(elsewhere.errors)")
        #expect(!FileManager.default.fileExists(atPath: data))
        try DataFolder(path: data).prepare(serverNames: ["localhost"])  // as the server's first start does
        let result = try await SheduProcess.run(
            ["client-cert", "create", "--data-dir", data, "--subject", "line-7", "--role", "operator", "--out", prefix,
             "--public-url", "https://pki.example.com"])
        #expect(result.status == 0, "\(result.errors)")
        let certificate = try Certificate(pemEncoded: try String(contentsOfFile: "\(prefix).pem", encoding: .utf8))
        // Its revocation addresses are the server's public ones, as for certificates it issues.
        let der = Data(certificate.derBytes)
        #expect(der.range(of: Data("https://pki.example.com/api/va/crl/".utf8)) != nil, "the CRL distribution point")
        #expect(der.range(of: Data("https://pki.example.com/api/va/ocsp".utf8)) != nil, "the OCSP responder")
        let badURL = try await SheduProcess.run(
            ["client-cert", "create", "--data-dir", data, "--subject", "x", "--role", "viewer", "--public-url", "ftp://x"])
        #expect(badURL.status != 0 && badURL.errors.contains("--public-url must be an http:// or https:// URL"), "\(badURL.errors)")
        #expect(APIClientCertificates.role(of: certificate) == .operator)
        #expect(Subject(certificate.subject).commonName == "line-7")
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(prefix)-key.pem")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let key = try SigningKey(pemEncoded: try String(contentsOfFile: "\(prefix)-key.pem", encoding: .utf8))
        #expect(key.publicKey == certificate.publicKey)
        let nowhere = try await SheduProcess.run(
            ["client-cert", "create", "--data-dir", data, "--subject", "x", "--role", "viewer", "--out", "/nonexistent-\(UUID())/x"])
        #expect(nowhere.status != 0)
        #expect(nowhere.errors.hasPrefix("shedu: cannot write to /nonexistent-") && nowhere.errors.hasSuffix(": no such file or directory\n"), "\(nowhere.errors)")
        let bad = try await SheduProcess.run(["client-cert", "create", "--data-dir", data, "--subject", "x", "--role", "root"])
        #expect(bad.status != 0)
        #expect(bad.errors.contains("--role must be admin, operator or viewer"))
        try? FileManager.default.removeItem(at: folder)
    }
}
