import Crypto
import Foundation
import SwiftASN1
import X509

/// The TLS material of a data folder: a local CA made on first start, and a server certificate
/// it signs for the names the server answers to.
public enum LocalTLSAuthority {
    public struct Issued: Sendable {
        public var certificatePEM: String
        public var privateKeyPEM: String
    }

    /// A self-signed P-256 CA valid for ten years.
    public static func makeCA(commonName: String, now: Date) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let privateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName {
            OrganizationName("Shedu")
            CommonName(commonName)
        }
        let publicKey = privateKey.publicKey
        let certificate = try Certificate(
            version: .v3, serialNumber: .generate(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: ArraySlice(publicKey.keyIdentifier))
            },
            issuerPrivateKey: privateKey)
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// A P-256 server certificate for `dnsNames` and `ipAddresses`, valid for one year.
    public static func makeServerCertificate(
        dnsNames: [String], ipAddresses: [String], caCertificatePEM: String, caPrivateKeyPEM: String, now: Date
    ) throws -> Issued {
        let ca = try Certificate(pemEncoded: caCertificatePEM)
        let caKey = try Certificate.PrivateKey(pemEncoded: caPrivateKeyPEM)
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        var names: [GeneralName] = dnsNames.map { .dnsName($0) }
        for address in ipAddresses {
            if let bytes = ipAddressBytes(address) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))))
            }
        }
        let subject = try DistinguishedName {
            OrganizationName("Shedu")
            CommonName(dnsNames.first ?? "localhost")
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .generate(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(365 * 86_400),
            issuer: ca.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectKeyIdentifier(keyIdentifier: ArraySlice(publicKey.keyIdentifier))
                AuthorityKeyIdentifier(keyIdentifier: ArraySlice(ca.publicKey.keyIdentifier))
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: caKey)
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// The names a server certificate covers, to decide whether it must be reissued.
    public static func coveredNames(certificatePEM: String) throws -> (dns: Set<String>, ip: Set<[UInt8]>, notAfter: Date) {
        let certificate = try Certificate(pemEncoded: certificatePEM)
        var dns = Set<String>()
        var ip = Set<[UInt8]>()
        if let names = try certificate.extensions.subjectAlternativeNames {
            for name in names {
                switch name {
                case .dnsName(let value): dns.insert(value)
                case .ipAddress(let value): ip.insert(Array(value.bytes))
                default: break
                }
            }
        }
        return (dns, ip, certificate.notValidAfter)
    }

    /// The network-order bytes of an IPv4 or IPv6 address literal.
    public static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
