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
