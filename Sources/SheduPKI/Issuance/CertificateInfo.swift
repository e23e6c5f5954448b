import Foundation
import SwiftASN1
import X509

extension Certificate {
    /// The subject key identifier extension's bytes, if present.
    public var subjectKeyIdentifierBytes: [UInt8]? {
        (try? extensions.subjectKeyIdentifier).flatMap { $0.map { Array($0.keyIdentifier) } }
    }

    /// The authority key identifier's key id, if present.
    public var authorityKeyIdentifierBytes: [UInt8]? {
        (try? extensions.authorityKeyIdentifier)?.flatMap { $0.keyIdentifier.map(Array.init) }
    }

    public var isCertificateAuthority: Bool {
        if case .isCertificateAuthority = try? extensions.basicConstraints { return true }
        return false
    }

    /// Whether the certificate names itself as issuer and its own key verifies its signature.
    public var isSelfSigned: Bool {
        issuer == subject && publicKey.isValidSignature(signature, for: self)
    }
}

/// What the API shows of a certificate, read from the certificate itself.
public struct CertificateInfo: Sendable, Hashable {
    public struct AlternativeNames: Sendable, Hashable, Codable {
        public var dns: [String] = []
        public var ip: [String] = []
        public var email: [String] = []
        public var uri: [String] = []

        public init() {}
    }

    public var serialNumber: String
    public var subject: Subject
    public var issuer: Subject
    public var subjectKeyID: String
    public var authorityKeyID: String
    public var keySpec: KeySpec
    public var notBefore: Date
    public var notAfter: Date
    public var isCA: Bool
    public var keyUsage: [KeyUsageName]
    public var extendedKeyUsage: [ExtendedKeyUsageName]
    public var alternativeNames: AlternativeNames

    public init(
        serialNumber: String, subject: Subject, issuer: Subject, subjectKeyID: String, authorityKeyID: String,
        keySpec: KeySpec, notBefore: Date, notAfter: Date, isCA: Bool, keyUsage: [KeyUsageName],
        extendedKeyUsage: [ExtendedKeyUsageName], alternativeNames: AlternativeNames
    ) {
        self.serialNumber = serialNumber
        self.subject = subject
        self.issuer = issuer
        self.subjectKeyID = subjectKeyID
        self.authorityKeyID = authorityKeyID
        self.keySpec = keySpec
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.isCA = isCA
        self.keyUsage = keyUsage
        self.extendedKeyUsage = extendedKeyUsage
        self.alternativeNames = alternativeNames
    }

    public init(_ certificate: Certificate) throws {
        guard let spec = KeySpec(of: certificate.publicKey) else {
            throw PKIError.invalidInput("the certificate's key is of a kind Shedu does not support")
        }
        serialNumber = certificate.serialNumber.hexString
        subject = Subject(certificate.subject)
        issuer = Subject(certificate.issuer)
        subjectKeyID = Hex.encode(certificate.subjectKeyIdentifierBytes ?? certificate.publicKey.keyIdentifier)
        authorityKeyID = certificate.authorityKeyIdentifierBytes.map { Hex.encode($0) } ?? ""
        keySpec = spec
        notBefore = certificate.notValidBefore
        notAfter = certificate.notValidAfter
        isCA = certificate.isCertificateAuthority
        let usage: KeyUsage? = (try? certificate.extensions.keyUsage) ?? nil
        keyUsage = usage.map(KeyUsageName.names) ?? []
        let extendedUsage: ExtendedKeyUsage? = (try? certificate.extensions.extendedKeyUsage) ?? nil
        extendedKeyUsage = extendedUsage?.compactMap { ExtendedKeyUsageName(oid: ASN1ObjectIdentifier($0)) } ?? []
        var names = AlternativeNames()
        let requestedNames: SubjectAlternativeNames? = (try? certificate.extensions.subjectAlternativeNames) ?? nil
        for name in requestedNames.map(Array.init) ?? [] {
            switch name {
            case .dnsName(let value): names.dns.append(value)
            case .rfc822Name(let value): names.email.append(value)
            case .uniformResourceIdentifier(let value): names.uri.append(value)
            case .ipAddress(let bytes): names.ip.append(Self.ipText(Array(bytes.bytes)))
            default: break
            }
        }
        alternativeNames = names
    }

    /// An IP address of a subject alternative name as text (dotted IPv4, RFC 5952 IPv6).
    public static func ipText(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var address = in6_addr()
        guard bytes.count == 16 else { return Hex.encode(bytes) }
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return Hex.encode(bytes) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
