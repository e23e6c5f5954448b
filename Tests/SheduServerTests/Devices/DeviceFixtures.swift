import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

/// The PKI and DMS the device tests stand on: a root, the seeds' `issuing-ca-01` below it with
/// the seeds' `device-profile`, and a DMS enrolling with that CA.
struct DeviceWorld {
    let api: CAClient
    var client: any TestClientProtocol { api.client }
    var token: String { api.token }

    static func make(
        client: any TestClientProtocol, token: String, dmsID: String = "manufacturing-dms", preventive: String = "1w",
        critical: String = "3d", profileValidity: String = "1y"
    ) async throws -> DeviceWorld {
        let api = CAClient(client: client, token: token)
        try await api.createProfile(
            """
            {"id":"device-profile","name":"Devices","validity":{"type":"Duration","duration":"\(profileValidity)"},
             "key_usage":["DigitalSignature"],"extended_key_usages":["ClientAuth"]}
            """)
        try await api.createCA(id: "root-ca", expiration: "20y")
        try await api.createCA(id: "issuing-ca-01", parent: "root-ca", expiration: "10y", profileID: "device-profile")
        let world = DeviceWorld(api: api)
        try await world.createDMS(dmsID, preventive: preventive, critical: critical)
        return world
    }

    @discardableResult
    func createDMS(_ id: String, preventive: String = "1w", critical: String = "3d", expect status: HTTPResponse.Status = .created)
        async throws -> TestResponse
    {
        let response = try await client.send(.post, "/api/dmsmanager/v1/dms", token: token, json: Self.dmsJSON(id, preventive: preventive, critical: critical))
        #expect(response.status == status, "create DMS \(id): \(response.text)")
        return response
    }

    static func dmsJSON(_ id: String, preventive: String = "1w", critical: String = "3d", enrollmentCA: String = "issuing-ca-01") -> String {
        """
        {"id":"\(id)","name":"DMS \(id)","settings":{
           "enrollment_settings":{"protocol":"EST_RFC7030","enrollment_ca":"\(enrollmentCA)","registration_mode":"JITP",
             "est_rfc7030_settings":{"auth_mode":"CLIENT_CERTIFICATE","client_certificate_settings":{"validation_cas":["root-ca"]}}},
           "reenrollment_settings":{"preventive_delta":"\(preventive)","critical_delta":"\(critical)","reenrollment_delta":"\(preventive)"}}}
        """
    }

    @discardableResult
    func register(_ id: String, dms: String = "manufacturing-dms", tags: [String] = [], metadata: String = "{}") async throws -> JSONValue {
        let tagList = tags.map { "\"\($0)\"" }.joined(separator: ",")
        let response = try await client.send(
            .post, "/api/devmanager/v1/devices", token: token,
            json: #"{"id":"\#(id)","dms_id":"\#(dms)","tags":[\#(tagList)],"metadata":\#(metadata)}"#)
        #expect(response.status == .created, "register \(id): \(response.text)")
        return try response.json()
    }

    /// A certificate for device `id` from `issuing-ca-01`; returns its serial number.
    func issue(for id: String, profile: String = "device-profile") async throws -> String {
        let response = try await api.sign(ca: "issuing-ca-01", csr: try TestPKI.csr(commonName: id, key: try TestPKI.key("ECDSA", 256)), profileID: profile)
        #expect(response.status == .created, "\(response.text)")
        return try #require(try response.json()["serial_number"]?.stringValue)
    }

    func bind(_ device: String, _ serial: String) async throws -> TestResponse {
        try await client.send(
            .post, "/api/dmsmanager/v1/dms/bind-identity", token: token,
            json: #"{"device_id":"\#(device)","certificate_serial_number":"\#(serial)"}"#)
    }

    func device(_ id: String) async throws -> JSONValue {
        try await api.get("/api/devmanager/v1/devices/\(id)")
    }

    func status(of id: String) async throws -> String? {
        try await device(id)["status"]?.stringValue
    }

    func ids(_ path: String) async throws -> [String] {
        try await api.all(path).compactMap { $0["id"]?.stringValue }
    }
}

extension DeviceWorld {
    func createProfile(id: String, validity: String) async throws {
        try await api.createProfile(
            #"{"id":"\#(id)","validity":{"type":"Duration","duration":"\#(validity)"},"key_usage":["DigitalSignature"],"extended_key_usages":["ClientAuth"]}"#)
    }
}
