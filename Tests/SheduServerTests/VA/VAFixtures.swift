import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduPKI
import SheduTestSupport
import Testing
import X509

@testable import SheduServer

/// The VA as a relying party sees it: the PKI of ``DeviceWorld`` (`root-ca` above
/// `issuing-ca-01`), certificates written where openssl reads them, and the plain-HTTP listener
/// (fast path included) that openssl and curl talk to, while the API is called through the router.
struct VAWorld {
    let devices: DeviceWorld
    let app: TestApp
    let services: SheduServices
    var api: CAClient { devices.api }
    var client: any TestClientProtocol { devices.client }
    var token: String { devices.token }
    var folder: URL { app.folder }
    var httpPort: Int { app.configuration.httpPort! }

    var baseURL: String { "http://127.0.0.1:\(httpPort)" }
    var ocspURL: String { "\(baseURL)/api/va/ocsp" }

    /// A test server whose plain-HTTP listener runs while `withRouter` does (it is one of the
    /// application's services).
    static func app(_ backend: TestBackend, clock: (any WallClock)? = nil) async throws -> TestApp {
        var app = try await TestApp.make(backend) { $0.httpPort = try? freePort() }
        if let clock { app.clock = clock }
        return app
    }

    /// Runs `body` against a new server (on `backend`, with `clock`) and its PKI, then removes both.
    static func run(
        _ backend: TestBackend = .sqlite, clock: (any WallClock)? = nil, _ body: @escaping @Sendable (VAWorld) async throws -> Void
    ) async throws {
        let app = try await Self.app(backend, clock: clock)
        let token = try await app.token(.admin)
        try await app.withRouter { client, services in
            try await body(try await make(client: client, token: token, app: app, services: services))
        }
        await app.cleanup()
    }

