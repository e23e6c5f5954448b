import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import NIOCore
import NIOSSL
import ServiceLifecycle
import SheduCore
import SheduPKI
import SheduTestSupport
import Synchronization
import Testing
import X509

@testable import SheduServer

@Suite("EST authentication: every auth mode, forwarded certificates, external revocation")
struct ESTAuthenticationTests {
    /// NO_AUTH, EXTERNAL_WEBHOOK (allow, deny, error, timeout) and the combination with a client
    /// certificate; the webhook gets Lamassu's JSON.
    /// The webhook call authenticates as its `config` says (an API key header, an OIDC token from
    /// the client-credentials grant, a client certificate), and a self-signed webhook is reached
    /// only when `validate_server_cert` is false. Bad configs are refused when the DMS is written.
    @Test func webhookCallsAuthenticateAsConfigured() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        let viewer = try await app.token(.viewer)
        let caPath = app.dataFolder.caCertificate.path
        let folder = try makeTemporaryFolder()
        _ = try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "shedu-client.key",
                         "-out", "shedu-client.pem", "-subj", "/CN=shedu webhook client", "-days", "2"], in: folder)
        let clientCertificate = folder.appendingPathComponent("shedu-client.pem").path
        let clientKey = folder.appendingPathComponent("shedu-client.key").path
        let plain = try await TestWebhook.start()
        let selfSigned = try await TestWebhook.start(tls: true)
        let mutual = try await TestWebhook.start(tls: true, clientCertificateFile: clientCertificate)
        try await app.withLiveServer { server in
            let world = try await ESTWorld.make(server: server, token: token, caPath: caPath)
            func webhookDMS(_ id: String, url: String, config: JSONValue, expect status: Int = 201) async throws -> JSONValue {
                let settings: JSONValue = [
                    "auth_mode": "EXTERNAL_WEBHOOK",
                    "external_webhook_settings": ["name": "MES", "url": .string(url), "method": "POST", "config": config],
                ]
                return try await world.createDMS(id, [("enrollment_settings", "est_rfc7030_settings", settings)], expect: status)
            }
            let wellKnown = JSONValue.string("\(plain.baseURL)/.well-known/openid-configuration")
            _ = try await webhookDMS("key-dms", url: "\(plain.baseURL)/needs-key", config: [
                "auth_mode": "apikey", "apikey": ["header": "X-Api-Key", "key": .string(TestWebhook.apiKey)],
            ])
            _ = try await webhookDMS("keyless-dms", url: "\(plain.baseURL)/needs-key", config: [:])
            _ = try await webhookDMS("token-dms", url: "\(plain.baseURL)/needs-token", config: [
                "auth_mode": "jwt", "oidc": ["client_id": "shedu", "client_secret": .string(TestWebhook.clientSecret), "well_known": wellKnown],
            ])
            _ = try await webhookDMS("bad-secret-dms", url: "\(plain.baseURL)/needs-token", config: [
                "auth_mode": "jwt", "oidc": ["client_id": "shedu", "client_secret": "wrong", "well_known": wellKnown],
            ])
            // async-http-client retries a failed handshake until the call's deadline.
            _ = try await webhookDMS("verify-dms", url: "\(selfSigned.baseURL)/allow", config: ["call_timeout": "1s"])
            _ = try await webhookDMS("trust-dms", url: "\(selfSigned.baseURL)/allow", config: ["validate_server_cert": false])
            _ = try await webhookDMS("mtls-dms", url: "\(mutual.baseURL)/allow", config: [
                "validate_server_cert": false, "auth_mode": "mtls", "mtls": ["cert": .string(clientCertificate), "key": .string(clientKey)],
            ])
            _ = try await webhookDMS("no-mtls-dms", url: "\(mutual.baseURL)/allow", config: ["validate_server_cert": false])

            // A viewer, who may not change a DMS, reads its webhook's credentials masked; the admin reads them.
            func webhookConfig(_ dms: String, as reader: String) async throws -> JSONValue? {
                let reply = try await server.request(.GET, "/api/dmsmanager/v1/dms/\(dms)", token: reader)
                #expect(reply.status == 200, "\(reply.text)")
                return try reply.json()["settings"]?["enrollment_settings"]?["est_rfc7030_settings"]?["external_webhook_settings"]?["config"]
            }
            #expect(try await webhookConfig("key-dms", as: viewer)?["apikey"] == ["header": "X-Api-Key", "key": "********"])
            #expect(try await webhookConfig("token-dms", as: viewer)?["oidc"]?["client_secret"] == "********")
            #expect(try await webhookConfig("key-dms", as: token)?["apikey"]?["key"] == .string(TestWebhook.apiKey))
            let listed = try await server.request(.GET, "/api/dmsmanager/v1/dms?page_size=100", token: viewer)
            #expect(!listed.text.contains(TestWebhook.apiKey) && !listed.text.contains(TestWebhook.clientSecret), "\(listed.text)")
            // Nor may a viewer ask about them a comparison at a time, by filter or order.
            let keyPath = "settings[jsonpath]$.enrollment_settings.est_rfc7030_settings.external_webhook_settings.config.apikey.key"
            let guess = "filter=" + "\(keyPath) == \"\(TestWebhook.apiKey)\"".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let sortedBy = "sort_by=" + keyPath.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            for path in ["/api/dmsmanager/v1/dms?\(guess)", "/api/dmsmanager/v1/stats?\(guess)", "/api/dmsmanager/v1/dms?\(sortedBy)"] {
                let asked = try await server.request(.GET, path, token: viewer)
                #expect(asked.status == 403, "\(path): \(asked.text)")
                let answered = try await server.request(.GET, path, token: token)
                #expect(answered.status == 200, "the admin may: \(path): \(answered.text)")
            }

            let anonymous = try server.withoutIdentity(caCertificatePath: caPath)
            var index = 0
            func enroll(_ dms: String) async throws -> LiveClient.Reply {
                index += 1
                return try await anonymous.est("/.well-known/est/\(dms)/simpleenroll", csr: try TestDevice("hooked-\(index)").csrBody())
            }
            let keyed = try await enroll("key-dms")
            #expect(keyed.status == 200, "\(keyed.text)")
            #expect(plain.lastHeaders[HTTPField.Name("X-Api-Key")!] == TestWebhook.apiKey)
            let keyless = try await enroll("keyless-dms")
            #expect(keyless.status == 403)
            #expect((try? keyless.json())?["err"]?.stringValue?.contains("answered HTTP 401") == true, "\(keyless.text)")
            for _ in 0..<2 {
                let tokened = try await enroll("token-dms")
                #expect(tokened.status == 200, "\(tokened.text)")
            }
            #expect(plain.tokensIssued == 1, "the token is reused until it expires")
            let badSecret = try await enroll("bad-secret-dms")
            #expect(badSecret.status == 403)
            #expect((try? badSecret.json())?["err"]?.stringValue?.contains("without an access_token") == true, "\(badSecret.text)")
            let verified = try await enroll("verify-dms")
            #expect(verified.status == 403, "a self-signed webhook is not trusted by default: \(verified.text)")
            #expect((try? verified.json())?["err"]?.stringValue?.contains("could not be reached") == true, "\(verified.text)")
            let trusted = try await enroll("trust-dms")
            #expect(trusted.status == 200, "\(trusted.text)")
            let withCertificate = try await enroll("mtls-dms")
            #expect(withCertificate.status == 200, "\(withCertificate.text)")
            let withoutCertificate = try await enroll("no-mtls-dms")
            #expect(withoutCertificate.status == 403, "\(withoutCertificate.text)")
            for reply in [keyed, keyless, badSecret, verified, withoutCertificate] {
                #expect(!reply.text.contains(TestWebhook.clientSecret) && !reply.text.contains(TestWebhook.apiKey))
            }

            // Configs that cannot work are refused when written.
            for (config, message) in [
                (["auth_mode": "apikey", "apikey": ["header": "X-Api-Key"]] as JSONValue, "config.apikey.key is required for auth_mode apikey"),
                (["auth_mode": "magic"], "config.auth_mode 'magic' is not one of noauth, apikey, mtls, jwt"),
                (["auth_mode": "jwt", "oidc": ["client_id": "shedu"]], "config.oidc.well_known is required for auth_mode jwt"),
                (["auth_mode": "mtls", "mtls": ["cert": "/nonexistent/cert.pem", "key": .string(clientKey)]], "config.mtls.cert: no readable file at '/nonexistent/cert.pem'"),
            ] {
                let refused = try await webhookDMS("refused-dms", url: "\(plain.baseURL)/allow", config: config, expect: 400)
                #expect(refused["err"]?.stringValue?.contains(message) == true, "\(refused)")
            }
            try await anonymous.shutdown()
        }
        for webhook in [plain, selfSigned, mutual] { await webhook.stop() }
        try? FileManager.default.removeItem(at: folder)
        await app.cleanup()
    }

    @Test func everyAuthModeDecidesAsConfigured() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        let caPath = app.dataFolder.caCertificate.path
        let webhook = try await TestWebhook.start()
        defer { Task { await webhook.stop() } }
        try await app.withLiveServer { server in
            let world = try await ESTWorld.make(server: server, token: token, caPath: caPath)
            func webhookDMS(_ id: String, mode: String, path: String, timeout: String = "2s") async throws {
                try await world.createDMS(id, [
                    ("enrollment_settings", "est_rfc7030_settings", [
                        "auth_mode": .string(mode),
                        "client_certificate_settings": ["validation_cas": ["bootstrap-ca"]],
                        "external_webhook_settings": [
                            "name": "factory MES", "url": .string("\(webhook.baseURL)\(path)"), "method": "POST",
                            "config": ["call_timeout": .string(timeout)],
                        ],
                    ]),
                ])
            }
            try await world.createDMS("open-dms", [("enrollment_settings", "est_rfc7030_settings", ["auth_mode": "NO_AUTH"])])
            try await webhookDMS("allow-dms", mode: "EXTERNAL_WEBHOOK", path: "/allow")
            try await webhookDMS("deny-dms", mode: "EXTERNAL_WEBHOOK", path: "/deny")
            try await webhookDMS("error-dms", mode: "EXTERNAL_WEBHOOK", path: "/error")
            try await webhookDMS("slow-dms", mode: "EXTERNAL_WEBHOOK", path: "/slow", timeout: "300ms")
            try await webhookDMS("both-dms", mode: "CLIENT_CERTIFICATE_AND_EXTERNAL_WEBHOOK", path: "/allow")

            let anonymous = try server.withoutIdentity(caCertificatePath: caPath)
            let open = try await anonymous.est("/.well-known/est/open-dms/simpleenroll", csr: try TestDevice("open-1").csrBody())
            #expect(open.status == 200, "NO_AUTH: \(open.text)")

            let allowed = try await anonymous.est(
                "/.well-known/est/allow-dms/simpleenroll", csr: try TestDevice("hooked-1").csrBody(), headers: [("X-Factory-Line", "7")])
            #expect(allowed.status == 200, "webhook allows: \(allowed.text)")
            let call = try #require(webhook.lastBody)
            #expect(call["aps"] == "allow-dms")
            #expect(call["device_cn"] == "hooked-1")
            #expect(call["http_request"]?["headers"]?["x-factory-line"] == "7")
            let csrPEM = String(decoding: try #require(Data(base64Encoded: call["csr"]?.stringValue ?? "")), as: UTF8.self)
            #expect(csrPEM.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----"))

            for (dms, message) in [("deny-dms", "did not authorize"), ("error-dms", "HTTP 500"), ("slow-dms", "did not answer in time")] {
                let refused = try await anonymous.est("/.well-known/est/\(dms)/simpleenroll", csr: try TestDevice("hooked-2").csrBody())
                #expect(refused.status == 403, "\(dms): \(refused.text)")
                #expect((try? refused.json())?["err"]?.stringValue?.contains(message) == true, "\(dms): \(refused.text)")
            }
            // Both: the certificate is required, and the webhook is asked too.
            let noCertificate = try await anonymous.est("/.well-known/est/both-dms/simpleenroll", csr: try TestDevice("both-1").csrBody())
            #expect(noCertificate.status == 401, "\(noCertificate.text)")
            var device = try TestDevice("both-1")
            try await world.bootstrap(&device)
            let client = try device.client(server, caCertificatePath: caPath)
            let calls = webhook.calls
            let both = try await client.est("/.well-known/est/both-dms/simpleenroll", csr: try device.csrBody())
            #expect(both.status == 200, "\(both.text)")
            #expect(webhook.calls == calls + 1)
            #expect(try await world.deviceIDs().sorted() == ["both-1", "hooked-1", "open-1"])
            try await client.shutdown()
            try await anonymous.shutdown()
        }
        await app.cleanup()
    }

    /// On the plain-HTTP listener a proxy's header carries the client certificate, but only when
    /// the operator trusts it; on HTTPS a header is never read.
    @Test(arguments: [false, true])
    func forwardedCertificatesAreReadOnlyWhenTrusted(_ trusted: Bool) async throws {
        let app = try await TestApp.make {
            $0.httpPort = try? freePort()
            $0.trustForwardedClientCertificate = trusted
            $0.estDefaultDMS = "factory-dms"
        }
        try await app.withESTWorld { world in
            let server = world.server
            try await world.createDMS("factory-dms")
            var device = try TestDevice("proxied-1")
            try await world.bootstrap(&device)
            let escaped = device.certificatePEM!.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            for (name, value) in [
                ("ssl-client-cert", escaped), ("X-Amzn-Mtls-Clientcert", escaped),
                ("x-forwarded-client-cert", "By=spiffe://proxy;Hash=abc;Cert=\"\(escaped)\";Subject=\"CN=proxied-1\""),
            ] {
                // The label-less path serves the default DMS (--est-default-dms).
                let plain = try await server.est(
                    "/.well-known/est/simpleenroll", csr: try device.csrBody(), headers: [(name, value)], plainHTTP: true)
                #expect(plain.status == (trusted ? 200 : 401), "\(name) on plain HTTP: \(plain.text)")
                let overTLS = try await server.est("/.well-known/est/simpleenroll", csr: try device.csrBody(), headers: [(name, value)])
                #expect(overTLS.status == 401, "\(name) on HTTPS is ignored: \(overTLS.text)")
            }
            #expect(try await world.deviceIDs() == (trusted ? ["proxied-1"] : []))
        }
        await app.cleanup()
    }

    /// Envoy's header lists each proxy's client, the one the last proxy verified at the end: an
    /// element the client itself sent first (a forged Cert, with only a public certificate) never
    /// counts, and quoted values may hold commas.
    @Test func forwardedEnvoyHeaderCountsItsLastElementOnly() throws {
        func selfSigned(_ name: String) throws -> (certificate: Certificate, escapedPEM: String) {
            let key = P256.Signing.PrivateKey()
            let subject = try DistinguishedName { CommonName(name) }
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date(),
                notValidAfter: Date().addingTimeInterval(3600), issuer: subject, subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: .init(), issuerPrivateKey: .init(key))
            let pem = try certificate.serializeAsPEM().pemString
            return (certificate, pem.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        }
        let forged = try selfSigned("an admin")
        let verified = try selfSigned("the real client")
        let appended = #"Hash=aa;Cert="\#(forged.escapedPEM)";Subject="CN=an admin,O=x",By=spiffe://gateway;Hash=bb;Subject="CN=the real client,O=y";Cert="\#(verified.escapedPEM)""#
        #expect(try ClientCertificateSource.envoyChain(appended) == [verified.certificate])
        #expect(try ClientCertificateSource.envoyChain(#"Subject="CN=a,O=b";Cert="\#(verified.escapedPEM)""#) == [verified.certificate])
        let forgedLast = #"Cert="\#(verified.escapedPEM)",Hash=cc;Subject="O=z""#
        #expect(try ClientCertificateSource.envoyChain(forgedLast).isEmpty, "the last element carries no certificate")
    }

    /// A factory CA Shedu only knows by its certificate: its devices' bootstrap certificates are
    /// checked against the factory's own CRL; a chain through an intermediate is accepted, and
    /// `chain_level_validation` limits how much of it counts.
    @Test func externalBootstrapCertificatesAreCheckedAgainstTheirCRLAndOCSPResponder() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        let caPath = app.dataFolder.caCertificate.path
        let factory = try ExternalFactoryCA()
        let crlServer = try await TestWebhook.start()
        defer { Task { await crlServer.stop() } }
        try await app.withLiveServer { server in
            let world = try await ESTWorld.make(server: server, token: token, caPath: caPath)
            let rootPEM = Data(PEMText.pem(derCertificate: factory.root.derBytes).utf8).base64EncodedString()
            try await world.post("/api/ca/v1/cas/import", #"{"id":"factory-root","ca":"\#(rootPEM)"}"#)
            // Shedu holds no key of it: it can validate devices, not enroll them.
            let keyless = try await world.createDMS(
                "keyless-dms", [("enrollment_settings", "enrollment_ca", "factory-root")], expect: 400)
            #expect(keyless["err"]?.stringValue?.contains("CA 'factory-root' was imported without its private key") == true, "\(keyless)")
            try await world.createDMS("factory-dms", [
                ("enrollment_settings", "est_rfc7030_settings", [
                    "auth_mode": "CLIENT_CERTIFICATE", "client_certificate_settings": ["validation_cas": ["factory-root"]],
                ])
            ])
            try await world.createDMS("short-chain-dms", [
                ("enrollment_settings", "est_rfc7030_settings", [
                    "auth_mode": "CLIENT_CERTIFICATE",
                    "client_certificate_settings": ["validation_cas": ["factory-root"], "chain_level_validation": 1],
                ])
            ])
            let crlURL = "\(crlServer.baseURL)/factory.crl"
            var good = try TestDevice("line-good")
            var bad = try TestDevice("line-bad")
            let goodLeaf = try factory.issue(good.name, key: good.key, crlURL: crlURL)
            let badLeaf = try factory.issue(bad.name, key: bad.key, crlURL: crlURL)
            good.certificatePEM = PEMText.pem(derCertificate: goodLeaf.derBytes) + PEMText.pem(derCertificate: factory.intermediate.derBytes)
            bad.certificatePEM = PEMText.pem(derCertificate: badLeaf.derBytes) + PEMText.pem(derCertificate: factory.intermediate.derBytes)
            crlServer.crl = try factory.crl(revoking: [badLeaf.serialNumber])

            let goodClient = try good.client(server, caCertificatePath: caPath)
            let badClient = try bad.client(server, caCertificatePath: caPath)
            let short = try await goodClient.est("/.well-known/est/short-chain-dms/simpleenroll", csr: try good.csrBody())
            #expect(short.status == 401, "only the leaf counts, and it does not reach the root alone: \(short.text)")
            let accepted = try await goodClient.est("/.well-known/est/factory-dms/simpleenroll", csr: try good.csrBody())
            #expect(accepted.status == 200, "through the intermediate: \(accepted.text)")
            let refused = try await badClient.est("/.well-known/est/factory-dms/simpleenroll", csr: try bad.csrBody())
            #expect(refused.status == 401, "revoked in the factory's CRL: \(refused.text)")
            #expect((try? refused.json())?["err"]?.stringValue?.contains("revoked") == true)
            #expect(crlServer.calls >= 1)

            // Revoked only in the factory's OCSP responder (its CRL does not list it): the
            // responder is asked, also for a certificate with critical extensions (it was not).
            var withdrawn = try TestDevice("line-withdrawn")
            let withdrawnLeaf = try factory.issue(
                withdrawn.name, key: withdrawn.key, crlURL: crlURL, ocspURL: "\(crlServer.baseURL)/factory-ocsp")
            #expect(withdrawnLeaf.extensions.contains { $0.critical }, "the case that was missed")
            withdrawn.certificatePEM = PEMText.pem(derCertificate: withdrawnLeaf.derBytes) + PEMText.pem(derCertificate: factory.intermediate.derBytes)
            crlServer.answerOCSP(as: try OCSPResponder(certificate: factory.intermediate, key: factory.intermediateKey), revoked: [withdrawnLeaf.serialNumber])
            let withdrawnClient = try withdrawn.client(server, caCertificatePath: caPath)
            let refusedByOCSP = try await withdrawnClient.est("/.well-known/est/factory-dms/simpleenroll", csr: try withdrawn.csrBody())
            #expect(refusedByOCSP.status == 401, "revoked in the factory's OCSP responder: \(refusedByOCSP.text)")
            #expect((try? refusedByOCSP.json())?["err"]?.stringValue?.contains("revoked") == true)
            #expect(crlServer.ocspCalls >= 1)
            // The same responder calling it good lets it enroll.
            crlServer.answerOCSP(as: try OCSPResponder(certificate: factory.intermediate, key: factory.intermediateKey), revoked: [])
            let acceptedByOCSP = try await withdrawnClient.est("/.well-known/est/factory-dms/simpleenroll", csr: try withdrawn.csrBody())
            #expect(acceptedByOCSP.status == 200, "\(acceptedByOCSP.text)")
            try await withdrawnClient.shutdown()
            try await goodClient.shutdown()
            try await badClient.shutdown()
        }
        await app.cleanup()
    }

    /// `/csrattrs` tells a device which keys the enrollment profile accepts.
    @Test func csrAttributesFollowTheProfile() async throws {
        let app = try await TestApp.make()
        try await app.withESTWorld { world in
            let server = world.server
            try await world.post(
                "/api/ca/v1/profiles",
                #"{"id":"p256-only","validity":{"type":"Duration","duration":"30d"},"crypto_enforcement":{"enabled":true,"allow_rsa_keys":false,"allow_ecdsa_keys":true,"allowed_ecdsa_key_sizes":[256],"allow_ed25519_keys":false}}"#)
            try await world.createDMS("open-dms")
            try await world.post(
                "/api/dmsmanager/v1/dms",
                JSONValue.object(["id": "p256-dms", "settings": ["issuance_profile_id": "p256-only", "enrollment_settings": ["enrollment_ca": "issuing-ca-01", "est_rfc7030_settings": ["auth_mode": "NO_AUTH"]]]]).jsonText())
            let none = try await server.request(.GET, "/.well-known/est/open-dms/csrattrs")
            #expect(none.status == 204, "the device profile accepts any key: \(none.text)")
            let attributes = try await server.request(.GET, "/.well-known/est/p256-dms/csrattrs")
            #expect(attributes.status == 200, "\(attributes.text)")
            #expect(attributes.header("Content-Type") == "application/csrattrs")
            let der = try #require(Data(base64Encoded: attributes.text))
            let file = app.folder.appendingPathComponent("attrs.der")
            try der.write(to: file)
            let parsed = try openssl(["asn1parse", "-inform", "DER", "-in", file.path])
            #expect(parsed.contains("id-ecPublicKey"))
            #expect(parsed.contains("prime256v1"))
            #expect(parsed.contains("ecdsa-with-SHA256"))
            #expect(!parsed.contains("secp384r1"))
            let device = try TestDevice("rsa-1", key: try TestPKI.key("RSA", 2048))
            let refused = try await server.est("/.well-known/est/p256-dms/simpleenroll", csr: try device.csrBody())
            #expect(refused.status == 400, "the profile refuses an RSA key: \(refused.text)")
        }
        await app.cleanup()
    }
}

