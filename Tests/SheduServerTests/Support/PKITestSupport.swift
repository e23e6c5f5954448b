import Crypto
import Foundation
import SheduPKI
import SwiftASN1
import Testing
import X509
import _CryptoExtras

/// Keys and CSRs made by tests.
enum TestPKI {
    static func key(_ algorithm: String, _ bits: Int) throws -> SigningKey {
        try SigningKey.generate(try KeySpec(algorithm: KeyAlgorithm(name: algorithm)!, bits: bits))
    }

    /// A CSR signed by `key`, as base64 of its DER (the seeds' form).
    static func csr(
        commonName: String, organization: String? = nil, key: SigningKey, dnsNames: [String] = [],
        keyUsage: KeyUsage? = nil, extendedKeyUsage: [ExtendedKeyUsage.Usage] = [], name requestedName: DistinguishedName? = nil,
        extraExtensions: [Certificate.Extension] = []
    ) throws -> String {
        let name = try requestedName ?? DistinguishedName {
            if let organization { OrganizationName(organization) }
            CommonName(commonName)
        }
        var extensions = Certificate.Extensions()
        if !dnsNames.isEmpty {
            try extensions.append(Certificate.Extension(SubjectAlternativeNames(dnsNames.map { .dnsName($0) }), critical: false))
        }
        if let keyUsage { try extensions.append(Certificate.Extension(keyUsage, critical: true)) }
        if !extendedKeyUsage.isEmpty {
            try extensions.append(Certificate.Extension(try ExtendedKeyUsage(extendedKeyUsage), critical: false))
        }
        for extra in extraExtensions { try extensions.append(extra) }
        var attributes = CertificateSigningRequest.Attributes()
        if !extensions.isEmpty {
            attributes.insert(try CertificateSigningRequest.Attribute(ExtensionRequest(extensions: extensions)))
        }
        let request = try CertificateSigningRequest(
            version: .v1, subject: name, privateKey: key.certificateKey, attributes: attributes,
            signatureAlgorithm: key.spec.certificateSignatureAlgorithm)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return Data(serializer.serializedBytes).base64EncodedString()
    }

    /// A CSR (base64 DER) whose extension request lists the subject alternative names twice,
    /// which RFC 5280 §4.2 forbids; swift-certificates' builders refuse to make one.
    static func csrWithTwoAlternativeNames(commonName: String, key: SigningKey) throws -> String {
        var extensionsDER = DER.Serializer()
        try extensionsDER.appendConstructedNode(identifier: .sequence) { coder in
            for name in ["a.example", "b.example"] {
                try coder.serialize(try Certificate.Extension(SubjectAlternativeNames([.dnsName(name)]), critical: false))
            }
        }
        var attributes = CertificateSigningRequest.Attributes()
        attributes.insert(.init(oid: .CSRAttributes.extensionRequest, values: [try ASN1Any(derEncoded: extensionsDER.serializedBytes)]))
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName(commonName) }, privateKey: key.certificateKey,
            attributes: attributes, signatureAlgorithm: key.spec.certificateSignatureAlgorithm)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return Data(serializer.serializedBytes).base64EncodedString()
    }

    /// The DER of a certificate from the API's base64-of-PEM form.
    static func certificate(fromAPI base64PEM: String) throws -> Certificate {
        let pem = String(decoding: try #require(Data(base64Encoded: base64PEM)), as: UTF8.self)
        return try Certificate(pemEncoded: pem)
    }

    static func pem(fromAPI base64PEM: String) throws -> String {
        String(decoding: try #require(Data(base64Encoded: base64PEM)), as: UTF8.self)
    }

    /// Findings of pkilint at ERROR or worse (empty when clean); nil when pkilint is not installed.
    static func pkilintErrors(_ tool: String, pem: String) throws -> String? {
        try pkilintErrors(tool, document: Data(pem.utf8), suffix: "pem")
    }

    /// ``pkilintErrors(_:pem:)`` for a DER document (a CRL, an OCSP response), with the tool's
    /// own options (`lint_crl` wants `-t CRL -p PKIX`).
    static func pkilintErrors(_ tool: String, der: [UInt8], options: [String] = []) throws -> String? {
        try pkilintErrors(tool, document: Data(der), suffix: "der", options: options)
    }

    private static func pkilintErrors(_ tool: String, document: Data, suffix: String, options: [String] = []) throws -> String? {
        guard let directory = ProcessInfo.processInfo.environment["SHEDU_PKILINT_BIN"] else { return nil }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lint-\(UUID().uuidString).\(suffix)")
        try document.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try runTool("\(directory)/\(tool)", ["lint", "-s", "ERROR"] + options + [file.path])
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines) + result.errors.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var pkilintInstalled: Bool { ProcessInfo.processInfo.environment["SHEDU_PKILINT_BIN"] != nil }
}
