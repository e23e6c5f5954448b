import Foundation
import SwiftASN1
import Testing
import X509

@testable import SheduPKI

@Suite("OCSP: request parsing, responses, openssl, pkilint, swift-certificates' verifier")
struct OCSPTests {
    /// How openssl is asked to build the request.
    enum RequestKind: String, CaseIterable, Sendable {
        case sha1WithNonce, sha1WithoutNonce, sha256WithNonce

        var opensslArguments: [String] {
            switch self {
            case .sha1WithNonce: ["-issuer", "ca.pem", "-cert", "leaf.pem"]
            case .sha1WithoutNonce: ["-no_nonce", "-issuer", "ca.pem", "-cert", "leaf.pem"]
            case .sha256WithNonce: ["-issuer", "ca.pem", "-sha256", "-cert", "leaf.pem"]
            }
        }

        var hashAlgorithm: OCSPHashAlgorithm { self == .sha256WithNonce ? .sha256 : .sha1 }
        var hasNonce: Bool { self != .sha1WithoutNonce }
    }

    /// Writes the CA and leaf and has openssl build a request for the leaf.
    private func opensslRequest(
        _ kind: RequestKind, ca: TestCA, leaf: Certificate, in folder: ScratchFolder
    ) throws -> [UInt8] {
        try folder.write("ca.pem", pem: ca.certificate)
        try folder.write("leaf.pem", pem: leaf)
        let result = try runCommand(opensslPath, ["ocsp"] + kind.opensslArguments + ["-reqout", "req.der"], in: folder)
        #expect(result.status == 0, "\(result)")
        return try folder.read("req.der")
    }

    /// Has openssl check `response` twice: against the request in req.der (signature and nonce
    /// echo; `-resp_text` prints the statuses; `-verify_other` offers the CA as a signer, as
    /// `-issuer` does in the other run), and by certificate (openssl builds its own CertIDs
    /// for `certificates` with `digest` and prints `NAME: good` or `revoked`; `-no_nonce` keeps
    /// it from adding a nonce of its own, which no response could echo).
    private func opensslCheck(
        _ response: [UInt8], certificates: [String] = ["leaf.pem"], digest: OCSPHashAlgorithm = .sha1,
        in folder: ScratchFolder
    ) throws -> CommandResult {
        try folder.write("resp.der", response)
        let asked = try openssl(
            "ocsp", "-reqin", "req.der", "-respin", "resp.der", "-verify_other", "ca.pem", "-CAfile", "ca.pem",
            "-resp_text", in: folder)
        let digestArguments = digest == .sha256 ? ["-sha256"] : []
        let byCertificate = try runCommand(
            opensslPath,
            ["ocsp", "-respin", "resp.der", "-no_nonce", "-issuer", "ca.pem"] + digestArguments
                + certificates.flatMap { ["-cert", $0] } + ["-CAfile", "ca.pem"], in: folder)
        return CommandResult(
            status: max(asked.status, byCertificate.status),
            output: "$ openssl ocsp -reqin ...\n\(asked.output)$ openssl ocsp -cert ...\n\(byCertificate.output)")
    }

    /// Whether both of ``opensslCheck(_:certificates:digest:in:)``'s runs verified the signature.
    private func bothVerified(_ result: CommandResult) -> Bool {
        result.output.components(separatedBy: "Response verify OK").count - 1 == 2
    }

    /// Whether openssl complained about the nonce.
    private func noncePassed(_ result: CommandResult) -> Bool {
        !result.output.contains("WARNING: no nonce in response") && !result.output.contains("Nonce Verify error")
    }

    private static let cases: [(KeySpec, RequestKind)] = caKeySpecs.flatMap { spec in
        RequestKind.allCases.map { (spec, $0) }
    }

