import Foundation
import SheduPKI
import SheduTestSupport
import Testing
import X509

@testable import SheduServer

@Suite("The data folder")
struct DataFolderTests {
    func mode(_ path: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path.path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func firstStartCreatesItsMaterialAndTheSecondReusesIt() throws {
        let root = try makeTemporaryFolder()
        let folder = DataFolder(path: root.appendingPathComponent("data").path)
        try folder.prepare(serverNames: DataFolder.serverNames(host: "127.0.0.1"))
        for secret in [folder.masterKey, folder.tokenSigningKey, folder.serverKey, folder.caKey] {
            #expect(try mode(secret) == 0o600, "\(secret.lastPathComponent)")
        }
        #expect(try mode(folder.path) == 0o700)
        #expect(try Data(contentsOf: folder.masterKey).count == 32)

        let certificate = try Certificate(pemEncoded: try folder.read(folder.serverCertificate))
        let ca = try Certificate(pemEncoded: try folder.read(folder.caCertificate))
        #expect(certificate.issuer == ca.subject)
        #expect(ca.publicKey.isValidSignature(certificate.signature, for: certificate))
        let names = try #require(try certificate.extensions.subjectAlternativeNames)
        let dns = names.compactMap { if case .dnsName(let name) = $0 { name } else { nil } }
        let ips = names.compactMap { if case .ipAddress(let bytes) = $0 { Array(bytes.bytes) } else { nil } }
        #expect(dns.contains("localhost"))
        #expect(dns.contains(ProcessInfo.processInfo.hostName))
        #expect(ips.contains([127, 0, 0, 1]))
        #expect(ips.contains(Array(repeating: 0, count: 15) + [1]))

        let before = try [folder.masterKey, folder.tokenSigningKey, folder.serverCertificate, folder.caCertificate].map {
            try Data(contentsOf: $0)
        }
        try folder.prepare(serverNames: DataFolder.serverNames(host: "127.0.0.1"))
        let after = try [folder.masterKey, folder.tokenSigningKey, folder.serverCertificate, folder.caCertificate].map {
            try Data(contentsOf: $0)
        }
        #expect(before == after)

        // A new bind address reissues the server certificate under the same CA; keys stay.
        try folder.prepare(serverNames: DataFolder.serverNames(host: "10.1.2.3"))
        let reissued = try Certificate(pemEncoded: try folder.read(folder.serverCertificate))
        #expect(reissued.serialNumber != certificate.serialNumber)
        #expect(ca.publicKey.isValidSignature(reissued.signature, for: reissued))
        #expect(try Data(contentsOf: folder.masterKey) == before[0])
        try? FileManager.default.removeItem(at: root)
    }

    @Test func aFileInPlaceOfTheFolderIsAClearError() throws {
        let root = try makeTemporaryFolder()
        let file = root.appendingPathComponent("not-a-folder")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data())
        let error = try #require(throws: (any Error).self) {
            try DataFolder(path: file.path).prepare(serverNames: ["localhost"])
        }
        #expect("\(error)".contains("exists and is not a folder"))
        try? FileManager.default.removeItem(at: root)
    }
}
