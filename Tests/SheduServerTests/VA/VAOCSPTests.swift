import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SheduCore
import SheduPKI
import SheduTestSupport
import Testing
import X509

@testable import SheduServer

@Suite("VA: the OCSP responder")
struct VAOCSPTests {
    /// openssl asks by POST (with its nonce) and by GET (a cacheable request); it verifies each
    /// signature against the root and reads good, then revoked with the reason, at once.
    @Test(arguments: TestBackend.available)
    func opensslSeesGoodThenRevokedByPostAndGet(_ backend: TestBackend) async throws {
        try await VAWorld.run(backend) { world in
            let serial = try await world.issue("device-1")
            let request = try world.opensslRequest("device-1")

            let good = try await world.opensslOCSP(["device-1"])
            #expect(good.contains("Response verify OK"), "\(good)")
            #expect(good.contains("device-1.pem: good"), "\(good)")
            #expect(!good.contains("WARNING: no nonce"), "the nonce is echoed: \(good)")

            // GET: base64url without padding; asked twice, the second answer is the kept one.
            let first = try await world.ocspGET(request)
            #expect(first.status == 200)
            #expect(first.headers["content-type"] == "application/ocsp-response")
            let firstBytes = try world.read("resp.der")
            let readGood = try world.opensslReads()
            #expect(readGood.contains("Response verify OK") && readGood.contains("Cert Status: good"), "\(readGood)")
            let second = try await world.ocspGET(request)
            #expect(try world.read("resp.der") == firstBytes, "a request without a nonce gets the pre-signed response")
            #expect(second.headers["etag"] == first.headers["etag"])
            let cacheControl = try #require(second.headers["cache-control"])
            let maxAge = try #require(Int(cacheControl.split(separator: ",")[0].replacingOccurrences(of: "max-age=", with: "")))
            #expect((1...300).contains(maxAge), "\(cacheControl)")
            #expect(second.headers["last-modified"]?.hasSuffix(" GMT") == true)
            #expect(second.headers["expires"]?.hasSuffix(" GMT") == true)

            // Standard base64, percent-encoded, with padding: the same answer.
            let standard = request.base64EncodedString().addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            #expect(try await world.curl("\(world.ocspURL)/\(standard)", to: "std.der").status == 200)
            #expect(try world.read("std.der") == firstBytes)

            try await world.setStatus(serial, "REVOKED", reason: "KeyCompromise")
            let revoked = try await world.opensslOCSP(["device-1"])
            #expect(revoked.contains("Response verify OK"), "\(revoked)")
            #expect(revoked.contains("device-1.pem: revoked"), "\(revoked)")
            #expect(revoked.contains("Reason: keyCompromise"), "\(revoked)")
            // The kept good answer is gone the moment the revocation returned.
            _ = try await world.ocspGET(request)
            let readRevoked = try world.opensslReads()
            #expect(readRevoked.contains("Cert Status: revoked") && readRevoked.contains("keyCompromise"), "\(readRevoked)")
        }
    }

