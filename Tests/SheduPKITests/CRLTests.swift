import Foundation
import SwiftASN1
import Testing
import X509

@testable import SheduPKI

@Suite("CRLs: encoding, signing, openssl and pkilint")
struct CRLTests {
    /// A CRL of `ca` revoking `revoked` (and a few more serials with other reasons), number 42.
    private func makeCRL(
        _ ca: TestCA, revoking revoked: [RevokedCertificate], now: Date = Date(), number: CRLNumber = CRLNumber(42)
    ) throws -> [UInt8] {
        let encoder = try CRLEncoder(issuer: ca.certificate)
        return try encoder.sign(
            number: number, thisUpdate: now.addingTimeInterval(-60), nextUpdate: now.addingTimeInterval(86_400),
            revoked: revoked, key: ca.key)
    }

    /// A leaf of `ca` whose CRL distribution point is `crlURL` (none when nil).
    private static func leaf(of ca: TestCA, crlURL: String?, now: Date) throws -> Certificate {
        let key = try SigningKey.generate(KeySpec(storedAlgorithm: .ecdsa, bits: 256))
        return try CertificateBuilder.issue(
            .init(name: try DistinguishedName { CommonName("device at \(crlURL ?? "no address")") }, publicKey: key.publicKey),
            policy: IssuancePolicy(notAfter: now.addingTimeInterval(86_400), extendedKeyUsages: [.clientAuth]),
            issuer: Issuer(certificate: ca.certificate, key: ca.key, crlURL: crlURL, ocspURL: nil), now: now)
    }

    private func otherEntries(now: Date) -> [RevokedCertificate] {
        [
            RevokedCertificate(serialNumber: .generate(), revocationDate: now.addingTimeInterval(-3600), reason: .unspecified),
            RevokedCertificate(serialNumber: .generate(), revocationDate: now.addingTimeInterval(-7200), reason: .superseded),
            RevokedCertificate(serialNumber: .generate(), revocationDate: now.addingTimeInterval(-60), reason: .cessationOfOperation),
        ]
    }