    @Test(arguments: cases)
    func opensslAcceptsGoodAndRevokedAnswersToItsRequests(spec: KeySpec, kind: RequestKind) throws {
        let now = Date()
        let ca = try TestCA(spec, now: now)
        let leaf = try ca.issueLeaf("device-\(kind.rawValue)", now: now)
        let folder = try ScratchFolder()
        defer { folder.remove() }

        let request = try OCSPRequest(derEncoded: opensslRequest(kind, ca: ca, leaf: leaf.certificate, in: folder))
        let certID = try #require(request.certIDs.first)
        #expect(request.certIDs.count == 1)
        #expect(certID.hashAlgorithm == kind.hashAlgorithm)
        #expect(certID.serialNumber == leaf.certificate.serialNumber)
        #expect(try OCSPIssuerHashes(issuer: ca.certificate, hashAlgorithm: kind.hashAlgorithm).matches(certID))
        #expect(try !OCSPIssuerHashes(issuer: TestCA(spec, name: "Other CA").certificate, hashAlgorithm: kind.hashAlgorithm).matches(certID))
        #expect((request.nonce != nil) == kind.hasNonce)
        #expect(!request.isSigned)

        let responder = try OCSPResponder(certificate: ca.certificate, key: ca.key)
        let good = try responder.response(
            [OCSPSingleResponse(certID: certID, status: .good, thisUpdate: now, nextUpdate: now.addingTimeInterval(3600))],
            nonce: request.nonce, producedAt: now)
        #expect(good.containsSubsequence(certID.derBytes))
        let goodCheck = try opensslCheck(good, digest: kind.hashAlgorithm, in: folder)
        #expect(goodCheck.status == 0, "\(goodCheck)")
        #expect(bothVerified(goodCheck), "\(goodCheck)")
        #expect(goodCheck.output.contains("leaf.pem: good"), "\(goodCheck)")
        #expect(goodCheck.output.contains("Cert Status: good"), "\(goodCheck)")
        #expect(noncePassed(goodCheck), "\(goodCheck)")

        let revoked = try responder.response(
            [OCSPSingleResponse(
                certID: certID, status: .revoked(time: now.addingTimeInterval(-600), reason: .keyCompromise),
                thisUpdate: now, nextUpdate: now.addingTimeInterval(3600))],
            nonce: request.nonce, producedAt: now)
        let revokedCheck = try opensslCheck(revoked, digest: kind.hashAlgorithm, in: folder)
        #expect(bothVerified(revokedCheck), "\(revokedCheck)")
        #expect(revokedCheck.output.contains("leaf.pem: revoked"), "\(revokedCheck)")
        #expect(revokedCheck.output.contains("Reason: keyCompromise"), "\(revokedCheck)")
        #expect(revokedCheck.output.contains("Revocation Reason: keyCompromise (0x1)"), "\(revokedCheck)")
        #expect(noncePassed(revokedCheck), "\(revokedCheck)")
    }

    @Test func opensslNoticesAMissingOrWrongNonce() throws {
        let now = Date()
        let ca = try TestCA(KeySpec(storedAlgorithm: .ecdsa, bits: 256), now: now)
        let leaf = try ca.issueLeaf("device", now: now)
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let request = try OCSPRequest(derEncoded: opensslRequest(.sha1WithNonce, ca: ca, leaf: leaf.certificate, in: folder))
        let responder = try OCSPResponder(certificate: ca.certificate, key: ca.key)
        let single = OCSPSingleResponse(certID: request.certIDs[0], status: .good, thisUpdate: now, nextUpdate: nil)

        let withoutNonce = try opensslCheck(try responder.response([single], producedAt: now), in: folder)
        #expect(withoutNonce.output.contains("WARNING: no nonce in response"), "\(withoutNonce)")

        var serializer = DER.Serializer()
        try serializer.serialize(ASN1OctetString(contentBytes: Array(repeating: 7, count: 16)[...]))
        let wrongNonce = try opensslCheck(
            try responder.response([single], nonce: serializer.serializedBytes, producedAt: now), in: folder)
        #expect(wrongNonce.output.contains("Nonce Verify error"), "\(wrongNonce)")
        let echoed = try opensslCheck(try responder.response([single], nonce: request.nonce, producedAt: now), in: folder)
        #expect(echoed.status == 0 && noncePassed(echoed), "\(echoed)")
    }

