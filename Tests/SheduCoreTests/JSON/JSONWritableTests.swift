import Foundation
import SheduPKI
import Testing
import X509

@testable import SheduCore

@Suite("Objects that write their own JSON")
struct JSONWritableTests {
    static let time = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    func parsed(_ value: some JSONWritable) throws -> JSONValue {
        var writer = JSONTextWriter()
        writer.write(value)
        return try JSONValueParser.parse(utf8: writer.bytes)
    }

    @Test("a device with an identity is written in Lamassu's form")
    func device() throws {
        var history = DeviceHistory()
        history.append(DeviceEvent(.created), at: Self.time)
        var slotHistory = DeviceHistory()
        slotHistory.append(DeviceEvent(.provisioned), at: Self.time)
        let device = Device(
            id: "d-1", dmsOwner: "dms", status: .decommissioned, tags: ["a", "quote\"d"], metadata: ["site": "lyon", "floor": 3],
            icon: "cpu", iconColor: "#fff", creationDate: Self.time,
            identity: IdentitySlot(activeVersion: 1, versions: [0: "01", 1: "0a"], expirationDate: Self.time, events: slotHistory),
            events: history)
        let key = DeviceHistory.key(Self.time, sequence: 0)
        #expect(
            try parsed(device) == [
                "id": "d-1", "dms_owner": "dms", "status": "DECOMMISSIONED", "creation_timestamp": "2026-01-01T00:00:00Z",
                "tags": ["a", "quote\"d"], "metadata": ["site": "lyon", "floor": 3], "icon": "cpu", "icon_color": "#fff",
                "identity_slot": [
                    "status": "REVOKED", "active_version": 1, "type": "x509", "versions": ["0": "01", "1": "0a"],
                    "expiration_date": "2026-01-01T00:00:00Z",
                    "events": .object([key: ["type": "PROVISIONED", "description": ""]]),
                ],
                "events": .object([key: ["type": "CREATED", "description": ""]]),
            ])
        let bare = Device(id: "d-2", dmsOwner: "dms", creationDate: Self.time)
        #expect(try parsed(bare)["identity_slot"] == .null)
        // Codable consumers read the same form back through the default Encodable conformance.
        #expect(try JSONValueEncoder.encode(device) == parsed(device))
    }

    @Test("a certificate is written with every field the API shows")
    func certificate() throws {
        let key = try SigningKey.generate(try KeySpec(algorithm: .ecdsa, bits: 256))
        let certificate = try CertificateBuilder.issue(
            .init(name: try DistinguishedName { CommonName("leaf") }, publicKey: key.publicKey),
            policy: IssuancePolicy(notAfter: Self.time.addingTimeInterval(86_400), extendedKeyUsages: [.clientAuth]),
            issuer: nil, selfSigningKey: key, now: Self.time)
        let record = try CertificateRecord(
            certificate: certificate, type: .importedWithoutKey, issuer: .unknown, metadata: ["k": "v"], creationDate: Self.time)
        let json = try parsed(record)
        #expect(
            Set(try #require(json.objectValue).keys) == [
                "serial_number", "subject_key_id", "authority_key_id", "metadata", "status", "certificate", "key_metadata",
                "subject", "issuer", "valid_from", "valid_to", "extensions", "issuer_metadata", "revocation_timestamp",
                "revocation_reason", "type", "engine_id", "is_ca",
            ])
        #expect(json["serial_number"] == .string(record.serialNumber))
        #expect(json["key_metadata"] == ["type": "ECDSA", "bits": 256, "strength": "HIGH"])
        #expect(json["subject"]?["common_name"] == "leaf")
        #expect(json["extensions"]?["extended_key_usage"] == ["ClientAuth"])
        #expect(json["valid_from"] == "2025-12-31T23:59:00Z", "backdated a minute for clock skew")
        #expect(json["revocation_timestamp"] == "0001-01-01T00:00:00Z")
        #expect(json["issuer_metadata"] == ["serial_number": "-", "id": "-", "level": -1])
        let base64PEM = try #require(json["certificate"]?.stringValue)
        let pem = String(decoding: try #require(Data(base64Encoded: base64PEM)), as: UTF8.self)
        #expect(try Certificate(pemEncoded: pem) == certificate)
        #expect(json["metadata"] == ["k": "v"])
        #expect(json["is_ca"] == false)
    }
}
