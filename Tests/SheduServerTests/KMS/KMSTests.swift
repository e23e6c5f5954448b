import Foundation
import Hummingbird
import HummingbirdTesting
import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer

@Suite("KMS: keys made, imported and used, never shown")
struct KMSTests {
    static let keyKinds: [(String, Int)] = [
        ("ECDSA", 256), ("ECDSA", 384), ("ECDSA", 521), ("RSA", 2048), ("RSA", 3072), ("Ed25519", 256),
    ]

    static func schemes(for algorithm: String, size: Int) -> [String] {
        switch algorithm {
        case "ECDSA": ["ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512"]
        case "RSA": ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
                     "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"]
        default: ["ED25519"]
        }
    }

    @Test func everyKeyKindSignsAndOpenSSLVerifies() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        let viewer = try await app.token(.viewer)
        let work = try makeTemporaryFolder()
        let message = Data("the device says hello".utf8)
        try message.write(to: work.appendingPathComponent("message"))
        try await app.withRouter { client in
            for (algorithm, size) in Self.keyKinds {
                let created = try await client.send(
                    .post, "/api/kms/v1/keys", token: token,
                    json: #"{"algorithm":"\#(algorithm)","size":\#(size),"name":"k-\#(algorithm)-\#(size)","tags":["t1"]}"#)
                #expect(created.status == .created, "\(algorithm) \(size): \(created.text)")
                let key = try created.json()
                #expect(key["algorithm"] == .string(algorithm))
                #expect(key["size"] == .int(Int64(size)))
                #expect(key["has_private_key"] == true)
                #expect(key["engine_id"] == "software")
                #expect(key["tags"] == ["t1"])
                let id = try #require(key["key_id"]?.stringValue)
                #expect(id.count == 64)

                // The key id is SHA-256 of the DER SubjectPublicKeyInfo, as openssl computes it.
                let publicPEM = String(decoding: Data(base64Encoded: try #require(key["public_key"]?.stringValue))!, as: UTF8.self)
                try publicPEM.write(to: work.appendingPathComponent("public.pem"), atomically: true, encoding: .utf8)
                let spkiHash = try openssl(["pkey", "-pubin", "-in", "public.pem", "-outform", "DER"], in: work)
                _ = spkiHash
                let digest = try runTool("sh", ["-c", "openssl pkey -pubin -in public.pem -outform DER | sha256sum"], in: work)
                #expect(digest.output.hasPrefix(id), "\(algorithm) \(size)")

                for scheme in Self.schemes(for: algorithm, size: size) {
                    let body = #"{"algorithm":"\#(scheme)","message":"\#(message.base64EncodedString())","message_type":"raw"}"#
                    let signed = try await client.send(.post, "/api/kms/v1/keys/\(id)/sign", token: token, json: body)
                    #expect(signed.status == .ok, "\(scheme): \(signed.text)")
                    let signature = try #require(try signed.json()["signature"]?.stringValue)
                    let verify = #"{"algorithm":"\#(scheme)","message":"\#(message.base64EncodedString())","message_type":"raw","signature":"\#(signature)"}"#
                    // Checking changes nothing: a viewer may.
                    let verified = try await client.send(.post, "/api/kms/v1/keys/\(id)/verify", token: viewer, json: verify)
                    #expect(try verified.json()["valid"] == true, "\(scheme)")
                    let tampered = verify.replacingOccurrences(of: message.base64EncodedString(), with: Data("other".utf8).base64EncodedString())
                    #expect(try await client.send(.post, "/api/kms/v1/keys/\(id)/verify", token: token, json: tampered).json()["valid"] == false)

                    // And openssl agrees.
                    try Data(base64Encoded: signature)!.write(to: work.appendingPathComponent("signature"))
                    var arguments = ["pkeyutl", "-verify", "-pubin", "-inkey", "public.pem", "-sigfile", "signature", "-in", "message", "-rawin"]
                    if scheme != "ED25519" {
                        let hash = "sha" + scheme.suffix(3)
                        arguments = ["dgst", "-\(hash)", "-verify", "public.pem", "-signature", "signature"]
                        if scheme.hasPrefix("RSASSA_PSS") {
                            arguments += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
                        }
                        arguments.append("message")
                    }
                    let check = try runTool("openssl", arguments, in: work)
                    #expect(check.output.contains("Verified OK") || check.output.contains("Signature Verified Successfully"),
                            "\(scheme): \(check.output) \(check.errors)")
                }
            }
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    @Test func precomputedHashesSignLikeMessages() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        try await app.withRouter { client in
            for (algorithm, size, scheme, hashName) in [("ECDSA", 256, "ECDSA_SHA_256", "sha256"), ("RSA", 2048, "RSASSA_PKCS1_V1_5_SHA_384", "sha384")] {
                let id = try #require(try await client.send(
                    .post, "/api/kms/v1/keys", token: token, json: #"{"algorithm":"\#(algorithm)","size":\#(size),"name":"k"}"#
                ).json()["key_id"]?.stringValue)
                let message = Data("firmware image".utf8)
                let digestHex = try runTool("sh", ["-c", "printf 'firmware image' | openssl dgst -\(hashName) -binary | base64 -w0"]).output
                let signed = try await client.send(
                    .post, "/api/kms/v1/keys/\(id)/sign", token: token,
                    json: #"{"algorithm":"\#(scheme)","message":"\#(digestHex)","message_type":"hash"}"#)
                #expect(signed.status == .ok, "\(signed.text)")
                let signature = try #require(try signed.json()["signature"]?.stringValue)
                let verified = try await client.send(
                    .post, "/api/kms/v1/keys/\(id)/verify", token: token,
                    json: #"{"algorithm":"\#(scheme)","message":"\#(message.base64EncodedString())","message_type":"raw","signature":"\#(signature)"}"#)
                #expect(try verified.json()["valid"] == true)
                let wrongLength = try await client.send(
                    .post, "/api/kms/v1/keys/\(id)/sign", token: token,
                    json: #"{"algorithm":"\#(scheme)","message":"AAAA","message_type":"hash"}"#)
                #expect(wrongLength.status == .badRequest)
                #expect(try wrongLength.json()["err"]?.stringValue?.contains("bytes") == true)
                // Verifying a hash of the wrong length is refused alike, whatever the signature
                // holds (a signature that did not parse answered {"valid": false}).
                for candidate in [signature, Data("garbage".utf8).base64EncodedString()] {
                    let verifyWrongLength = try await client.send(
                        .post, "/api/kms/v1/keys/\(id)/verify", token: token,
                        json: #"{"algorithm":"\#(scheme)","message":"AAAA","message_type":"hash","signature":"\#(candidate)"}"#)
                    #expect(verifyWrongLength.status == .badRequest, "\(verifyWrongLength.text)")
                }
            }
        }
        await app.cleanup()
    }

    @Test func importsPKCS8PKCS1AndSEC1AndNeverShowsOrStoresThePrivateKey() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        let work = try makeTemporaryFolder()
        _ = try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "pkcs8.pem"], in: work)
        _ = try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sec1.pem"], in: work)
        _ = try openssl(["genrsa", "-traditional", "-out", "pkcs1.pem", "2048"], in: work)
        _ = try openssl(["genpkey", "-algorithm", "ED25519", "-out", "ed.pem"], in: work)
        // Without -noout, as most guides write it: the curve's EC PARAMETERS block comes first.
        _ = try openssl(["ecparam", "-name", "secp521r1", "-genkey", "-out", "sec1-params.pem"], in: work)
        let shared = Shared<[(file: String, id: String, secret: String)]>([])
        try await app.withRouter { client in
            for (file, algorithm, size) in [
                ("pkcs8.pem", "ECDSA", 384), ("sec1.pem", "ECDSA", 256), ("pkcs1.pem", "RSA", 2048), ("ed.pem", "Ed25519", 256),
                ("sec1-params.pem", "ECDSA", 521),
            ] {
                let pem = try String(contentsOf: work.appendingPathComponent(file), encoding: .utf8)
                let body = #"{"private_key":"\#(Data(pem.utf8).base64EncodedString())","name":"\#(file)"}"#
                let response = try await client.send(.post, "/api/kms/v1/keys/import", token: token, json: body)
                #expect(response.status == .created, "\(file): \(response.text)")
                let key = try response.json()
                #expect(key["algorithm"] == .string(algorithm))
                #expect(key["size"] == .int(Int64(size)))
                let expectedID = try runTool("sh", ["-c", "openssl pkey -in \(file) -pubout -outform DER | sha256sum"], in: work).output
                let id = try #require(key["key_id"]?.stringValue)
                #expect(expectedID.hasPrefix(id), "\(file)")
                // The private key's secret part, as hex, to look for later.
                let der = try runTool("sh", ["-c", "openssl pkey -in \(file) -outform DER | od -An -tx1 | tr -d ' \\n'"], in: work).output
                shared.withLock { $0.append((file, id, String(der.suffix(40)))) }

                let again = try await client.send(.post, "/api/kms/v1/keys/import", token: token, json: body)
                #expect(again.status == .conflict)
            }
            var everything = ""
            everything += try await client.send(.get, "/api/kms/v1/keys?page_size=100", token: token).text
            for key in shared.value { everything += try await client.send(.get, "/api/kms/v1/keys/\(key.id)", token: token).text }
            for file in ["pkcs8.pem", "sec1.pem", "pkcs1.pem", "ed.pem", "sec1-params.pem"] {
                let pem = try String(contentsOf: work.appendingPathComponent(file), encoding: .utf8)
                let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
                #expect(!everything.contains(body.prefix(40)), "\(file) shows up in a response")
            }
        }
        // Nothing in the data folder or database holds a private key in clear.
        let files = try FileManager.default.subpathsOfDirectory(atPath: app.folder.path)
        var bytes = Data()
        for file in files {
            if let data = FileManager.default.contents(atPath: app.folder.appendingPathComponent(file).path) { bytes += data }
        }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        for key in shared.value {
            #expect(!hex.contains(key.secret), "\(key.file)'s private key is stored in clear")
        }
        try? FileManager.default.removeItem(at: work)
        await app.cleanup()
    }

    @Test func badInputIsRefusedAndChangesNothing() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.operator)
        let encrypted = try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:x"])
        // RSA keys of sizes POST /keys does not make (and /engines does not list).
        let odd = try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2050"])
        let weak = try openssl(["genrsa", "-traditional", "1024"])
        try await app.withRouter { client in
            let cases: [(String, String, String)] = [
                ("/api/kms/v1/keys/import", #"{"name":"odd","private_key":"\#(Data(odd.utf8).base64EncodedString())"}"#,
                 "private_key: RSA keys come in sizes 2048, 3072, 4096, not 2050"),
                ("/api/kms/v1/keys/import", #"{"name":"weak","private_key":"\#(Data(weak.utf8).base64EncodedString())"}"#,
                 "private_key: RSA keys come in sizes 2048, 3072, 4096, not 1024"),
                ("/api/kms/v1/keys", #"{"algorithm":"DSA","size":2048,"name":"k"}"#, "algorithm 'DSA' is not one of RSA, ECDSA, Ed25519"),
                ("/api/kms/v1/keys", #"{"algorithm":"RSA","size":1024,"name":"k"}"#, "RSA keys come in sizes 2048, 3072, 4096, not 1024"),
                ("/api/kms/v1/keys", #"{"algorithm":"ECDSA","size":224,"name":"k"}"#, "ECDSA keys come in sizes 256, 384, 521"),
                ("/api/kms/v1/keys", #"{"algorithm":"ECDSA","size":256,"name":"k","engine_id":"hsm"}"#, "engine_id 'hsm' is not one of: software"),
                ("/api/kms/v1/keys", #"{"size":256}"#, "algorithm is required"),
                ("/api/kms/v1/keys", #"{"algorithm":"RSA","name":"k"}"#, "size is required for RSA keys: one of 2048, 3072, 4096"),
                ("/api/kms/v1/keys", #"{"algorithm":"ECDSA","size":256}"#, "name is required"),
                ("/api/kms/v1/keys", #"{"algorithm":"ECDSA","size":256,"name":""}"#, "name must not be empty"),
                ("/api/kms/v1/keys", #"{"algorithm":"ECDSA","size":256,"name":"   "}"#, "name must not be empty"),
                ("/api/kms/v1/keys/import", #"{"name":" ","private_key":"\#(Data(encrypted.utf8).base64EncodedString())"}"#, "name must not be empty"),
                ("/api/kms/v1/keys/import", #"{"private_key":"not base64!"}"#, "private_key must be base64 of a PEM private key"),
                ("/api/kms/v1/keys/import", #"{"private_key":"\#(Data("hello".utf8).base64EncodedString())"}"#, "private_key is not a PEM private key"),
                ("/api/kms/v1/keys/import", #"{"private_key":"\#(Data(encrypted.utf8).base64EncodedString())"}"#, "private_key is encrypted"),
            ]
            for (path, body, message) in cases {
                let response = try await client.send(.post, path, token: token, json: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(try response.json()["err"]?.stringValue?.contains(message) == true, "\(body) → \(response.text)")
            }
            #expect(try await client.send(.get, "/api/kms/v1/keys", token: token).json() == ["list": []])
            let missing = try await client.send(.get, "/api/kms/v1/keys/nope", token: token)
            #expect(missing.status == .notFound)
            #expect(try missing.json()["err"] == "key 'nope' not found")

            let id = try #require(try await client.send(.post, "/api/kms/v1/keys", token: token, json: #"{"algorithm":"ECDSA","size":256,"name":"k"}"#).json()["key_id"]?.stringValue)
            let wrongScheme = try await client.send(
                .post, "/api/kms/v1/keys/\(id)/sign", token: token, json: #"{"algorithm":"RSASSA_PSS_SHA_256","message":"AA=="}"#)
            #expect(wrongScheme.status == .badRequest)
            #expect(try wrongScheme.json()["err"] == "RSASSA_PSS_SHA_256 does not apply to an ECDSA key")
            let badMessage = try await client.send(
                .post, "/api/kms/v1/keys/\(id)/sign", token: token, json: #"{"algorithm":"ECDSA_SHA_256","message":"%%%"}"#)
            #expect(try badMessage.json()["err"] == "message must be base64")
            let unsigned = try await client.send(
                .post, "/api/kms/v1/keys/\(id)/verify", token: token, json: #"{"algorithm":"ECDSA_SHA_256","message":"AA=="}"#)
            #expect(try unsigned.json()["err"] == "signature is required: base64 of the signature to verify")

            // A CA on that key; empty type and bits are what clients that write every field send.
            let onKey = try await client.send(
                .post, "/api/ca/v1/cas", token: token,
                json: #"{"id":"on-key","subject":{"common_name":"On key"},"key_metadata":{"key_id":"\#(id)","type":"","bits":0},"ca_expiration":{"type":"Duration","duration":"1y"}}"#)
            #expect(onKey.status == .created, "\(onKey.text)")
            #expect(try onKey.json()["certificate"]?["subject_key_id"]?.stringValue == id)
            let other = try #require(try await client.send(.post, "/api/kms/v1/keys", token: token, json: #"{"algorithm":"ECDSA","size":256,"name":"k2"}"#).json()["key_id"]?.stringValue)
            // The key's own type and size, echoed, are fine; another key's are not.
            let echoed = try await client.send(
                .post, "/api/ca/v1/cas", token: token,
                json: #"{"id":"echoed","subject":{"common_name":"Echoed"},"key_metadata":{"key_id":"\#(other)","type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"1y"}}"#)
            #expect(echoed.status == .created, "\(echoed.text)")
            let third = try #require(try await client.send(.post, "/api/kms/v1/keys", token: token, json: #"{"algorithm":"ECDSA","size":256,"name":"k3"}"#).json()["key_id"]?.stringValue)
            let both = try await client.send(
                .post, "/api/ca/v1/cas", token: token,
                json: #"{"id":"both","subject":{"common_name":"Both"},"key_metadata":{"key_id":"\#(third)","type":"RSA","bits":2048},"ca_expiration":{"type":"Duration","duration":"1y"}}"#)
            #expect(try both.json()["err"] == "key_metadata: type and bits describe a new key, key_id an existing one (ECDSA 256); give one or the other")
        }
        await app.cleanup()
    }

    @Test func namesTagsAliasesMetadataAndDeletion() async throws {
        let app = try await TestApp.make()
        let operatorToken = try await app.token(.operator)
        let admin = try await app.token(.admin)
        let viewer = try await app.token(.viewer)
        try await app.withRouter { client in
            #expect(try await client.send(.post, "/api/kms/v1/keys", token: viewer, json: #"{"algorithm":"ECDSA","size":256,"name":"k"}"#).status == .forbidden)
            let first = try #require(try await client.send(.post, "/api/kms/v1/keys", token: operatorToken, json: #"{"algorithm":"ECDSA","size":256,"name":"a"}"#).json()["key_id"]?.stringValue)
            let second = try #require(try await client.send(.post, "/api/kms/v1/keys", token: operatorToken, json: #"{"algorithm":"Ed25519","name":"b"}"#).json()["key_id"]?.stringValue)

            let renamed = try await client.send(.put, "/api/kms/v1/keys/\(first)/name", token: operatorToken, json: #"{"name":"gateway key"}"#)
            #expect(try renamed.json()["name"] == "gateway key")
            let tagged = try await client.send(.put, "/api/kms/v1/keys/\(first)/tags", token: operatorToken, json: #"{"tags":["prod","gw"]}"#)
            #expect(try tagged.json()["tags"] == ["prod", "gw"])
            let aliased = try await client.send(
                .put, "/api/kms/v1/keys/\(first)/alias", token: operatorToken,
                json: #"{"patches":[{"op":"add","path":"/-","value":"gateway"},{"op":"add","path":"/-","value":"gw-1"}]}"#)
            #expect(try aliased.json()["aliases"] == ["gateway", "gw-1"])
            #expect(try await client.send(.get, "/api/kms/v1/keys/gateway", token: viewer).json()["key_id"] == .string(first))
            #expect(try await client.send(.get, "/api/kms/v1/keys/\(first.uppercased())", token: viewer).json()["key_id"] == .string(first))
            #expect(try await client.send(.get, "/api/kms/v1/keys/pkcs11:token-id=software;id=\(first);type=private", token: viewer).json()["key_id"] == .string(first))
            let taken = try await client.send(
                .put, "/api/kms/v1/keys/\(second)/alias", token: operatorToken, json: #"{"patches":[{"op":"add","path":"/-","value":"gateway"}]}"#)
            #expect(taken.status == .conflict)
            #expect(try taken.json()["err"] == "alias 'gateway' is already used by another key")
            #expect(try await client.send(.get, "/api/kms/v1/keys/\(second)", token: viewer).json()["aliases"] == [])
            // Aliases a lookup could never reach (it tries ids and PKCS#11 URIs first), and an empty name.
            for shadow in [first, "pkcs11:id=\(first)"] {
                let refused = try await client.send(
                    .put, "/api/kms/v1/keys/\(second)/alias", token: operatorToken, json: #"{"patches":[{"op":"add","path":"/-","value":"\#(shadow)"}]}"#)
                #expect(refused.status == .badRequest, "\(refused.text)")
                #expect(try refused.json()["err"] == .string("alias '\(shadow)' is a key id or a pkcs11: URI, which a lookup reads as such"))
            }
            let unnamed = try await client.send(.put, "/api/kms/v1/keys/\(second)/name", token: operatorToken, json: #"{"name":" "}"#)
            #expect(unnamed.status == .badRequest)
            #expect(try unnamed.json()["err"] == "name must not be empty")
            #expect(try await client.send(.get, "/api/kms/v1/keys/\(second)", token: viewer).json()["name"] == "b", "nothing changed")

            let metadata = try await client.send(.patch, "/api/kms/v1/keys/gateway/metadata", token: operatorToken, json: #"{"site":"plant-1"}"#)
            #expect(try metadata.json()["metadata"] == ["site": "plant-1"])
            // Metadata nested past what is read back, or grown by copies, is refused and not stored:
            // stored, it left the key (and the whole list) answering 500.
            let deepPath = String(repeating: "/a", count: 600)
            let copies = (0..<30).map { #"{"op":"copy","from":"","path":"/c\#($0)"}"# }.joined(separator: ",")
            for patch in [#"{"patches":[{"op":"add","path":"\#(deepPath)","value":1}]}"#, #"{"patches":[\#(copies)]}"#] {
                let refused = try await client.send(.patch, "/api/kms/v1/keys/gateway/metadata", token: operatorToken, json: patch)
                #expect(refused.status == .badRequest, "\(refused.text)")
                #expect(try refused.json()["err"]?.stringValue?.contains("deeper than 64 levels") == true
                    || refused.json()["err"]?.stringValue?.contains("longer than 1 MiB") == true, "\(refused.text)")
            }
            #expect(try await client.send(.get, "/api/kms/v1/keys/gateway", token: viewer).json()["metadata"] == ["site": "plant-1"])
            #expect(try await client.send(.get, "/api/kms/v1/keys", token: viewer).status == .ok)

            let filtered = try await client.send(.get, "/api/kms/v1/keys?filter=tags[contains]gw&filter=algorithm[eq]ECDSA", token: viewer)
            #expect(try filtered.json()["list"]?.arrayValue?.count == 1)
            let stats = try await client.send(.get, "/api/kms/v1/stats", token: viewer)
            #expect(try stats.json() == ["total_keys": 2, "keys_distribution_per_engine": ["software": 2],
                                         "keys_distribution_per_algorithm": ["ECDSA": 1, "RSA": 0, "Ed25519": 1]])
            let engines = try await client.send(.get, "/api/kms/v1/engines", token: viewer)
            #expect(try engines.json().arrayValue?.first?["id"] == "software")

            #expect(try await client.send(.delete, "/api/kms/v1/keys/gateway", token: operatorToken).status == .forbidden)
            #expect(try await client.send(.delete, "/api/kms/v1/keys/gateway", token: admin).status == .noContent)
            #expect(try await client.send(.get, "/api/kms/v1/keys/\(first)", token: viewer).status == .notFound)
            #expect(try await client.send(.get, "/api/kms/v1/keys/gateway", token: viewer).status == .notFound)
        }
        await app.cleanup()
    }

    /// A server does not start with a master key that opens none of the keys it holds, lost (a
    /// missing master.key is made anew on start) or replaced: it would answer 500 for every CA and
    /// seal new keys under the other one. The master key it was made with starts it again.
    @Test func aMasterKeyThatOpensNoStoredKeyKeepsTheServerDown() async throws {
        let app = try await TestApp.make()
        let token = try await app.token(.admin)
        try await app.withRouter { client in
            try await CAClient(client: client, token: token).createCA(id: "root", expiration: "5y")
        }
        let masterKey = app.dataFolder.masterKey
        let original = try Data(contentsOf: masterKey)
        let another = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        for replace in [{ try FileManager.default.removeItem(at: masterKey) }, { try another.write(to: masterKey) }] {
            try replace()
            let refused = await #expect(throws: SheduError.self) {
                _ = try await buildApplication(configuration: app.configuration, logger: app.logger)
            }
            #expect(refused?.kind == .unavailable)
            #expect(refused?.message.contains("\(masterKey.path) does not open the private keys stored in the database") == true, "\(String(describing: refused))")
        }
        try original.write(to: masterKey)
        try await app.withRouter { client in
            let root = try await client.send(.get, "/api/ca/v1/cas/root", token: token)
            #expect(root.status == .ok, "\(root.text)")
        }
        await app.cleanup()
    }
}
