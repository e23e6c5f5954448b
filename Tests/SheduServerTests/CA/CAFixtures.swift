import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import Testing

@testable import SheduServer

/// Calls the CA API the way a user would, for the CA tests.
struct CAClient {
    let client: any TestClientProtocol
    let token: String

    @discardableResult
    func createCA(
        id: String, parent: String? = nil, commonName: String? = nil, type: String = "ECDSA", bits: Int = 256,
        expiration: String = "10y", profileID: String? = nil, expect status: HTTPResponse.Status = .created
    ) async throws -> JSONValue {
        var body: [String: JSONValue] = [
            "id": .string(id), "subject": ["common_name": .string(commonName ?? id), "organization": "Shedu Tests"],
            "key_metadata": ["type": .string(type), "bits": .int(Int64(bits))],
            "ca_expiration": ["type": "Duration", "duration": .string(expiration)],
        ]
        if let parent { body["parent_id"] = .string(parent) }
        if let profileID { body["profile_id"] = .string(profileID) }
        let response = try await client.send(.post, "/api/ca/v1/cas", token: token, json: JSONValue.object(body).jsonText())
        #expect(response.status == status, "create CA \(id): \(response.text)")
        return try response.json()
    }

    @discardableResult
    func createProfile(_ json: String) async throws -> JSONValue {
        let response = try await client.send(.post, "/api/ca/v1/profiles", token: token, json: json)
        #expect(response.status == .created, "\(response.text)")
        return try response.json()
    }

    func sign(ca: String, csr: String, profileID: String? = "device-profile", path: String = "sign") async throws -> TestResponse {
        var body: [String: JSONValue] = ["csr": .string(csr)]
        if let profileID { body["profile_id"] = .string(profileID) }
        let route = path == "sign" ? "/api/ca/v1/cas/\(ca)/sign" : "/api/ca/v1/cas/\(ca)/certificates/sign"
        return try await client.send(.post, route, token: token, json: JSONValue.object(body).jsonText())
    }

    func get(_ path: String) async throws -> JSONValue {
        let response = try await client.send(.get, path, token: token)
        #expect(response.status == .ok, "\(path): \(response.text)")
        return try response.json()
    }

    func status(_ path: String, _ status: String, reason: String? = nil) async throws -> TestResponse {
        var body: [String: JSONValue] = ["status": .string(status)]
        if let reason { body["revocation_reason"] = .string(reason) }
        return try await client.send(.post, path, token: token, json: JSONValue.object(body).jsonText())
    }

    /// Every item of a list, following bookmarks.
    func all(_ path: String) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var uri = path
        while true {
            let page = try await get(uri)
            items += page["list"]?.arrayValue ?? []
            guard let next = page["next"]?.stringValue else { return items }
            uri = path.split(separator: "?")[0] + "?bookmark=\(next)"
        }
    }
}

let deviceProfile = """
    {"id":"device-profile","name":"Devices","validity":{"type":"Duration","duration":"1y"},
     "key_usage":["DigitalSignature","KeyEncipherment"],"extended_key_usages":["ClientAuth"]}
    """

/// A PKI outside Shedu, made with openssl in a test's folder: each certificate is NAME.pem with
/// its P-256 key in NAME.key.
struct OutsidePKI: Sendable {
    let folder: URL

    /// What makes an issued certificate an intermediate CA (an openssl extension file).
    static let intermediate = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"

    /// A self-signed root CA valid for ten years.
    func root(_ name: String, commonName: String) throws {
        _ = try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(name).key",
                         "-out", "\(name).pem", "-subj", "/CN=\(commonName)", "-days", "3650",
                         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], in: folder)
    }

    /// A certificate for a new key signed by `issuer`; `extensions` (an openssl extension file's
    /// text, such as ``intermediate``) decides what it is, openssl's defaults otherwise.
    func issue(_ name: String, commonName: String, by issuer: String, days: Int, extensions: String? = nil) throws {
        _ = try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(name).key",
                         "-out", "\(name).csr", "-subj", "/CN=\(commonName)"], in: folder)
        var arguments = ["x509", "-req", "-in", "\(name).csr", "-CA", "\(issuer).pem", "-CAkey", "\(issuer).key", "-CAcreateserial",
                         "-out", "\(name).pem", "-days", "\(days)"]
        if let extensions {
            try extensions.write(to: folder.appendingPathComponent("\(name).cnf"), atomically: true, encoding: .utf8)
            arguments += ["-extfile", "\(name).cnf"]
        }
        _ = try openssl(arguments, in: folder)
    }

    /// A file of the folder in base64, as the import endpoints take PEM.
    func base64(_ file: String) throws -> String {
        try Data(contentsOf: folder.appendingPathComponent(file)).base64EncodedString()
    }
}
