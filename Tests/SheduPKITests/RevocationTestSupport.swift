import Foundation
import SheduTestSupport
import SwiftASN1
import Testing
import X509

@testable import SheduPKI

/// The CA key kinds every revocation test runs with.
let caKeySpecs: [KeySpec] = [
    KeySpec(storedAlgorithm: .ecdsa, bits: 256),
    KeySpec(storedAlgorithm: .ecdsa, bits: 384),
    KeySpec(storedAlgorithm: .rsa, bits: 2048),
    KeySpec(storedAlgorithm: .ed25519, bits: 256),
]

/// A CA made in-test with Shedu's certificate builder, and the certificates it issues.
struct TestCA: Sendable {
    static let crlURL = "http://pki.shedu.test/crl/test-ca.crl"
    static let ocspURL = "http://pki.shedu.test/ocsp"

    let key: SigningKey
    let certificate: Certificate

    init(_ spec: KeySpec, name: String = "Shedu Test CA", now: Date = Date()) throws {
        key = try SigningKey.generate(spec)
        let subject = try DistinguishedName {
            OrganizationName("Shedu")
            CommonName("\(name) \(spec)")
        }
        certificate = try CertificateBuilder.issue(
            .init(name: subject, publicKey: key.publicKey),
            policy: IssuancePolicy(notAfter: now.addingTimeInterval(10 * 365 * 86_400), signAsCA: true),
            issuer: nil, selfSigningKey: key, now: now)
    }

    var issuer: Issuer { get throws { try Issuer(certificate: certificate, key: key, crlURL: Self.crlURL, ocspURL: Self.ocspURL) } }

    /// A P-256 end-entity certificate (with the CA's CRL distribution point and OCSP URL) and its key.
    func issueLeaf(
        _ commonName: String, extendedKeyUsages: [ExtendedKeyUsageName] = [.clientAuth], now: Date = Date()
    ) throws -> (certificate: Certificate, key: SigningKey) {
        let key = try SigningKey.generate(KeySpec(storedAlgorithm: .ecdsa, bits: 256))
        let subject = try DistinguishedName { CommonName(commonName) }
        let certificate = try CertificateBuilder.issue(
            .init(name: subject, publicKey: key.publicKey),
            policy: IssuancePolicy(notAfter: now.addingTimeInterval(365 * 86_400), extendedKeyUsages: extendedKeyUsages),
            issuer: issuer, now: now)
        return (certificate, key)
    }
}

/// A scratch folder under the system's temporary directory, removed by ``remove()``.
struct ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("shedu-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file.path
    }

    @discardableResult
    func write(_ name: String, pem certificate: Certificate) throws -> String {
        try write(name, Array(PEMText.pem(derCertificate: certificate.derBytes).utf8))
    }

    func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: url.appendingPathComponent(name)))
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// What a command printed (standard output and error together) and how it ended.
struct CommandResult: CustomStringConvertible {
    var status: Int32
    var output: String
    var description: String { "exit \(status):\n\(output)" }
}

/// Runs a program in `folder` and collects what it printed.
func runCommand(_ executable: String, _ arguments: [String], in folder: ScratchFolder) throws -> CommandResult {
    let result = try ChildProcess.run(executable, arguments, directory: folder.url.path, mergingErrors: true)
    return CommandResult(status: result.status, output: result.output)
}

/// The `openssl` command line, found on the PATH.
func openssl(_ arguments: String..., in folder: ScratchFolder) throws -> CommandResult {
    try runCommand(opensslPath, arguments, in: folder)
}

let opensslPath: String = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/openssl"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return "/usr/bin/openssl"
}()

/// The pkilint folder named by `SHEDU_PKILINT_BIN`, if set; its tests are skipped otherwise.
let pkilintFolder: String? = ProcessInfo.processInfo.environment["SHEDU_PKILINT_BIN"].flatMap { $0.isEmpty ? nil : $0 }

/// Runs a pkilint tool (`lint_crl`, `lint_ocsp_response`) on a DER file, reporting ERROR and worse.
func pkilint(_ tool: String, _ arguments: [String], file: String, in folder: ScratchFolder) throws -> CommandResult {
    let directory = try #require(pkilintFolder)
    return try runCommand(
        "\(directory)/\(tool)", ["lint"] + arguments + ["-s", "ERROR", "--document-format", "DER", file], in: folder)
}

/// A small deterministic generator, so that a failing fuzz case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476C_E5B9_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Uppercase hex of a serial as openssl prints it.
func opensslSerial(_ serial: Certificate.SerialNumber) -> String {
    serial.hexString.uppercased()
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes.
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