    /// Creates the PKI and writes `root.pem`, `issuing.pem` and `chain.pem` (both).
    static func make(client: any TestClientProtocol, token: String, app: TestApp, services: SheduServices) async throws -> VAWorld {
        let world = VAWorld(devices: try await DeviceWorld.make(client: client, token: token), app: app, services: services)
        let root = try await world.caPEM("root-ca")
        let issuing = try await world.caPEM("issuing-ca-01")
        try world.write("root.pem", root)
        try world.write("issuing.pem", issuing)
        try world.write("chain.pem", issuing + root)
        try await world.waitForListener()
        return world
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    func write(_ name: String, _ data: Data) throws {
        try data.write(to: folder.appendingPathComponent(name))
    }

    func read(_ name: String) throws -> Data {
        try Data(contentsOf: folder.appendingPathComponent(name))
    }

    func caPEM(_ id: String) async throws -> String {
        try TestPKI.pem(fromAPI: try #require(try await api.get("/api/ca/v1/cas/\(id)")["certificate"]?["certificate"]?.stringValue))
    }

    /// The CA's subject key identifier: the `{ca_ski}` of its CRL.
    func ski(of id: String) async throws -> String {
        try #require(try await api.get("/api/ca/v1/cas/\(id)")["certificate"]?["subject_key_id"]?.stringValue)
    }

    /// Issues a certificate from `issuing-ca-01` and writes it to `<name>.pem`; returns its serial.
    @discardableResult
    func issue(_ name: String) async throws -> String {
        let serial = try await devices.issue(for: name)
        try write("\(name).pem", try await certificatePEM(serial))
        return serial
    }

    func certificatePEM(_ serial: String) async throws -> String {
        try TestPKI.pem(fromAPI: try #require(try await api.get("/api/ca/v1/certificates/\(serial)")["certificate"]?.stringValue))
    }

    func setStatus(_ serial: String, _ status: String, reason: String? = nil) async throws {
        let response = try await api.status("/api/ca/v1/certificates/\(serial)/status", status, reason: reason)
        #expect(response.status == .ok, "\(response.text)")
    }

    /// Runs a tool on a thread of its own: one that talks to this process's server must not hold
    /// one of the few threads the server's routes run on while it waits for their answer.
    func tool(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runTool(executable, arguments) })
            }
        }
    }

    /// The plain-HTTP listener starts with the application's services; wait for it.
    func waitForListener() async throws {
        for _ in 0..<200 {
            if let result = try? await tool("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(baseURL)/health"]),
                result.output == "200"
            {
                return
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("the plain-HTTP listener did not answer")
    }

    /// `openssl ocsp` asking the responder by POST about `certificates` of `issuer`, verifying
    /// the response against the root; stdout and stderr together.
    func opensslOCSP(_ certificates: [String], issuer: String = "issuing.pem", digest: String? = nil, extra: [String] = [])
        async throws -> String
    {
        let result = try await tool(
            "openssl",
            ["ocsp", "-issuer", path(issuer)] + (digest.map { ["-\($0)"] } ?? []) + certificates.flatMap { ["-cert", path("\($0).pem")] }
                + ["-url", ocspURL, "-CAfile", path("root.pem"), "-verify_other", path(issuer), "-resp_text"] + extra)
        return result.output + result.errors
    }

    /// A DER OCSP request made by openssl (`-no_nonce` unless `nonce`), written to `<file>`.
    func opensslRequest(_ certificate: String, issuer: String = "issuing.pem", nonce: Bool = false, file: String = "req.der")
        throws -> Data
    {
        _ = try openssl(
            ["ocsp", "-issuer", path(issuer), "-cert", path("\(certificate).pem"), "-reqout", path(file)]
                + (nonce ? [] : ["-no_nonce"]))
        return try read(file)
    }

    /// GETs `url`, writes the body to `file`, and returns the status and headers.
    func curl(_ url: String, to file: String, headers: [String] = [], method: String = "GET", body: String? = nil) async throws
        -> (status: Int, headers: [String: String])
    {
        var arguments = ["-s", "-X", method, "-o", path(file), "-D", path("\(file).headers")]
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["--data-binary", "@\(path(body))"] }
        let result = try await tool("curl", arguments + [url])
        guard result.status == 0 else { throw TestFailure("curl \(url) failed: \(result.errors)") }
        var fields: [String: String] = [:]
        var status = 0
        for line in String(decoding: try read("\(file).headers"), as: UTF8.self).split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") {
                status = Int(line.split(separator: " ")[1]) ?? 0
            } else if let colon = line.firstIndex(of: ":") {
                fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return (status, fields)
    }

    /// GET `/api/va/ocsp/{base64url}` for `request`; the response is written to `file`.
    func ocspGET(_ request: Data, file: String = "resp.der") async throws -> (status: Int, headers: [String: String]) {
        try await curl("\(ocspURL)/\(Self.base64URL(request))", to: file)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// openssl's reading of a response in `file` to the request in `request` (signature checked
    /// against the root, CertIDs and nonce against the request).
    func opensslReads(response file: String = "resp.der", request: String = "req.der", issuer: String = "issuing.pem") throws
        -> String
    {
        let result = try runTool(
            "openssl",
            ["ocsp", "-reqin", path(request), "-respin", path(file), "-CAfile", path("root.pem"), "-verify_other", path(issuer),
             "-resp_text"])
        return result.output + result.errors
    }

    /// A conditional GET of `uri` through the router (the first request after a restart, or on
    /// another replica) with `entityTag` gets 304: no body, no type, the validator echoed (and no
    /// length on the wire: NIO drops it from a 304).
    func expectRouterAnswersNotModified(_ uri: String, entityTag: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let routed = try await client.executeRequest(uri: uri, method: .get, headers: [.ifNoneMatch: entityTag], body: nil)
        #expect(routed.status == .notModified, sourceLocation: sourceLocation)
        #expect(routed.body.readableBytes == 0, sourceLocation: sourceLocation)
        #expect(routed.headers[.eTag] == entityTag, sourceLocation: sourceLocation)
        #expect(routed.headers[.contentType] == nil, sourceLocation: sourceLocation)
    }

    /// Downloads the CRL of `ski` into `file` (DER) and parses it.
    func downloadCRL(_ ski: String, file: String = "crl.der") async throws
        -> (crl: CertificateRevocationList, headers: [String: String])
    {
        let (status, headers) = try await curl("\(baseURL)/api/va/crl/\(ski)", to: file)
        guard status == 200 else {
            throw TestFailure("CRL download answered \(status): \(String(decoding: try read(file), as: UTF8.self))")
        }
        return (try CertificateRevocationList(derEncoded: Array(try read(file))), headers)
    }
}

extension CertificateRevocationList {
    func lists(_ serial: String) -> Bool {
        entries.contains { $0.serialNumber.hexString == serial }
    }

    func entry(_ serial: String) -> RevokedCertificate? {
        entries.first { $0.serialNumber.hexString == serial }
    }
}

/// OCSP requests written byte by byte, for the shapes openssl will not make (odd nonces, long
/// request lists).
enum HandmadeOCSPRequest {
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        guard content.count >= 128 else { return [tag, UInt8(content.count)] + content }
        let length = withUnsafeBytes(of: UInt32(content.count).bigEndian, Array.init).drop { $0 == 0 }
        return [tag, 0x80 | UInt8(length.count)] + length + content
    }

    /// `OCSPRequest { TBSRequest { requestList, requestExtensions [2] { nonce } } }` with the
    /// nonce's OCTET STRING as the extension's value, or, `bare`, the nonce's bytes alone (as
    /// some older clients send it).
    static func der(certIDs: [[UInt8]], nonce: [UInt8]?, bare: Bool = false) -> [UInt8] {
        let requestList = tlv(0x30, certIDs.flatMap { tlv(0x30, $0) })
        var tbs = requestList
        if let nonce {
            let nonceOID: [UInt8] = [0x06, 0x09, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02]
            let nonceExtension = tlv(0x30, nonceOID + tlv(0x04, bare ? nonce : tlv(0x04, nonce)))
            tbs += tlv(0xA2, tlv(0x30, nonceExtension))
        }
        return tlv(0x30, tlv(0x30, tbs))
    }
}
