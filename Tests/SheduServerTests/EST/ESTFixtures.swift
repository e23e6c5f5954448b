import Foundation
import NIOHTTP1
import SheduCore
import SheduPKI
import Testing
import X509

@testable import SheduServer

/// A device as an EST client sees itself: a key and, once it has one, a certificate.
struct TestDevice {
    let name: String
    var key: SigningKey
    var certificatePEM: String?

    init(_ name: String, key: SigningKey? = nil) throws {
        self.name = name
        self.key = try key ?? TestPKI.key("ECDSA", 256)
    }

    var keyPEM: String { PEMText.pem(derCertificate: key.pkcs8DERRepresentation, discriminator: "PRIVATE KEY") }

    /// The CSR body of an EST request: base64 of the DER CSR, with line breaks every 64 characters
    /// as many clients send it.
    func csrBody(commonName: String? = nil, key other: SigningKey? = nil) throws -> String {
        let base64 = try TestPKI.csr(commonName: commonName ?? name, key: other ?? key)
        return stride(from: 0, to: base64.count, by: 64).map { offset in
            let start = base64.index(base64.startIndex, offsetBy: offset)
            return String(base64[start..<(base64.index(start, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex)])
        }.joined(separator: "\n")
    }

    /// A client presenting this device's certificate (if it has one) to the live server.
    func client(_ server: LiveClient, caCertificatePath: String, httpBaseURL: String? = nil) throws -> LiveClient {
        try LiveClient(
            baseURL: server.baseURL, httpBaseURL: httpBaseURL ?? server.httpBaseURL, caCertificatePath: caCertificatePath,
            identity: certificatePEM.map { ($0, keyPEM) })
    }
}

/// EST answers, read as a client reads them.
enum ESTReply {
    /// The certificates of a base64 certs-only PKCS#7 body, which must be one line.
    static func certificates(_ reply: LiveClient.Reply) throws -> [Certificate] {
        #expect(reply.header("Content-Type")?.hasPrefix("application/pkcs7-mime") == true, "\(reply.header("Content-Type") ?? "")")
        #expect(!reply.text.contains("\n"), "single-line base64")
        let der = try #require(Data(base64Encoded: reply.text), "base64 body: \(reply.text.prefix(200))")
        return try CMSCertificatesOnly.certificates(fromDER: Array(der))
    }

    static func commonName(_ certificate: Certificate) -> String { Subject(certificate.subject).commonName }
}

extension LiveClient {
    /// An EST POST with a CSR body.
    func est(_ path: String, csr: String, contentType: String = "application/pkcs10", headers: [(String, String)] = [], plainHTTP: Bool = false)
        async throws -> Reply
    {
        try await request(.POST, path, body: csr, headers: [("Content-Type", contentType)] + headers, plainHTTP: plainHTTP)
    }
}

/// The PKI and DMS the EST tests enroll against, made through the API.
struct ESTWorld {
    let server: LiveClient
    let token: String
    let caPath: String

    static let bootstrapProfile = #"{"id":"bootstrap","validity":{"type":"Duration","duration":"1y"},"key_usage":["DigitalSignature"],"extended_key_usages":["ClientAuth"]}"#
    static let deviceProfile = #"{"id":"device-profile","validity":{"type":"Duration","duration":"30d"},"key_usage":["DigitalSignature"],"extended_key_usages":["ClientAuth"]}"#

    /// root-ca → issuing-ca-01 (signs device identities), and bootstrap-ca (the factory's CA).
    static func make(server: LiveClient, token: String, caPath: String) async throws -> ESTWorld {
        let world = ESTWorld(server: server, token: token, caPath: caPath)
        try await world.post("/api/ca/v1/profiles", bootstrapProfile)
        try await world.post("/api/ca/v1/profiles", deviceProfile)
        try await world.createCA("root-ca")
        try await world.createCA("issuing-ca-01", parent: "root-ca", profile: "device-profile")
        try await world.createCA("bootstrap-ca", profile: "bootstrap")
        return world
    }

