import Foundation
import SwiftASN1
import Testing
import X509

@testable import SheduPKI

@Suite("EST pieces: PKCS#8 keys, CSR attributes, client certificate chains")
struct ESTPiecesTests {
    /// What serverkeygen hands a device is a PKCS#8 key openssl reads, of the kind asked for.
    @Test(arguments: caKeySpecs)
    func pkcs8KeysAreWhatOpenSSLReads(_ spec: KeySpec) throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let key = try SigningKey.generate(spec)
        let file = try folder.write("key.der", key.pkcs8DERRepresentation)
        let text = try openssl("pkey", "-inform", "DER", "-in", file, "-noout", "-text", in: folder)
        #expect(text.status == 0, "\(text)")
        let publicKey = try openssl("pkey", "-inform", "DER", "-in", file, "-pubout", in: folder)
        let expected = try key.publicKey.serializeAsPEM().pemString
        #expect(publicKey.output.trimmingCharacters(in: .whitespacesAndNewlines) == expected.trimmingCharacters(in: .whitespacesAndNewlines))
        let parsed = try SigningKey(pemEncoded: PEMText.pem(derCertificate: key.pkcs8DERRepresentation, discriminator: "PRIVATE KEY"))
        #expect(parsed.publicKey == key.publicKey)
    }

    @Test func csrAttributesNameTheAcceptedKeys() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let rsaOnly = KeyPolicy(enabled: true, allowRSA: true, rsaSizes: [3072, 2048], allowECDSA: false, allowEd25519: false)
        let der = try CSRAttributes.encode(for: rsaOnly, caSignatureAlgorithm: .sha256WithRSAEncryption)
        let parsed = try openssl("asn1parse", "-inform", "DER", "-in", try folder.write("attrs.der", der), in: folder).output
        #expect(parsed.contains("rsaEncryption"))
        #expect(parsed.contains(":0800") && parsed.contains(":0C00"), "2048 and 3072: \(parsed)")
        #expect(parsed.contains("sha256WithRSAEncryption"))
        #expect(!parsed.contains("id-ecPublicKey"))
        #expect(try CSRAttributes.encode(for: KeyPolicy(enabled: false), caSignatureAlgorithm: .ecdsaWithSHA256) == [0x30, 0x00])
    }

    /// A chain to an anchor through a presented intermediate is accepted; a foreign leaf, an
    /// expired one (unless allowed) and a chain cut short by `usableLength` are not.
    @Test func clientChainsAreCheckedAgainstTheAnchors() async throws {
        let now = Date()
        let root = try TestCA(.init(storedAlgorithm: .ecdsa, bits: 256), name: "Anchor", now: now)
        let intermediateKey = try SigningKey.generate(.init(storedAlgorithm: .ecdsa, bits: 256))
        let intermediate = try CertificateBuilder.issue(
            .init(name: try DistinguishedName { CommonName("Line CA") }, publicKey: intermediateKey.publicKey),
            policy: IssuancePolicy(notAfter: now.addingTimeInterval(86_400 * 100), signAsCA: true), issuer: root.issuer, now: now)
        let lineCA = try Issuer(certificate: intermediate, key: intermediateKey, crlURL: nil, ocspURL: nil)
        let leafKey = try SigningKey.generate(.init(storedAlgorithm: .ecdsa, bits: 256))
        let leaf = try CertificateBuilder.issue(
            .init(name: try DistinguishedName { CommonName("device") }, publicKey: leafKey.publicKey),
            policy: IssuancePolicy(notAfter: now.addingTimeInterval(86_400)), issuer: lineCA, now: now)

        let chain = try await ClientCertificateVerification.verify(presented: [leaf, intermediate], anchors: [root.certificate], at: now)
        #expect(chain == [leaf, intermediate, root.certificate])
        await #expect(throws: PKIError.self) {
            try await ClientCertificateVerification.verify(presented: [leaf, intermediate], anchors: [root.certificate], usableLength: 1, at: now)
        }
        let stranger = try TestCA(.init(storedAlgorithm: .ecdsa, bits: 256), name: "Stranger", now: now)
        await #expect(throws: PKIError.self) {
            try await ClientCertificateVerification.verify(presented: [leaf, intermediate], anchors: [stranger.certificate], at: now)
        }
        let later = now.addingTimeInterval(2 * 86_400)
        await #expect(throws: PKIError.self) {
            try await ClientCertificateVerification.verify(presented: [leaf, intermediate], anchors: [root.certificate], at: later)
        }
        let expiredButAllowed = try await ClientCertificateVerification.verify(
            presented: [leaf, intermediate], anchors: [root.certificate], at: later, allowExpiredLeaf: true)
        #expect(expiredButAllowed.first == leaf)
    }

    /// A chain verified once is answered from the cache while it is valid, and only for the
    /// anchors it was verified against: an expired leaf or a foreign anchor is still refused.
    @Test func verifiedChainsAreKeptOnlyWhileValidAndPerAnchors() async throws {
        let now = Date()
        let root = try TestCA(.init(storedAlgorithm: .ecdsa, bits: 256), name: "Anchor", now: now)
        let leaf = try root.issueLeaf("device", now: now).certificate  // valid a year
        let cache = VerifiedChainCache()
        #expect(try await cache.verify(presented: [leaf], anchors: [root.certificate], at: now) == [leaf, root.certificate])
        let again = try await cache.verify(presented: [leaf], anchors: [root.certificate], at: now.addingTimeInterval(60))
        #expect(again == [leaf, root.certificate])
        await #expect(throws: PKIError.self) {
            try await cache.verify(presented: [leaf], anchors: [root.certificate], at: now.addingTimeInterval(400 * 86_400))
        }
        let stranger = try TestCA(.init(storedAlgorithm: .ecdsa, bits: 256), name: "Stranger", now: now)
        await #expect(throws: PKIError.self) {
            try await cache.verify(presented: [leaf], anchors: [stranger.certificate], at: now)
        }
    }
}
