import Foundation
import SheduCore
import SheduPKI
import Testing
import X509
import Crypto

@testable import SheduServer

@Suite("Listeners: HTTPS with optional client certificates, and plain HTTP")
struct ListenerTests {
    @Test func httpsAndTheOptionalHTTPListenerServeTheSameRoutes() async throws {
        let app = try await TestApp.make { $0.httpPort = try? freePort() }
        let token = try await app.token(.viewer)
        try await app.withLiveServer { client in
            let health = try await client.request(.GET, "/health")
            #expect(health.status == 200)
            #expect(try health.json()["health"] == true)
            #expect(try await client.request(.GET, "/api/ca/v1/profiles", token: token).status == 200)
            #expect(try await client.request(.GET, "/api/ca/v1/profiles").status == 401)
            let plain = try await client.request(.GET, "/api/ca/v1/profiles", token: token, plainHTTP: true)
            #expect(plain.status == 200)
        }
        await app.cleanup()
    }

    @Test func aClientCertificateIsAcceptedButNotRequired() async throws {
        let app = try await TestApp.make()
        let identity = try TestCertificates.clientIdentity(commonName: "some device")
        let token = try await app.token(.viewer)
        try await app.withLiveServer { client in
            let withCertificate = try LiveClient(
                baseURL: client.baseURL, httpBaseURL: nil, caCertificatePath: app.dataFolder.caCertificate.path,
                identity: (identity.certificatePEM, identity.privateKeyPEM))
            let result = await Result(catching: { try await withCertificate.request(.GET, "/api/ca/v1/profiles", token: token) })
            try await withCertificate.shutdown()
            #expect(try result.get().status == 200)
        }
        await app.cleanup()
    }
}

/// Certificates made up by tests.
enum TestCertificates {
    /// A self-signed P-256 client certificate (digitalSignature, clientAuth) and its key.
    static func clientIdentity(commonName: String) throws -> (certificatePEM: String, privateKeyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let certificate = try Certificate(
            version: .v3, serialNumber: .generate(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(3600), issuer: name,
            subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
            },
            issuerPrivateKey: .init(key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }
}