    @Test func oneResponseAnswersSeveralCertificates() throws {
        let now = Date()
        let ca = try TestCA(KeySpec(storedAlgorithm: .ecdsa, bits: 384), now: now)
        let first = try ca.issueLeaf("first", now: now)
        let second = try ca.issueLeaf("second", now: now)
        let folder = try ScratchFolder()
        defer { folder.remove() }
        try folder.write("ca.pem", pem: ca.certificate)
        try folder.write("first.pem", pem: first.certificate)
        try folder.write("second.pem", pem: second.certificate)
        let made = try openssl(
            "ocsp", "-issuer", "ca.pem", "-cert", "first.pem", "-cert", "second.pem", "-reqout", "req.der", in: folder)
        #expect(made.status == 0, "\(made)")
        let request = try OCSPRequest(derEncoded: folder.read("req.der"))
        #expect(request.certIDs.map(\.serialNumber) == [first.certificate.serialNumber, second.certificate.serialNumber])

        let responder = try OCSPResponder(certificate: ca.certificate, key: ca.key)
        let response = try responder.response(
            [
                OCSPSingleResponse(certID: request.certIDs[0], status: .good, thisUpdate: now, nextUpdate: now.addingTimeInterval(600)),
                OCSPSingleResponse(
                    certID: request.certIDs[1], status: .revoked(time: now, reason: .unspecified), thisUpdate: now,
                    nextUpdate: now.addingTimeInterval(600)),
            ], nonce: request.nonce, producedAt: now)
        let check = try opensslCheck(response, certificates: ["first.pem", "second.pem"], in: folder)
        #expect(check.status == 0 && noncePassed(check), "\(check)")
        #expect(bothVerified(check), "\(check)")
        #expect(check.output.contains("first.pem: good"), "\(check)")
        #expect(check.output.contains("second.pem: revoked"), "\(check)")
        #expect(!check.output.contains("Reason:"), "\(check)")
    }

    @Test(arguments: caKeySpecs)
    func aDelegatedResponderSendsItsCertificate(spec: KeySpec) throws {
        let now = Date()
        let ca = try TestCA(spec, now: now)
        let leaf = try ca.issueLeaf("device", now: now)
        let delegate = try ca.issueLeaf("OCSP responder", extendedKeyUsages: [.ocspSigning], now: now)
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let request = try OCSPRequest(derEncoded: opensslRequest(.sha1WithNonce, ca: ca, leaf: leaf.certificate, in: folder))
        let responder = try OCSPResponder(
            certificate: delegate.certificate, key: delegate.key, includedCertificates: [delegate.certificate])
        let response = try responder.response(
            [OCSPSingleResponse(certID: request.certIDs[0], status: .good, thisUpdate: now, nextUpdate: now.addingTimeInterval(60))],
            nonce: request.nonce, producedAt: now)
        let check = try opensslCheck(response, in: folder)
        #expect(bothVerified(check), "\(check)")
        #expect(check.output.contains("leaf.pem: good"), "\(check)")
    }

    @Test func aPreSignedResponseServesRequestsWithoutNonce() throws {
        let now = Date()
        let ca = try TestCA(KeySpec(storedAlgorithm: .ed25519, bits: 256), now: now)
        let leaf = try ca.issueLeaf("device", now: now)
        let responder = try OCSPResponder(certificate: ca.certificate, key: ca.key)
        // Signed before anyone asks, from the issuer's hashes and the serial alone.
        let hashes = try OCSPIssuerHashes(issuer: ca.certificate, hashAlgorithm: .sha1)
        let cached = try responder.response(
            [OCSPSingleResponse(
                certID: OCSPCertID(issuer: hashes, serialNumber: leaf.certificate.serialNumber), status: .good,
                thisUpdate: now, nextUpdate: now.addingTimeInterval(3600))], producedAt: now)

        let folder = try ScratchFolder()
        defer { folder.remove() }
        let request = try OCSPRequest(derEncoded: opensslRequest(.sha1WithoutNonce, ca: ca, leaf: leaf.certificate, in: folder))
        #expect(request.certIDs[0].derBytes == (try OCSPCertID(issuer: hashes, serialNumber: leaf.certificate.serialNumber)).derBytes)
        let check = try opensslCheck(cached, in: folder)
        #expect(bothVerified(check), "\(check)")
        #expect(check.output.contains("leaf.pem: good"), "\(check)")
    }

    @Test func errorResponsesAreAStatusAlone() throws {
        #expect(try OCSPResponder.errorResponse(.malformedRequest) == [0x30, 0x03, 0x0a, 0x01, 0x01])
        #expect(try OCSPResponder.errorResponse(.unauthorized) == [0x30, 0x03, 0x0a, 0x01, 0x06])
        #expect(throws: PKIError.self) { try OCSPResponder.errorResponse(.successful) }
        let folder = try ScratchFolder()
        defer { folder.remove() }
        try folder.write("resp.der", try OCSPResponder.errorResponse(.tryLater))
        let check = try openssl("ocsp", "-respin", "resp.der", "-resp_text", "-noverify", in: folder)
        #expect(check.output.lowercased().contains("responder error: trylater (3)"), "\(check)")
    }