    @discardableResult
    func post(_ path: String, _ json: String, expect status: Int = 201) async throws -> JSONValue {
        let reply = try await server.request(.POST, path, token: token, body: json)
        #expect(reply.status == status, "POST \(path): \(reply.text)")
        return try reply.json()
    }

    func get(_ path: String) async throws -> JSONValue {
        let reply = try await server.request(.GET, path, token: token)
        #expect(reply.status == 200, "GET \(path): \(reply.text)")
        return try reply.json()
    }

    func createCA(_ id: String, parent: String? = nil, profile: String? = nil) async throws {
        var body: [String: JSONValue] = [
            "id": .string(id), "subject": ["common_name": .string(id)], "key_metadata": ["type": "ECDSA", "bits": 256],
            "ca_expiration": ["type": "Duration", "duration": .string(parent == nil ? "10y" : "5y")],
        ]
        if let parent { body["parent_id"] = .string(parent) }
        if let profile { body["profile_id"] = .string(profile) }
        try await post("/api/ca/v1/cas", JSONValue.object(body).jsonText())
    }

    /// A DMS; each override sets `key` of the settings section `section`; `profileID` is its
    /// issuance profile (the enrollment CA's otherwise).
    @discardableResult
    func createDMS(
        _ id: String, _ overrides: [(section: String, key: String, value: JSONValue)] = [], profileID: String? = nil,
        expect status: Int = 201
    ) async throws -> JSONValue {
        var settings: [String: JSONValue] = [
            "enrollment_settings": [
                "protocol": "EST_RFC7030", "enrollment_ca": "issuing-ca-01", "registration_mode": "JITP",
                "enable_replaceable_enrollment": true, "verify_csr_signature": true,
                "est_rfc7030_settings": [
                    "auth_mode": "CLIENT_CERTIFICATE",
                    "client_certificate_settings": ["validation_cas": ["bootstrap-ca"], "chain_level_validation": -1],
                ],
                "device_provisioning_profile": ["tags": ["est"], "metadata": ["enrolled-by": "est"]],
            ],
            "reenrollment_settings": [
                "reenrollment_delta": "30d", "preventive_delta": "7d", "critical_delta": "3d", "revoke_on_reenrollment": true,
            ],
            "server_keygen_settings": ["enabled": true, "key": ["type": "ECDSA", "bits": 256]],
            "ca_distribution_settings": ["include_enrollment_ca": true],
        ]
        for (section, key, value) in overrides {
            var members = settings[section]?.objectValue ?? [:]
            members[key] = value
            settings[section] = .object(members)
        }
        if let profileID { settings["issuance_profile_id"] = .string(profileID) }
        return try await post(
            "/api/dmsmanager/v1/dms", JSONValue.object(["id": .string(id), "name": .string(id), "settings": .object(settings)]).jsonText(),
            expect: status)
    }

    /// A bootstrap certificate for `device` from `ca` (the factory's CA), as the device's identity.
    func bootstrap(_ device: inout TestDevice, ca: String = "bootstrap-ca") async throws {
        let csr = try TestPKI.csr(commonName: device.name, key: device.key)
        let signed = try await post("/api/ca/v1/cas/\(ca)/sign", #"{"csr":"\#(csr)"}"#)
        device.certificatePEM = try TestPKI.pem(fromAPI: try #require(signed["certificate"]?.stringValue))
    }

    func certificateCount() async throws -> Int {
        let stats = try await get("/api/ca/v1/stats")
        return stats["certificates"]?["total"]?.numberValue.map { Int($0) } ?? -1
    }

    func deviceIDs() async throws -> [String] {
        try await get("/api/devmanager/v1/devices?page_size=1000")["list"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }
}

extension TestApp {
    /// Runs `body` on the live server once the EST tests' PKI is made (``ESTWorld/make(server:token:caPath:)``).
    func withESTWorld(_ body: @escaping @Sendable (ESTWorld) async throws -> Void) async throws {
        let token = try await token(.admin)
        let caPath = dataFolder.caCertificate.path
        try await withLiveServer { server in
            try await body(try await ESTWorld.make(server: server, token: token, caPath: caPath))
        }
    }
}