    /// A cache revalidating its copy of a GET answer (by ETag or date) gets 304 without a body
    /// while the answer is the same, from the kept answers and from the router alike; a revocation
    /// makes the old validators fail at once.
    @Test func conditionalGETsAreAnsweredNotModifiedUntilTheStatusChanges() async throws {
        try await VAWorld.run { world in
            let serial = try await world.issue("cached")
            let request = try world.opensslRequest("cached")
            let first = try await world.ocspGET(request)
            let entityTag = try #require(first.headers["etag"])
            let lastModified = try #require(first.headers["last-modified"])
            let url = "\(world.ocspURL)/\(VAWorld.base64URL(request))"

            let same = try await world.curl(url, to: "same.der", headers: ["If-None-Match: \(entityTag)"])
            #expect(same.status == 304)
            #expect(((try? world.read("same.der")) ?? Data()).isEmpty, "a 304 has no body")
            #expect(same.headers["etag"] == entityTag && same.headers["cache-control"] != nil)
            #expect(same.headers["content-length"] == nil && same.headers["content-type"] == nil)
            // A date proves the copy current only when it is past the answer's own second, and not in the future.
            #expect(try await world.curl(url, to: "since.der", headers: ["If-Modified-Since: \(lastModified)"]).status == 200)
            let future = HTTPDate.format(Date().addingTimeInterval(86_400))
            #expect(try await world.curl(url, to: "since.der", headers: ["If-Modified-Since: \(future)"]).status == 200)
            // Last-Modified may say the second before the answer's (never after the Date header).
            let modified = try #require(HTTPDate.parse(lastModified))
            while Date().timeIntervalSince(modified) < 2 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(try await world.curl(url, to: "since.der", headers: ["If-Modified-Since: \(HTTPDate.format(Date()))"]).status == 304)
            #expect(try await world.curl(url, to: "other.der", headers: [#"If-None-Match: "0""#]).status == 200)
            #expect(try world.read("other.der") == world.read("resp.der"))

            try await world.expectRouterAnswersNotModified("/api/va/ocsp/\(VAWorld.base64URL(request))", entityTag: entityTag)

            // POST answers are not cached, so never conditional.
            let posted = try await world.curl(
                world.ocspURL, to: "posted.der", headers: ["Content-Type: application/ocsp-request", "If-None-Match: \(entityTag)"],
                method: "POST", body: "req.der")
            #expect(posted.status == 200)

            try await world.setStatus(serial, "REVOKED", reason: "KeyCompromise")
            // A copy dated the revocation's own second may be the good answer it replaced.
            let sameSecond = HTTPDate.format(Date())
            let dated = try await world.curl(url, to: "resp.der", headers: ["If-Modified-Since: \(sameSecond)"])
            if dated.headers["last-modified"] == sameSecond {
                #expect(dated.status == 200, "a revocation hidden behind a 304")
                #expect(try world.opensslReads().contains("Cert Status: revoked"))
            }
            let changed = try await world.curl(url, to: "resp.der", headers: ["If-None-Match: \(entityTag)"])
            #expect(changed.status == 200)
            #expect(changed.headers["etag"] != entityTag)
            #expect(try world.opensslReads().contains("Cert Status: revoked"))
        }
    }

    /// A hold answers revoked (certificateHold); its release answers good again.
    @Test func aHoldIsRevokedWithItsReasonUntilReleased() async throws {
        try await VAWorld.run { world in
            let serial = try await world.issue("held")
            let request = try world.opensslRequest("held")
            _ = try await world.ocspGET(request)
            try await world.setStatus(serial, "REVOKED", reason: "CertificateHold")
            _ = try await world.ocspGET(request)
            let held = try world.opensslReads()
            #expect(held.contains("Cert Status: revoked") && held.contains("certificateHold"), "\(held)")
            try await world.setStatus(serial, "ACTIVE")
            _ = try await world.ocspGET(request)
            #expect(try world.opensslReads().contains("Cert Status: good"))
        }
    }
}

extension VAOCSPTests {
    /// A serial the CA never issued is unknown; a CA Shedu does not have is unauthorized; CertIDs
    /// of two CAs cannot share one signature (unauthorized); input that is no OCSP request is
    /// malformedRequest, always in a 200; HTTP-level mistakes get a JSON error.
    @Test func answersUnknownUnauthorizedAndMalformedRequests() async throws {
        try await VAWorld.run { world in
            try await world.issue("device-1")

            let unknown = try await world.opensslOCSP([], extra: ["-serial", "0x0123456789abcdef"])
            #expect(unknown.contains("Response verify OK") && unknown.contains("0x0123456789abcdef: unknown"), "\(unknown)")

            _ = try openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", world.path("foreign.key"),
                "-out", world.path("foreign.pem"), "-subj", "/CN=Not a Shedu CA", "-days", "2",
            ])
            let foreign = try await world.opensslOCSP([], issuer: "foreign.pem", extra: ["-serial", "0x01"])
            #expect(foreign.contains("Responder Error: unauthorized (6)"), "\(foreign)")
            let twoCAs = try await world.tool(
                "openssl",
                ["ocsp", "-issuer", world.path("root.pem"), "-cert", world.path("issuing.pem"), "-issuer", world.path("issuing.pem"),
                 "-cert", world.path("device-1.pem"), "-url", world.ocspURL])
            #expect((twoCAs.output + twoCAs.errors).contains("Responder Error: unauthorized (6)"), "\(twoCAs)")