    @Test(arguments: caKeySpecs)
    func opensslVerifiesTheCRLAndRejectsRevokedCertificates(spec: KeySpec) throws {
        let now = Date()
        let ca = try TestCA(spec, now: now)
        let revokedLeaf = try ca.issueLeaf("revoked-device", now: now)
        let goodLeaf = try ca.issueLeaf("good-device", now: now)
        // Certificates naming another CRL address, or none: issued under an earlier public URL,
        // or elsewhere and imported. The CRL covers them too.
        let elsewhere = try [Self.leaf(of: ca, crlURL: "http://old-address.example/crl", now: now), Self.leaf(of: ca, crlURL: nil, now: now)]
        let others = otherEntries(now: now)
        let crl = try makeCRL(
            ca,
            revoking: ([revokedLeaf.certificate] + elsewhere).map {
                RevokedCertificate(serialNumber: $0.serialNumber, revocationDate: now.addingTimeInterval(-30), reason: .keyCompromise)
            } + others, now: now)

        let folder = try ScratchFolder()
        defer { folder.remove() }
        try folder.write("ca.pem", pem: ca.certificate)
        try folder.write("revoked.pem", pem: revokedLeaf.certificate)
        try folder.write("good.pem", pem: goodLeaf.certificate)
        for (index, certificate) in elsewhere.enumerated() { try folder.write("elsewhere-\(index).pem", pem: certificate) }
        try folder.write("x.crl", crl)
        try folder.write("crl.pem", Array(PEMText.pem(derCertificate: crl, discriminator: "X509 CRL").utf8))

        let text = try openssl("crl", "-inform", "DER", "-in", "x.crl", "-CAfile", "ca.pem", "-noout", "-text", in: folder)
        #expect(text.status == 0, "\(text)")
        #expect(text.output.contains("verify OK"), "\(text)")
        #expect(text.output.contains("Version 2 (0x1)"), "\(text)")
        #expect(text.output.range(of: #"X509v3 CRL Number:\s*\n\s*42\b"#, options: .regularExpression) != nil, "\(text)")
        #expect(!text.output.contains("Issuing Distribution Point"), "a complete CRL: \(text)")
        #expect(text.output.contains("X509v3 Authority Key Identifier"), "\(text)")
        #expect(text.output.contains("Serial Number: \(opensslSerial(revokedLeaf.certificate.serialNumber))"), "\(text)")
        for entry in others {
            #expect(text.output.contains("Serial Number: \(opensslSerial(entry.serialNumber))"), "\(text)")
        }
        #expect(text.output.contains("Key Compromise"), "\(text)")
        #expect(text.output.contains("Superseded"), "\(text)")
        #expect(text.output.contains("Cessation Of Operation"), "\(text)")
        // The unspecified entry carries no reasonCode: five reason codes for six entries.
        #expect(text.output.components(separatedBy: "X509v3 CRL Reason Code").count - 1 == 5, "\(text)")

        let revoked = try openssl(
            "verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "revoked.pem", in: folder)
        #expect(revoked.status != 0, "\(revoked)")
        #expect(revoked.output.contains("certificate revoked"), "\(revoked)")
        for index in elsewhere.indices {
            let result = try openssl(
                "verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "elsewhere-\(index).pem", in: folder)
            #expect(result.status != 0 && result.output.contains("certificate revoked"), "in the CRL's scope: \(result)")
        }
        let good = try openssl("verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "good.pem", in: folder)
        #expect(good.status == 0, "\(good)")
        #expect(good.output.contains("good.pem: OK"), "\(good)")
    }

    @Test(arguments: caKeySpecs)
    func crlParsesBackToWhatWasEncoded(spec: KeySpec) throws {
        let now = Date(timeIntervalSince1970: 1_780_000_000.5)
        let ca = try TestCA(spec, now: now)
        let entries = otherEntries(now: now) + [
            RevokedCertificate(serialNumber: Certificate.SerialNumber(bytes: [0x80, 0x01]), revocationDate: now, reason: .aACompromise)
        ]
        let crl = try CertificateRevocationList(derEncoded: makeCRL(ca, revoking: entries, now: now, number: CRLNumber(7)))
        #expect(crl.number == CRLNumber(7))
        #expect(crl.issuer == ca.certificate.subject)
        #expect(crl.thisUpdate == Date(timeIntervalSince1970: 1_780_000_000 - 60))
        #expect(crl.nextUpdate == Date(timeIntervalSince1970: 1_780_000_000 + 86_400))
        #expect(crl.authorityKeyIdentifier == ca.certificate.subjectKeyIdentifierBytes)
        #expect(crl.distributionPointURIs.isEmpty)
        #expect(crl.signatureAlgorithm == ca.key.signatureAlgorithmIdentifier)
        #expect(crl.entries.map(\.serialNumber) == entries.map(\.serialNumber))
        #expect(crl.entries.map(\.reason) == entries.map(\.reason))
        #expect(crl.entries.map(\.revocationDate) == entries.map { Date(timeIntervalSince1970: $0.revocationDate.timeIntervalSince1970.rounded(.down)) })
        #expect(crl.isSigned(by: ca.certificate))
        #expect(!crl.isSigned(by: try TestCA(spec, name: "Other CA").certificate))
    }

    @Test func anEmptyCRLLeavesOutRevokedCertificates() throws {
        let now = Date()
        let ca = try TestCA(KeySpec(storedAlgorithm: .ecdsa, bits: 256), now: now)
        let der = try CRLEncoder(issuer: ca.certificate).sign(
            number: CRLNumber(1), thisUpdate: now, nextUpdate: now.addingTimeInterval(3600), revoked: [], key: ca.key)
        let crl = try CertificateRevocationList(derEncoded: der)
        #expect(crl.entries.isEmpty)
        #expect(crl.distributionPointURIs.isEmpty)
        // TBSCertList: version, signature, issuer, thisUpdate, nextUpdate, crlExtensions: no revokedCertificates.
        guard case .constructed(let tbs) = try DER.parse(crl.toBeSignedBytes).content else {
            Issue.record("TBSCertList is a SEQUENCE")
            return
        }
        #expect(Array(tbs).map(\.identifier) == [
            .integer, .sequence, .sequence, UTCTime.defaultIdentifier, UTCTime.defaultIdentifier,
            ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
        ])

        let folder = try ScratchFolder()
        defer { folder.remove() }
        try folder.write("ca.pem", pem: ca.certificate)
        try folder.write("x.crl", der)
        let text = try openssl("crl", "-inform", "DER", "-in", "x.crl", "-CAfile", "ca.pem", "-noout", "-text", in: folder)
        #expect(text.output.contains("verify OK"), "\(text)")
        #expect(text.output.contains("No Revoked Certificates"), "\(text)")
        #expect(!text.output.contains("Issuing Distribution Point"), "\(text)")
    }

    @Test func datesFrom2050AreGeneralizedTimes() throws {
        let ca = try TestCA(KeySpec(storedAlgorithm: .ecdsa, bits: 256))
        let thisUpdate = try #require(try? Date("2049-12-31T12:00:00Z", strategy: .iso8601))
        let encoder = try CRLEncoder(issuer: ca.certificate)
        let der = try encoder.sign(
            number: CRLNumber(3), thisUpdate: thisUpdate, nextUpdate: thisUpdate.addingTimeInterval(86_400),
            revoked: [RevokedCertificate(serialNumber: .generate(), revocationDate: thisUpdate.addingTimeInterval(43_200))],
            key: ca.key)
        let crl = try CertificateRevocationList(derEncoded: der)
        guard case .constructed(let tbs) = try DER.parse(crl.toBeSignedBytes).content else {
            Issue.record("TBSCertList is a SEQUENCE")
            return
        }
        let fields = Array(tbs)
        #expect(fields[3].identifier == UTCTime.defaultIdentifier)
        #expect(fields[4].identifier == GeneralizedTime.defaultIdentifier)
        #expect(crl.entries.first?.revocationDate == thisUpdate.addingTimeInterval(43_200))
        #expect(crl.nextUpdate == thisUpdate.addingTimeInterval(86_400))
    }

    @Test func signingRefusesTheWrongKeyAndBackwardsDates() throws {
        let now = Date()
        let ca = try TestCA(KeySpec(storedAlgorithm: .ecdsa, bits: 256), now: now)
        let encoder = try CRLEncoder(issuer: ca.certificate)
        #expect(throws: PKIError.self) {
            try encoder.sign(
                number: CRLNumber(1), thisUpdate: now, nextUpdate: now.addingTimeInterval(60), revoked: [],
                key: try SigningKey.generate(KeySpec(storedAlgorithm: .ecdsa, bits: 256)))
        }
        #expect(throws: PKIError.self) {
            try encoder.sign(number: CRLNumber(1), thisUpdate: now, nextUpdate: now, revoked: [], key: ca.key)
        }
        #expect(throws: PKIError.self) {
            try encoder.certificateList(toBeSigned: [0x30, 0x05, 0x01], signatureAlgorithm: .ed25519, signature: [1])
        }
    }

    @Test func aCRLSignedElsewhereAssemblesFromItsParts() throws {
        let now = Date()
        let ca = try TestCA(KeySpec(storedAlgorithm: .ed25519, bits: 256), now: now)
        let encoder = try CRLEncoder(issuer: ca.certificate)
        let algorithm = ca.key.signatureAlgorithmIdentifier
        let tbs = try encoder.toBeSigned(
            number: CRLNumber(5), thisUpdate: now, nextUpdate: now.addingTimeInterval(60), revoked: [],
            signatureAlgorithm: algorithm)
        let der = try encoder.certificateList(
            toBeSigned: tbs, signatureAlgorithm: algorithm, signature: ca.key.signToBeSigned(tbs))
        let crl = try CertificateRevocationList(derEncoded: der)
        #expect(crl.toBeSignedBytes == tbs)
        #expect(crl.isSigned(by: ca.certificate))
    }

    @Test func malformedCRLsThrowNamedErrors() throws {
        for bytes: [UInt8] in [[], [0x30, 0x00], [0x02, 0x01, 0x01], [0x30, 0x03, 0x30, 0x01, 0x00]] {
            #expect(throws: PKIError.self) { try CertificateRevocationList(derEncoded: bytes) }
        }
    }

    /// 100,000 entries: the size of a large fleet's CRL. Timing is printed, not asserted.
    @Test func aHundredThousandEntriesEncodeSignAndParseBack() throws {
        let now = Date()
        let ca = try TestCA(KeySpec(storedAlgorithm: .ecdsa, bits: 256), now: now)
        let reasons: [CRLReason] = [.unspecified, .keyCompromise, .superseded, .cessationOfOperation]
        let entries = (0..<100_000).map { index in
            RevokedCertificate(
                serialNumber: .generate(), revocationDate: now.addingTimeInterval(-Double(index)),
                reason: reasons[index % reasons.count])
        }
        let encoder = try CRLEncoder(issuer: ca.certificate)
        let clock = ContinuousClock()
        var der: [UInt8] = []
        let elapsed = try clock.measure {
            der = try encoder.sign(
                number: CRLNumber(100_000), thisUpdate: now, nextUpdate: now.addingTimeInterval(86_400),
                revoked: entries, key: ca.key)
        }
        print("100,000-entry CRL: \(der.count) bytes, encoded and signed in \(elapsed)")
        let crl = try CertificateRevocationList(derEncoded: der)
        #expect(crl.entries.count == 100_000)
        #expect(crl.entries.last?.serialNumber == entries.last?.serialNumber)
        #expect(crl.isSigned(by: ca.certificate))

        let folder = try ScratchFolder()
        defer { folder.remove() }
        try folder.write("ca.pem", pem: ca.certificate)
        try folder.write("big.crl", der)
        let check = try openssl("crl", "-inform", "DER", "-in", "big.crl", "-CAfile", "ca.pem", "-noout", in: folder)
        #expect(check.output.contains("verify OK"), "\(check)")
    }

    @Test(.enabled(if: pkilintFolder != nil, "set SHEDU_PKILINT_BIN to a folder with pkilint's lint_crl"),
        arguments: caKeySpecs)
    func pkilintFindsNoErrors(spec: KeySpec) throws {
        let now = Date()
        let ca = try TestCA(spec, now: now)
        let leaf = try ca.issueLeaf("revoked-device", now: now)
        let crl = try makeCRL(
            ca,
            revoking: [RevokedCertificate(
                serialNumber: leaf.certificate.serialNumber, revocationDate: now.addingTimeInterval(-30), reason: .keyCompromise)]
                + otherEntries(now: now), now: now)
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = try folder.write("x.crl", crl)
        let result = try pkilint("lint_crl", ["-t", "CRL", "-p", "PKIX"], file: file, in: folder)
        #expect(result.status == 0, "\(result)")
        #expect(!result.output.contains("ERROR") && !result.output.contains("FATAL"), "\(result)")
    }
}
