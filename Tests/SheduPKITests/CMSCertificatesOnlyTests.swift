import Foundation
import SwiftASN1
import Testing
import X509

@testable import SheduPKI

@Suite("CMS certs-only SignedData (EST)")
struct CMSCertificatesOnlyTests {
    /// DER's SET OF order: by encoding, the shorter padded with zeros.
    private func setOrder(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            if left != right { return left < right }
        }
        return false
    }

    @Test(arguments: caKeySpecs)
    func opensslListsEveryCertificate(spec: KeySpec) throws {
        let ca = try TestCA(spec)
        let leaves = try (0..<3).map { try ca.issueLeaf("device-\($0)").certificate }
        let certificates = [ca.certificate] + leaves
        let der = try CMSCertificatesOnly.encode(certificates)

        let parsed = try CMSCertificatesOnly.certificates(fromDER: der)
        #expect(Set(parsed) == Set(certificates))
        #expect(parsed.count == certificates.count)
        #expect(parsed.map(\.derBytes) == certificates.map(\.derBytes).sorted(by: setOrder))

        let folder = try ScratchFolder()
        defer { folder.remove() }
        try folder.write("p7.der", der)
        let printed = try openssl("pkcs7", "-inform", "DER", "-in", "p7.der", "-print_certs", in: folder)
        #expect(printed.status == 0, "\(printed)")
        #expect(printed.output.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1 == 4, "\(printed)")
        for name in ["device-0", "device-1", "device-2", "Shedu Test CA \(spec)"] {
            #expect(printed.output.contains("CN = \(name)") || printed.output.contains("CN=\(name)"), "\(printed)")
        }
        // openssl reads it as a signed-data PKCS#7 with no signers.
        let structure = try openssl("pkcs7", "-inform", "DER", "-in", "p7.der", "-print", "-noout", in: folder)
        #expect(structure.output.contains("pkcs7-signedData"), "\(structure)")
        #expect(structure.output.range(of: #"md_algs:\s*<EMPTY>"#, options: .regularExpression) != nil, "\(structure)")
        #expect(structure.output.range(of: #"crl:\s*<ABSENT>"#, options: .regularExpression) != nil, "\(structure)")
        #expect(structure.output.range(of: #"signer_info:\s*<EMPTY>"#, options: .regularExpression) != nil, "\(structure)")
    }

    @Test func readsWhatOpensslWrites() throws {
        let ca = try TestCA(KeySpec(storedAlgorithm: .rsa, bits: 2048))
        let leaf = try ca.issueLeaf("device").certificate
        let folder = try ScratchFolder()
        defer { folder.remove() }
        try folder.write(
            "chain.pem",
            Array((PEMText.pem(derCertificate: leaf.derBytes) + PEMText.pem(derCertificate: ca.certificate.derBytes)).utf8))
        let made = try openssl(
            "crl2pkcs7", "-nocrl", "-certfile", "chain.pem", "-outform", "DER", "-out", "p7.der", in: folder)
        #expect(made.status == 0, "\(made)")
        let read = try CMSCertificatesOnly.certificates(fromDER: folder.read("p7.der"))
        #expect(Set(read) == Set([leaf, ca.certificate]))
    }

    @Test func refusesEmptyListsAndOtherContent() throws {
        #expect(throws: PKIError.self) { try CMSCertificatesOnly.encode([]) }
        #expect(throws: PKIError.self) { try CMSCertificatesOnly.certificates(fromDER: []) }
        #expect(throws: PKIError.self) { try CMSCertificatesOnly.certificates(fromDER: [0x30, 0x00]) }
        // A ContentInfo of id-data.
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { info in
            try info.serialize([1, 2, 840, 113_549, 1, 7, 1] as ASN1ObjectIdentifier)
            try info.serialize(ASN1OctetString(contentBytes: [1, 2, 3]), explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
        }
        #expect(throws: PKIError.self) { try CMSCertificatesOnly.certificates(fromDER: serializer.serializedBytes) }
        let ca = try TestCA(KeySpec(storedAlgorithm: .ed25519, bits: 256))
        let der = try CMSCertificatesOnly.encode([ca.certificate])
        for length in 0..<der.count {
            #expect(throws: PKIError.self) { try CMSCertificatesOnly.certificates(fromDER: Array(der.prefix(length))) }
        }
    }
}