            try world.write("garbage.bin", Data("not an OCSP request".utf8))
            let malformed = OCSPReply.malformedRequest.der
            let post = try await world.curl(
                world.ocspURL, to: "m1.der", headers: ["Content-Type: application/ocsp-request"], method: "POST", body: "garbage.bin")
            #expect(post.status == 200 && post.headers["content-type"] == "application/ocsp-response")
            #expect(Array(try world.read("m1.der")) == malformed)
            // Lamassu's leniency: no Content-Type at all is taken as an OCSP request.
            #expect(try await world.curl(world.ocspURL, to: "m2.der", headers: ["Content-Type:"], method: "POST", body: "garbage.bin").status == 200)
            #expect(Array(try world.read("m2.der")) == malformed)
            #expect(try await world.curl("\(world.ocspURL)/%%%not-base64", to: "m3.der").status == 200)
            #expect(Array(try world.read("m3.der")) == malformed)
            #expect(try await world.curl("\(world.ocspURL)/bm90IGFuIE9DU1AgcmVxdWVzdA", to: "m4.der").status == 200)
            #expect(Array(try world.read("m4.der")) == malformed)
            let read = try runTool("openssl", ["ocsp", "-respin", world.path("m4.der"), "-resp_text"])
            #expect((read.output + read.errors).contains("Responder Error: malformedrequest (1)"), "\(read)")