extension LiveClient {
    func withoutIdentity(caCertificatePath: String) throws -> LiveClient {
        try LiveClient(baseURL: baseURL, httpBaseURL: httpBaseURL, caCertificatePath: caCertificatePath)
    }
}

/// A small HTTP server of the test's own: an enrollment webhook (`/allow`, `/deny`, `/error`,
/// `/slow`; `/needs-key` and `/needs-token` allow only a caller that authenticates), an OIDC
/// provider's discovery document and token endpoint, and a CRL (`/factory.crl`). With `tls`, it
/// answers over HTTPS with a self-signed certificate.
final class TestWebhook: Sendable {
    static let apiKey = "S3CRET-key"
    static let clientSecret = "client-s3cret"
    static let accessToken = "token-for-shedu"

    final class Recorder: Sendable {
        struct State {
            var lastBody: JSONValue?
            var lastHeaders: HTTPFields = [:]
            var calls = 0
            var tokensIssued = 0
            var crl: [UInt8] = []
            /// Who answers OCSP requests at /factory-ocsp, and what it calls revoked.
            var ocspResponder: OCSPResponder?
            var ocspRevoked: Set<Certificate.SerialNumber> = []
            var ocspCalls = 0
        }
        let state = Mutex(State())

        @Sendable func record(_ request: Request) async throws {
            let body = try await request.body.collect(upTo: 1 << 20)
            let value = try? JSONValue.parse(String(buffer: body), field: "webhook")
            state.withLock { state in
                state.calls += 1
                state.lastBody = value
                state.lastHeaders = request.headers
            }
        }
    }