    @Test func responderRefusesAKeyThatIsNotItsCertificates() throws {
        let ca = try TestCA(KeySpec(storedAlgorithm: .ecdsa, bits: 256))
        #expect(throws: PKIError.self) {
            try OCSPResponder(certificate: ca.certificate, key: try SigningKey.generate(KeySpec(storedAlgorithm: .ecdsa, bits: 256)))
        }
    }

    /// swift-certificates' OCSP client policy, asking our responder in-process.
    struct InProcessRequester: OCSPRequester {
        let responder: OCSPResponder
        let revokedSerials: Set<Certificate.SerialNumber>

        func query(request: [UInt8], uri: String) async -> OCSPRequesterQueryResult {
            do {
                let parsed = try OCSPRequest(derEncoded: request)
                let now = Date()
                let answers = parsed.certIDs.map { certID in
                    OCSPSingleResponse(
                        certID: certID,
                        status: revokedSerials.contains(certID.serialNumber)
                            ? .revoked(time: now.addingTimeInterval(-60), reason: .keyCompromise) : .good,
                        thisUpdate: now.addingTimeInterval(-60), nextUpdate: now.addingTimeInterval(3600))
                }
                return .response(try responder.response(answers, nonce: parsed.nonce, producedAt: now))
            } catch {
                return .terminalError(error)
            }
        }
    }

    @Test(arguments: caKeySpecs)
    func swiftCertificatesVerifierAcceptsGoodAndRejectsRevoked(spec: KeySpec) async throws {
        let now = Date()
        let ca = try TestCA(spec, now: now)
        let good = try ca.issueLeaf("good", now: now)
        let revoked = try ca.issueLeaf("revoked", now: now)
        let requester = InProcessRequester(
            responder: try OCSPResponder(certificate: ca.certificate, key: ca.key),
            revokedSerials: [revoked.certificate.serialNumber])
        var verifier = Verifier(rootCertificates: CertificateStore([ca.certificate])) {
            RFC5280Policy()
            OCSPVerifierPolicy(failureMode: .hard, requester: requester)
        }
        let goodResult = await verifier.validate(leaf: good.certificate, intermediates: CertificateStore())
        guard case .validCertificate = goodResult else {
            Issue.record("the good certificate did not validate: \(goodResult)")
            return
        }
        let revokedResult = await verifier.validate(leaf: revoked.certificate, intermediates: CertificateStore())
        guard case .couldNotValidate(let failures) = revokedResult else {
            Issue.record("the revoked certificate validated")
            return
        }
        #expect(failures.contains { "\($0.policyFailureReason)".contains("revoked") }, "\(failures)")
    }

    @Test(.enabled(if: pkilintFolder != nil, "set SHEDU_PKILINT_BIN to a folder with pkilint's lint_ocsp_response"),
        arguments: caKeySpecs)
    func pkilintFindsNoErrors(spec: KeySpec) throws {
        let now = Date()
        let ca = try TestCA(spec, now: now)
        let leaf = try ca.issueLeaf("device", now: now)
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let request = try OCSPRequest(derEncoded: opensslRequest(.sha1WithNonce, ca: ca, leaf: leaf.certificate, in: folder))
        let responder = try OCSPResponder(certificate: ca.certificate, key: ca.key)
        let statuses: [OCSPCertStatus] = [.good, .revoked(time: now.addingTimeInterval(-600), reason: .keyCompromise)]
        for (index, status) in statuses.enumerated() {
            let response = try responder.response(
                [OCSPSingleResponse(certID: request.certIDs[0], status: status, thisUpdate: now, nextUpdate: now.addingTimeInterval(3600))],
                nonce: request.nonce, producedAt: now)
            let file = try folder.write("resp-\(index).der", response)
            let result = try pkilint("lint_ocsp_response", [], file: file, in: folder)
            #expect(result.status == 0, "\(status): \(result)")
            #expect(!result.output.contains("ERROR") && !result.output.contains("FATAL"), "\(status): \(result)")
        }
    }
}
