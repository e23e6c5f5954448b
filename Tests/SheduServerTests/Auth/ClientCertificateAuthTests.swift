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
            ["client-cert", "create", "--data-dir", data, "--subject", "line-7", "--role", "operator", "--out", prefix])
        #expect(result.status == 0, "\(result.errors)")
        let certificate = try Certificate(pemEncoded: try String(contentsOfFile: "\(prefix).pem", encoding: .utf8))
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