    private let recorder: Recorder
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    let scheme: String
    var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }
    var lastBody: JSONValue? { recorder.state.withLock { $0.lastBody } }
    var tokensIssued: Int { recorder.state.withLock { $0.tokensIssued } }
    var lastHeaders: HTTPFields { recorder.state.withLock { $0.lastHeaders } }
    var calls: Int { recorder.state.withLock { $0.calls } }
    var crl: [UInt8] {
        get { recorder.state.withLock { $0.crl } }
        set { recorder.state.withLock { $0.crl = newValue } }
    }
    var ocspCalls: Int { recorder.state.withLock { $0.ocspCalls } }
    func answerOCSP(as responder: OCSPResponder, revoked: Set<Certificate.SerialNumber>) {
        recorder.state.withLock { state in
            state.ocspResponder = responder
            state.ocspRevoked = revoked
        }
    }

    private init(recorder: Recorder, port: Int, scheme: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.recorder = recorder
        self.port = port
        self.scheme = scheme
        self.group = group
        self.task = task
    }

    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// With `clientCertificateFile`, the HTTPS webhook completes a handshake only with that certificate.
    static func start(tls: Bool = false, clientCertificateFile: String? = nil) async throws -> TestWebhook {
        let port = try freePort()
        let recorder = Recorder()
        let router = Router()
        let baseURL = "\(tls ? "https" : "http")://127.0.0.1:\(port)"
        router.post("/needs-key") { request, _ -> Response in
            try await recorder.record(request)
            guard request.headers[HTTPField.Name("X-Api-Key")!] == apiKey else { return Response(status: .unauthorized) }
            return json(#"{"authorized":true}"#)
        }
        router.post("/needs-token") { request, _ -> Response in
            try await recorder.record(request)
            guard request.headers[.authorization] == "Bearer \(accessToken)" else { return Response(status: .unauthorized) }
            return json(#"{"authorized":true}"#)
        }
        router.get("/.well-known/openid-configuration") { _, _ -> Response in
            json(#"{"issuer":"\#(baseURL)","token_endpoint":"\#(baseURL)/token"}"#)
        }
        router.post("/token") { request, _ -> Response in
            let form = String(buffer: try await request.body.collect(upTo: 1 << 16)).split(separator: "&").reduce(into: [String: String]()) {
                let pair = $1.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
                if pair.count == 2 { $0[pair[0]] = pair[1] }
            }
            guard form == ["grant_type": "client_credentials", "client_id": "shedu", "client_secret": clientSecret] else {
                return Response(status: .unauthorized)
            }
            recorder.state.withLock { $0.tokensIssued += 1 }
            return json(#"{"access_token":"\#(accessToken)","token_type":"Bearer","expires_in":300}"#)
        }
        router.post("/allow") { request, _ -> Response in
            try await recorder.record(request)
            return json(#"{"authorized":true}"#)
        }
        router.post("/deny") { request, _ -> Response in
            try await recorder.record(request)
            return json(#"{"authorized":false}"#)
        }
        router.post("/error") { request, _ -> Response in
            try await recorder.record(request)
            return Response(status: .internalServerError)
        }
        router.post("/slow") { request, _ -> Response in
            try await recorder.record(request)
            try await Task.sleep(for: .seconds(2))
            return json(#"{"authorized":true}"#)
        }
        router.get("/factory.crl") { _, _ -> Response in
            let crl = recorder.state.withLock { state in
                state.calls += 1
                return state.crl
            }
            return Response(status: .ok, headers: [.contentType: "application/pkix-crl"], body: .init(byteBuffer: ByteBuffer(bytes: crl)))
        }
        router.post("/factory-ocsp") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 16)
            let ocspRequest = try OCSPRequest(derEncoded: Array(body.readableBytesView))
            let (responder, revoked) = recorder.state.withLock { state in
                state.ocspCalls += 1
                return (state.ocspResponder, state.ocspRevoked)
            }
            guard let responder else { return Response(status: .notFound) }
            let now = Date()
            let answers = ocspRequest.certIDs.map { certID in
                OCSPSingleResponse(
                    certID: certID, status: revoked.contains(certID.serialNumber) ? .revoked(time: now, reason: .keyCompromise) : .good,
                    thisUpdate: now, nextUpdate: now.addingTimeInterval(3600))
            }
            let der = try responder.response(answers, nonce: ocspRequest.nonce, producedAt: now)
            return Response(status: .ok, headers: [.contentType: "application/ocsp-response"], body: .init(byteBuffer: ByteBuffer(bytes: der)))
        }
        let address = BindAddress.hostname("127.0.0.1", port: port)
        let service: any Service
        if tls {
            // A self-signed certificate: the webhook of a factory that runs its own.
            let folder = try makeTemporaryFolder()
            _ = try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "key.pem",
                             "-out", "cert.pem", "-subj", "/CN=127.0.0.1", "-days", "2", "-addext", "subjectAltName=IP:127.0.0.1"], in: folder)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(folder.appendingPathComponent("cert.pem").path).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: folder.appendingPathComponent("key.pem").path, format: .pem)))
            if let clientCertificateFile {
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = .file(clientCertificateFile)
            }
            service = Application(router: router, server: try .tls(.http1(), tlsConfiguration: configuration), configuration: .init(address: address))
        } else {
            service = Application(router: router, configuration: .init(address: address))
        }
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [], logger: .init(label: "webhook")))
        let task = Task { try await group.run() }
        let webhook = TestWebhook(recorder: recorder, port: port, scheme: tls ? "https" : "http", group: group, task: task)
        for _ in 0..<200 {
            let probe = try? await OutboundHTTPClient(client: .shared).send(
                method: "GET", url: "\(webhook.baseURL)/factory.crl", headers: [], body: nil, timeout: .seconds(1),
                tls: OutboundTLS(verifiesServerCertificate: false))
            if probe != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        recorder.state.withLock { $0.calls = 0 }
        return webhook
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A factory's PKI outside Shedu: a root, an intermediate, and device certificates that point
/// at the factory's CRL.
struct ExternalFactoryCA {
    let rootKey: SigningKey
    let root: Certificate
    let intermediateKey: SigningKey
    let intermediate: Certificate

    init() throws {
        rootKey = try TestPKI.key("ECDSA", 256)
        intermediateKey = try TestPKI.key("ECDSA", 256)
        let now = Date()
        let caPolicy = IssuancePolicy(notAfter: now.addingTimeInterval(86_400 * 365), signAsCA: true)
        root = try CertificateBuilder.issue(
            .init(name: try DistinguishedName { CommonName("Factory Root") }, publicKey: rootKey.publicKey), policy: caPolicy,
            issuer: nil, selfSigningKey: rootKey, now: now)
        intermediate = try CertificateBuilder.issue(
            .init(name: try DistinguishedName { CommonName("Factory Line CA") }, publicKey: intermediateKey.publicKey),
            policy: IssuancePolicy(notAfter: now.addingTimeInterval(86_400 * 300), signAsCA: true),
            issuer: Issuer(certificate: root, key: rootKey, crlURL: nil, ocspURL: nil), now: now)
    }

    /// A device certificate (critical key usage and basic constraints, as CertificateBuilder writes them).
    func issue(_ name: String, key: SigningKey, crlURL: String, ocspURL: String? = nil) throws -> Certificate {
        try CertificateBuilder.issue(
            .init(name: try DistinguishedName { CommonName(name) }, publicKey: key.publicKey),
            policy: IssuancePolicy(notAfter: Date().addingTimeInterval(86_400 * 30), extendedKeyUsages: [.clientAuth]),
            issuer: Issuer(certificate: intermediate, key: intermediateKey, crlURL: crlURL, ocspURL: ocspURL), now: Date())
    }

    func crl(revoking serials: [Certificate.SerialNumber]) throws -> [UInt8] {
        try CRLEncoder(issuer: intermediate).sign(
            number: CRLNumber(1), thisUpdate: Date(), nextUpdate: Date().addingTimeInterval(3600),
            revoked: serials.map { RevokedCertificate(serialNumber: $0, revocationDate: Date(), reason: .keyCompromise) },
            key: intermediateKey)
    }
}
