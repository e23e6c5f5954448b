import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("VA: roles (CRL options)")
struct VARoleTests {
    @Test(arguments: TestBackend.available)
    func rolesShowLamassusDefaultsAndTakeNewOptions(_ backend: TestBackend) async throws {
        try await VAWorld.run(backend) { world in
            let ski = try await world.ski(of: "issuing-ca-01")

            // Public, as the rest of the VA; the CA's first CRL is issued on the way.
            let role = try await world.client.send(.get, "/api/va/v1/roles/\(ski)")
            #expect(role.status == .ok, "\(role.text)")
            let json = try role.json()
            #expect(json["ca_ski"] == .string(ski))
            #expect(json["crl_options"] == ["refresh_interval": "6d23h", "validity": "1w", "subject_key_id_signer": .string(ski), "regenerate_on_revoke": true])
            let version = try #require(json["latest_crl"]?["version"]?.stringValue)
            #expect(UInt64(version) != nil)
            let from = try #require(json["latest_crl"]?["valid_from"]?.stringValue.flatMap { RFC3339.parse($0) })
            let until = try #require(json["latest_crl"]?["valid_until"]?.stringValue.flatMap { RFC3339.parse($0) })
            #expect(until.timeIntervalSince(from) == 7 * 86_400)

            // Changing needs an operator's token; Lamassu's body shape, bare or under crl_options.
            let anonymous = try await world.client.send(.put, "/api/va/v1/roles/\(ski)", json: #"{"validity":"2w"}"#)
            #expect(anonymous.status == .unauthorized)
            let viewer = try await world.app.token(.viewer)
            #expect(try await world.client.send(.put, "/api/va/v1/roles/\(ski)", token: viewer, json: #"{"validity":"2w"}"#).status == .forbidden)
            let put = try await world.client.send(
                .put, "/api/va/v1/roles/\(ski)", token: world.token,
                json: #"{"crl_options":{"refresh_interval":"1d","validity":"2w","subject_key_id_signer":"\#(ski)","regenerate_on_revoke":true}}"#)
            #expect(put.status == .ok, "\(put.text)")
            let updated = try put.json()
            #expect(updated["crl_options"]?["refresh_interval"] == "1d")
            #expect(updated["crl_options"]?["validity"] == "2w")
            let newVersion = try #require(updated["latest_crl"]?["version"]?.stringValue.flatMap { UInt64($0) })
            #expect(newVersion > UInt64(version)!, "the CRL follows the new options at once")
            let crl = try await world.downloadCRL(ski).crl
            #expect(crl.number?.uint64Value == newVersion)
            #expect(try #require(crl.nextUpdate).timeIntervalSince(crl.thisUpdate) == 14 * 86_400)

            // A field left out keeps its value.
            let partial = try await world.client.send(.put, "/api/va/v1/roles/\(ski)", token: world.token, json: #"{"regenerate_on_revoke":false}"#)
            #expect(try partial.json()["crl_options"] == ["refresh_interval": "1d", "validity": "2w", "subject_key_id_signer": .string(ski), "regenerate_on_revoke": false])
            #expect(try await world.client.send(.get, "/api/va/v1/roles/\(ski)").json()["crl_options"]?["regenerate_on_revoke"] == false)
        }
    }

    @Test func badOptionsAndUnknownCAsAreRefused() async throws {
        try await VAWorld.run { world in
            let ski = try await world.ski(of: "issuing-ca-01")
            let cases: [(String, String)] = [
                (#"{"validity":"forever"}"#, "validity 'forever' is not a duration"),
                (#"{"crl_options":{"refresh_interval":"-1h"}}"#, "crl_options.refresh_interval '-1h' must not be negative"),
                (#"{"refresh_interval":"10s"}"#, "refresh_interval '10s' is shorter than the minimum of 1m"),
                (#"{"refresh_interval":"2w","validity":"1w"}"#, "validity '1w' must be at least 1m longer than refresh_interval '2w'"),
                (#"{"subject_key_id_signer":"abcd"}"#, "subject_key_id_signer 'abcd' is not the CA's own key"),
                (#"{"regenerate_on_revoke":"yes"}"#, "regenerate_on_revoke"),
                // A misspelt or camel-case option answered 200 and changed nothing.
                (#"{"validty":"2w"}"#, "validty is not a field of the CRL options"),
                (#"{"refreshInterval":"1d","validity":"2w"}"#, "refreshInterval is not a field of the CRL options"),
                (#"{"crl_options":{"validty":"2w"}}"#, "crl_options.validty is not a field of the CRL options"),
                (#"{"crl_options":{"validity":"2w"},"owner":"x"}"#, "owner is not a field of a CRL role"),
                ("{}", "the body names no CRL option"),
            ]
            for (body, message) in cases {
                let response = try await world.client.send(.put, "/api/va/v1/roles/\(ski)", token: world.token, json: body)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
                #expect(try response.json()["err"]?.stringValue?.contains(message) == true, "\(body): \(response.text)")
            }
            #expect(try await world.client.send(.get, "/api/va/v1/roles/\(ski)").json()["crl_options"]?["validity"] == "1w", "unchanged")
            // The role as GET answers it goes back as it is.
            let role = try await world.client.send(.get, "/api/va/v1/roles/\(ski)").text
            #expect(try await world.client.send(.put, "/api/va/v1/roles/\(ski)", token: world.token, json: role).status == .ok)

            let unknown = String(repeating: "0", count: 64)
            let missing = try await world.client.send(.get, "/api/va/v1/roles/\(unknown)")
            #expect(missing.status == .notFound)
            #expect(try missing.json()["err"] == .string("VA role '\(unknown)' not found: no CA has that subject key identifier"))
            #expect(try await world.client.send(.put, "/api/va/v1/roles/\(unknown)", token: world.token, json: #"{"validity":"1w"}"#).status == .notFound)
            #expect(try await world.client.send(.get, "/api/va/v1/roles/xyz").status == .badRequest)
        }
    }
}
