import Foundation
import X509

/// Which keys may be certified (an issuance profile's `crypto_enforcement`).
public struct KeyPolicy: Sendable, Hashable {
    public var enabled: Bool
    public var allowRSA: Bool
    public var rsaSizes: [Int]
    public var allowECDSA: Bool
    public var ecdsaSizes: [Int]
    public var allowEd25519: Bool

    public init(
        enabled: Bool = false, allowRSA: Bool = true, rsaSizes: [Int] = [2048, 3072, 4096], allowECDSA: Bool = true,
        ecdsaSizes: [Int] = [256, 384, 521], allowEd25519: Bool = true
    ) {
        self.enabled = enabled
        self.allowRSA = allowRSA
        self.rsaSizes = rsaSizes
        self.allowECDSA = allowECDSA
        self.ecdsaSizes = ecdsaSizes
        self.allowEd25519 = allowEd25519
    }

    /// Refuses a key the policy does not accept, saying why.
    public func check(_ spec: KeySpec) throws {
        guard enabled else { return }
        switch spec.algorithm {
        case .rsa:
            guard allowRSA else { throw PKIError.invalidInput("the issuance profile does not accept RSA keys") }
            guard rsaSizes.contains(spec.bits) else {
                throw PKIError.invalidInput(
                    "the issuance profile accepts RSA keys of \(rsaSizes.map(String.init).joined(separator: ", ")) bits, not \(spec.bits)")
            }
        case .ecdsa:
            guard allowECDSA else { throw PKIError.invalidInput("the issuance profile does not accept ECDSA keys") }
            guard ecdsaSizes.contains(spec.bits) else {
                throw PKIError.invalidInput(
                    "the issuance profile accepts ECDSA keys of \(ecdsaSizes.map(String.init).joined(separator: ", ")) bits, not \(spec.bits)")
            }
        case .ed25519:
            guard allowEd25519 else { throw PKIError.invalidInput("the issuance profile does not accept Ed25519 keys") }
        }
    }
}

/// What an issuance profile decides about a certificate, in X.509 terms: the rules of Lamassu's
/// profiles (honor flags, key usages, validity, CA or not, accepted keys).
public struct IssuancePolicy: Sendable {
    public var notAfter: Date
    public var signAsCA: Bool
    public var honorKeyUsage: Bool
    public var keyUsage: [KeyUsageName]
    public var honorExtendedKeyUsages: Bool
    public var extendedKeyUsages: [ExtendedKeyUsageName]
    public var honorSubject: Bool
    public var subject: Subject
    public var honorExtensions: Bool
    public var keyPolicy: KeyPolicy

    public init(
        notAfter: Date, signAsCA: Bool = false, honorKeyUsage: Bool = false, keyUsage: [KeyUsageName] = [.digitalSignature],
        honorExtendedKeyUsages: Bool = false, extendedKeyUsages: [ExtendedKeyUsageName] = [],
        honorSubject: Bool = true, subject: Subject = Subject(), honorExtensions: Bool = true,
        keyPolicy: KeyPolicy = KeyPolicy()
    ) {
        self.notAfter = notAfter
        self.signAsCA = signAsCA
        self.honorKeyUsage = honorKeyUsage
        self.keyUsage = keyUsage
        self.honorExtendedKeyUsages = honorExtendedKeyUsages
        self.extendedKeyUsages = extendedKeyUsages
        self.honorSubject = honorSubject
        self.subject = subject
        self.honorExtensions = honorExtensions
        self.keyPolicy = keyPolicy
    }
}

/// The CA that signs: its certificate and key, and the URLs it publishes status at.
public struct Issuer: Sendable {
    public let certificate: Certificate
    public let key: SigningKey
    /// The CA's subject key identifier (what certificates it issues carry as their AKI).
    public let keyIdentifier: [UInt8]
    public let crlURL: String?
    public let ocspURL: String?
    /// What every certificate it issues says of it, encoded once rather than per certificate:
    /// its key identifier, and where its CRL and OCSP responder are.
    let authorityKeyIdentifierExtension: Certificate.Extension
    let locationExtensions: Certificate.Extensions

    /// Throws when a URL cannot be written in a certificate (it must be ASCII, RFC 5280 §4.2.1.13).
    public init(certificate: Certificate, key: SigningKey, crlURL: String?, ocspURL: String?) throws {
        self.certificate = certificate
        self.key = key
        keyIdentifier = certificate.subjectKeyIdentifierBytes ?? certificate.publicKey.keyIdentifier
        self.crlURL = crlURL
        self.ocspURL = ocspURL
        authorityKeyIdentifierExtension = try Certificate.Extension(
            AuthorityKeyIdentifier(keyIdentifier: ArraySlice(keyIdentifier)), critical: false)
        locationExtensions = try Certificate.Extensions {
            if let crlURL { try CRLDistributionPointsExtension.make(uri: crlURL) }
            if let ocspURL {
                AuthorityInformationAccess([.init(method: .ocspServer, location: .uniformResourceIdentifier(ocspURL))])
            }
        }
    }
}