            let wrongType = try await world.curl(
                world.ocspURL, to: "e1.json", headers: ["Content-Type: application/json"], method: "POST", body: "garbage.bin")
            #expect(wrongType.status == 415)
            let wrongTypeBody = String(decoding: try world.read("e1.json"), as: UTF8.self)
            #expect(try JSONValue.parse(wrongTypeBody, field: "body")["err"] == "Content-Type 'application/json' is not application/ocsp-request")
            try world.write("large.bin", Data(repeating: 0x30, count: 70_000))
            let large = try await world.curl(
                world.ocspURL, to: "e2.json", headers: ["Content-Type: application/ocsp-request"], method: "POST", body: "large.bin")
            #expect(large.status == 413)
            let twoSegments = try await world.curl("\(world.ocspURL)/abc/def", to: "e3.json")
            #expect(twoSegments.status == 404)
        }
    }

    /// Nonces of RFC 9654's lengths are echoed, others refused; so are requests asking about
    /// more than 100 certificates at once.
    @Test func checksNoncesAndTheLengthOfTheRequestList() async throws {
        try await VAWorld.run { world in
            try await world.issue("device-1")
            let certID = try #require(try OCSPRequest(derEncoded: Array(try world.opensslRequest("device-1"))).certIDs.first).derBytes

            func post(_ request: [UInt8]) async throws -> [UInt8] {
                try world.write("hand.der", Data(request))
                let reply = try await world.curl(
                    world.ocspURL, to: "hand-resp.der", headers: ["Content-Type: application/ocsp-request"], method: "POST",
                    body: "hand.der")
                #expect(reply.status == 200)
                return Array(try world.read("hand-resp.der"))
            }
            let nonce = (0..<32).map { UInt8($0) }
            let echoed = try await post(HandmadeOCSPRequest.der(certIDs: [certID], nonce: nonce))
            #expect(echoed != OCSPReply.malformedRequest.der)
            #expect(Data(echoed).range(of: Data(nonce)) != nil, "the nonce is echoed")
            // A bare nonce is answered, without it: echoed, the signed response's nonce extension
            // would not be the OCTET STRING its syntax asks for (pkilint: FATAL).
            let bareNonce = Array("ABCDEFGHIJKLMNOP".utf8)
            let bare = try await post(HandmadeOCSPRequest.der(certIDs: [certID], nonce: bareNonce, bare: true))
            #expect(bare != OCSPReply.malformedRequest.der)
            #expect(Data(bare).range(of: Data(bareNonce)) == nil, "a bare nonce is not echoed")
            #expect(Data(bare).range(of: Data([0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02])) == nil, "no nonce extension")
            #expect(try await post(HandmadeOCSPRequest.der(certIDs: [certID], nonce: [])) == OCSPReply.malformedRequest.der)
            #expect(
                try await post(HandmadeOCSPRequest.der(certIDs: [certID], nonce: Array(repeating: 7, count: 129)))
                    == OCSPReply.malformedRequest.der)
            let hundred = try await post(HandmadeOCSPRequest.der(certIDs: Array(repeating: certID, count: 100), nonce: nil))
            #expect(hundred != OCSPReply.malformedRequest.der)
            #expect(
                try await post(HandmadeOCSPRequest.der(certIDs: Array(repeating: certID, count: 101), nonce: nil))
                    == OCSPReply.malformedRequest.der)
        }
    }

    /// One request about several certificates gets one signed answer about each, with the nonce.
    @Test func answersSeveralCertificatesInOneRequest() async throws {
        try await VAWorld.run { world in
            try await world.issue("first")
            let second = try await world.issue("second")
            try await world.setStatus(second, "REVOKED", reason: "Superseded")
            let answer = try await world.opensslOCSP(["first", "second"], digest: "sha256")
            #expect(answer.contains("Response verify OK"), "\(answer)")
            #expect(answer.contains("first.pem: good"), "\(answer)")
            #expect(answer.contains("second.pem: revoked") && answer.contains("Reason: superseded"), "\(answer)")
            #expect(!answer.contains("WARNING: no nonce"), "\(answer)")
        }
    }

    /// A certificate past its validity is EXPIRED, which OCSP answers as unknown.
    @Test func anExpiredCertificateIsUnknown() async throws {
        let clock = ManualClock()
        try await VAWorld.run(clock: clock) { world in
            try await world.issue("short-lived")
            let request = try world.opensslRequest("short-lived")
            _ = try await world.ocspGET(request)
            #expect(try world.opensslReads().contains("Cert Status: good"))
            clock.advance(by: 400 * 86_400)
            #expect(try await world.services.ca.expire() == 1)
            _ = try await world.ocspGET(request)
            let expired = try world.opensslReads()
            #expect(expired.contains("Response verify OK") && expired.contains("Cert Status: unknown"), "\(expired)")
        }
    }

    /// swift-certificates' own OCSP client policy, asking Shedu over HTTP: it accepts good answers
    /// and rejects revoked ones.
    struct HTTPRequester: OCSPRequester {
        let url: String

        func query(request: [UInt8], uri: String) async -> OCSPRequesterQueryResult {
            do {
                var post = HTTPClientRequest(url: url)
                post.method = .POST
                post.headers.add(name: "Content-Type", value: "application/ocsp-request")
                post.body = .bytes(ByteBuffer(bytes: request))
                let response = try await HTTPClient.shared.execute(post, timeout: .seconds(10))
                return .response(Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
            } catch {
                return .terminalError(error)
            }
        }
    }

    @Test func swiftCertificatesVerifierAcceptsGoodAndRejectsRevoked() async throws {
        try await VAWorld.run { world in
            let root = try Certificate(pemEncoded: try await world.caPEM("root-ca"))
            let issuing = try Certificate(pemEncoded: try await world.caPEM("issuing-ca-01"))
            let goodSerial = try await world.issue("good")
            let revokedSerial = try await world.issue("revoked")
            try await world.setStatus(revokedSerial, "REVOKED", reason: "KeyCompromise")
            var verifier = Verifier(rootCertificates: CertificateStore([root])) {
                RFC5280Policy()
                OCSPVerifierPolicy(failureMode: .hard, requester: HTTPRequester(url: world.ocspURL))
            }
            let good = try Certificate(pemEncoded: try await world.certificatePEM(goodSerial))
            let goodResult = await verifier.validate(leaf: good, intermediates: CertificateStore([issuing]))
            guard case .validCertificate = goodResult else {
                Issue.record("the good certificate did not validate: \(goodResult)")
                return
            }
            let revoked = try Certificate(pemEncoded: try await world.certificatePEM(revokedSerial))
            let revokedResult = await verifier.validate(leaf: revoked, intermediates: CertificateStore([issuing]))
            guard case .couldNotValidate(let failures) = revokedResult else {
                Issue.record("the revoked certificate validated")
                return
            }
            #expect(failures.contains { "\($0.policyFailureReason)".contains("revoked through OCSP") }, "\(failures)")
        }
    }

    @Test(.enabled(if: TestPKI.pkilintInstalled, "set SHEDU_PKILINT_BIN to pkilint's bin folder"))
    func pkilintFindsNoErrorsInResponses() async throws {
        try await VAWorld.run { world in
            let serial = try await world.issue("device-1")
            let plain = try world.opensslRequest("device-1")
            let withNonce = try world.opensslRequest("device-1", nonce: true, file: "nonce.der")
            for status in ["good", "revoked"] {
                if status == "revoked" { try await world.setStatus(serial, "REVOKED", reason: "KeyCompromise") }
                for (name, request) in [("pre-signed", plain), ("with nonce", withNonce)] {
                    try world.write("lint-req.der", request)
                    _ = try await world.curl(
                        world.ocspURL, to: "lint-resp.der", headers: ["Content-Type: application/ocsp-request"], method: "POST",
                        body: "lint-req.der")
                    let findings = try TestPKI.pkilintErrors("lint_ocsp_response", der: Array(try world.read("lint-resp.der")))
                    #expect(findings == "", "\(status), \(name): \(findings ?? "")")
                }
            }
        }
    }
}
