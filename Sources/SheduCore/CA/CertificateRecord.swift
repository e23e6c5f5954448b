import Foundation
import SheduPKI
import X509

/// A certificate Shedu knows: issued by one of its CAs, or imported (API.md §2, Certificate).
public struct CertificateRecord: Sendable, Hashable {
    /// The issuer as the API shows it: the issuing CA's id, serial and level.
    public struct IssuerMetadata: Sendable, Hashable, Codable {
        public var serialNumber: String
        public var id: String
        public var level: Int

        public init(serialNumber: String, id: String, level: Int) {
            self.serialNumber = serialNumber
            self.id = id
            self.level = level
        }

        /// What an imported certificate whose issuer Shedu does not know shows.
        public static let unknown = IssuerMetadata(serialNumber: "-", id: "-", level: -1)

        enum CodingKeys: String, CodingKey { case serialNumber = "serial_number", id, level }
    }

    public var der: [UInt8]
    public var info: CertificateInfo
    public var status: CertificateStatus
    public var revocationTimestamp: Date?
    public var revocationReason: RevocationReason
    /// The CA whose hold put this certificate on hold; released with it.
    public var heldByCA: String?
    public var type: CertificateType
    public var engineID: String
    /// The KMS key holding the private key, when Shedu has it.
    public var keyID: String?
    /// The CA this certificate belongs to, for CA certificates (current or replaced).
    public var caID: String?
    public var isSelfSigned: Bool
    public var issuer: IssuerMetadata
    public var metadata: [String: JSONValue]
    public var creationDate: Date

    public var serialNumber: String { info.serialNumber }

    public init(
        certificate: Certificate, status: CertificateStatus = .active, type: CertificateType, engineID: String = "",
        keyID: String? = nil, caID: String? = nil, issuer: IssuerMetadata, metadata: [String: JSONValue] = [:],
        creationDate: Date
    ) throws {
        do {
            info = try CertificateInfo(certificate)
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
        der = certificate.derBytes
        self.status = status
        revocationTimestamp = nil
        revocationReason = .unspecified
        heldByCA = nil
        self.type = type
        self.engineID = engineID
        self.keyID = keyID
        self.caID = caID
        isSelfSigned = certificate.issuer == certificate.subject && certificate.isSelfSigned
        self.issuer = issuer
        self.metadata = metadata
        self.creationDate = creationDate
    }

    /// A record read back from the store.
    public init(
        der: [UInt8], info: CertificateInfo, status: CertificateStatus, revocationTimestamp: Date?,
        revocationReason: RevocationReason, heldByCA: String?, type: CertificateType, engineID: String, keyID: String?,
        caID: String?, isSelfSigned: Bool, issuer: IssuerMetadata, metadata: [String: JSONValue], creationDate: Date
    ) {
        self.der = der
        self.info = info
        self.status = status
        self.revocationTimestamp = revocationTimestamp
        self.revocationReason = revocationReason
        self.heldByCA = heldByCA
        self.type = type
        self.engineID = engineID
        self.keyID = keyID
        self.caID = caID
        self.isSelfSigned = isSelfSigned
        self.issuer = issuer
        self.metadata = metadata
        self.creationDate = creationDate
    }

    /// The parsed certificate.
    public func certificate() throws -> Certificate {
        try Certificate(derEncoded: der)
    }

    /// Filterable fields of certificate lists (Lamassu's names).
    public static let fieldDefinitions: [FieldDefinition] = [
        FieldDefinition("serial_number", .string), FieldDefinition("subject.common_name", .string),
        FieldDefinition("subject_key_id", .string), FieldDefinition("authority_key_id", .string),
        FieldDefinition("issuer_meta.id", .string), FieldDefinition("status", .enumeration(CertificateStatus.allCases.map(\.rawValue))),
        FieldDefinition("type", .enumeration(CertificateType.allCases.map(\.rawValue))), FieldDefinition("engine_id", .string),
        FieldDefinition("valid_from", .date), FieldDefinition("valid_to", .date), FieldDefinition("revocation_timestamp", .date),
        FieldDefinition("revocation_reason", .enumeration(RevocationReason.allCases.map(\.rawValue))),
        FieldDefinition("metadata", .json), FieldDefinition("extensions.key_usage", .stringArray),
        FieldDefinition("extensions.extended_key_usage", .stringArray),
        FieldDefinition("is_ca", .enumeration(["true", "false"])), FieldDefinition("key_metadata.type", .enumeration(KeyAlgorithm.allCases.map(\.rawValue))),
        FieldDefinition("key_metadata.bits", .number),
    ]

    public static let fields = FieldSet(fieldDefinitions, defaultSort: "valid_from", descending: true)
}

/// Go's zero time, which Lamassu shows for a certificate that was never revoked.
private let zeroTime = "0001-01-01T00:00:00Z"

extension CertificateRecord: Encodable {
    enum CodingKeys: String, CodingKey {
        case serialNumber = "serial_number", subjectKeyID = "subject_key_id", authorityKeyID = "authority_key_id"
        case metadata, status, certificate, keyMetadata = "key_metadata", subject, issuer, validFrom = "valid_from"
        case validTo = "valid_to", extensions, issuerMetadata = "issuer_metadata"
        case revocationTimestamp = "revocation_timestamp", revocationReason = "revocation_reason", type
        case engineID = "engine_id", isCA = "is_ca"
    }

    struct KeyMetadata: Encodable {
        var type: KeyAlgorithm
        var bits: Int
        var strength: String
    }

    struct Extensions: Encodable {
        var keyUsage: [KeyUsageName]
        var extendedKeyUsage: [ExtendedKeyUsageName]
        var subjectAlternativeNames: CertificateInfo.AlternativeNames

        enum CodingKeys: String, CodingKey {
            case keyUsage = "key_usage", extendedKeyUsage = "extended_key_usage"
            case subjectAlternativeNames = "subject_alternative_names"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(serialNumber, forKey: .serialNumber)
        try container.encode(info.subjectKeyID, forKey: .subjectKeyID)
        try container.encode(info.authorityKeyID, forKey: .authorityKeyID)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(status, forKey: .status)
        try container.encode(PEMText.base64PEM(derCertificate: der), forKey: .certificate)
        try container.encode(
            KeyMetadata(type: info.keySpec.algorithm, bits: info.keySpec.bits, strength: info.keySpec.strength),
            forKey: .keyMetadata)
        try container.encode(info.subject, forKey: .subject)
        try container.encode(info.issuer, forKey: .issuer)
        try container.encode(info.notBefore, forKey: .validFrom)
        try container.encode(info.notAfter, forKey: .validTo)
        try container.encode(
            Extensions(
                keyUsage: info.keyUsage, extendedKeyUsage: info.extendedKeyUsage,
                subjectAlternativeNames: info.alternativeNames), forKey: .extensions)
        try container.encode(issuer, forKey: .issuerMetadata)
        if let revocationTimestamp {
            try container.encode(revocationTimestamp, forKey: .revocationTimestamp)
        } else {
            try container.encode(zeroTime, forKey: .revocationTimestamp)
        }
        try container.encode(revocationReason, forKey: .revocationReason)
        try container.encode(type, forKey: .type)
        try container.encode(engineID, forKey: .engineID)
        try container.encode(info.isCA, forKey: .isCA)
    }
}
