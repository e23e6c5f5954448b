import SwiftASN1
import X509

/// Key usage bits by the names of the API (Lamassu's), in their canonical order.
public enum KeyUsageName: String, Hashable, Codable, NamedCase {
    case digitalSignature = "DigitalSignature"
    case contentCommitment = "ContentCommitment"
    case keyEncipherment = "KeyEncipherment"
    case dataEncipherment = "DataEncipherment"
    case keyAgreement = "KeyAgreement"
    case certSign = "CertSign"
    case crlSign = "CRLSign"
    case encipherOnly = "EncipherOnly"
    case decipherOnly = "DecipherOnly"

    public static func keyUsage(_ names: some Sequence<KeyUsageName>) -> KeyUsage {
        var usage = KeyUsage()
        for name in names {
            switch name {
            case .digitalSignature: usage.digitalSignature = true
            case .contentCommitment: usage.nonRepudiation = true
            case .keyEncipherment: usage.keyEncipherment = true
            case .dataEncipherment: usage.dataEncipherment = true
            case .keyAgreement: usage.keyAgreement = true
            case .certSign: usage.keyCertSign = true
            case .crlSign: usage.cRLSign = true
            case .encipherOnly: usage.encipherOnly = true
            case .decipherOnly: usage.decipherOnly = true
            }
        }
        return usage
    }

    public static func names(_ usage: KeyUsage) -> [KeyUsageName] {
        allCases.filter { name in
            switch name {
            case .digitalSignature: usage.digitalSignature
            case .contentCommitment: usage.nonRepudiation
            case .keyEncipherment: usage.keyEncipherment
            case .dataEncipherment: usage.dataEncipherment
            case .keyAgreement: usage.keyAgreement
            case .certSign: usage.keyCertSign
            case .crlSign: usage.cRLSign
            case .encipherOnly: usage.encipherOnly
            case .decipherOnly: usage.decipherOnly
            }
        }
    }
}

/// Extended key usages by the names of the API (Lamassu's).
public enum ExtendedKeyUsageName: String, Hashable, Codable, NamedCase {
    case any = "Any"
    case serverAuth = "ServerAuth"
    case clientAuth = "ClientAuth"
    case codeSigning = "CodeSigning"
    case emailProtection = "EmailProtection"
    case ipsecEndSystem = "IPSECEndSystem"
    case ipsecTunnel = "IPSECTunnel"
    case ipsecUser = "IPSECUser"
    case timeStamping = "TimeStamping"
    case ocspSigning = "OCSPSigning"
    case microsoftServerGatedCrypto = "MicrosoftServerGatedCrypto"
    case netscapeServerGatedCrypto = "NetscapeServerGatedCrypto"
    case microsoftCommercialCodeSigning = "MicrosoftCommercialCodeSigning"
    case microsoftKernelCodeSigning = "MicrosoftKernelCodeSigning"

    public var oid: ASN1ObjectIdentifier {
        switch self {
        case .any: [2, 5, 29, 37, 0]
        case .serverAuth: [1, 3, 6, 1, 5, 5, 7, 3, 1]
        case .clientAuth: [1, 3, 6, 1, 5, 5, 7, 3, 2]
        case .codeSigning: [1, 3, 6, 1, 5, 5, 7, 3, 3]
        case .emailProtection: [1, 3, 6, 1, 5, 5, 7, 3, 4]
        case .ipsecEndSystem: [1, 3, 6, 1, 5, 5, 7, 3, 5]
        case .ipsecTunnel: [1, 3, 6, 1, 5, 5, 7, 3, 6]
        case .ipsecUser: [1, 3, 6, 1, 5, 5, 7, 3, 7]
        case .timeStamping: [1, 3, 6, 1, 5, 5, 7, 3, 8]
        case .ocspSigning: [1, 3, 6, 1, 5, 5, 7, 3, 9]
        case .microsoftServerGatedCrypto: [1, 3, 6, 1, 4, 1, 311, 10, 3, 3]
        case .netscapeServerGatedCrypto: [2, 16, 840, 1, 113_730, 4, 1]
        case .microsoftCommercialCodeSigning: [1, 3, 6, 1, 4, 1, 311, 2, 1, 22]
        case .microsoftKernelCodeSigning: [1, 3, 6, 1, 4, 1, 311, 61, 1, 1]
        }
    }

    public init?(oid: ASN1ObjectIdentifier) {
        guard let value = Self.allCases.first(where: { $0.oid == oid }) else { return nil }
        self = value
    }
}
