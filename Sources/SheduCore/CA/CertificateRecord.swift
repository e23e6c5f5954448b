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
        // Imported certificates included: lists filter and sort by it.
        try IndexedText.check(info.subject.commonName, field: "the certificate's subject common name")
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

    /// The same fields, soonest expiry first: the order of `/certificates/expiration`, which an
    /// index of live certificates by expiry serves at any depth.
    public static let expiringFields = FieldSet(fieldDefinitions, defaultSort: "valid_to", descending: false)
}

/// Go's zero time, which Lamassu shows for a certificate that was never revoked.
private let zeroTime = "0001-01-01T00:00:00Z"

extension CertificateRecord: JSONWritable {
    public func writeJSON(to writer: inout JSONTextWriter) {
        writer.beginObject()
        writer.field("serial_number", serialNumber)
        writer.field("subject_key_id", info.subjectKeyID)
        writer.field("authority_key_id", info.authorityKeyID)
        writer.field("metadata", metadata)
        writer.field("status", status.rawValue)
        writer.field("certificate", PEMText.base64PEM(derCertificate: der))
        writer.key("key_metadata")
        writer.beginObject()
        writer.field("type", info.keySpec.algorithm.rawValue)
        writer.field("bits", info.keySpec.bits)
        writer.field("strength", info.keySpec.strength)
        writer.endObject()
        writer.key("subject")
        writer.write(info.subject)
        writer.key("issuer")
        writer.write(info.issuer)
        writer.field("valid_from", info.notBefore)
        writer.field("valid_to", info.notAfter)
        writer.key("extensions")
        writer.beginObject()
        writer.key("key_usage")
        writer.writeStrings(info.keyUsage.map(\.rawValue))
        writer.key("extended_key_usage")
        writer.writeStrings(info.extendedKeyUsage.map(\.rawValue))
        writer.key("subject_alternative_names")
        writer.write(info.alternativeNames)
        writer.endObject()
        writer.key("issuer_metadata")
        writer.beginObject()
        writer.field("serial_number", issuer.serialNumber)
        writer.field("id", issuer.id)
        writer.field("level", issuer.level)
        writer.endObject()
        if let revocationTimestamp {
            writer.field("revocation_timestamp", revocationTimestamp)
        } else {
            writer.field("revocation_timestamp", zeroTime)
        }
        writer.field("revocation_reason", revocationReason.rawValue)
        writer.field("type", type.rawValue)
        writer.field("engine_id", engineID)
        writer.field("is_ca", info.isCA)
        writer.endObject()
    }
}

extension JSONTextWriter {
    /// A subject as Lamassu shows it: every field, empty when absent.
    public mutating func write(_ subject: Subject) {
        beginObject()
        field("common_name", subject.commonName)
        field("organization", subject.organization)
        field("organization_unit", subject.organizationUnit)
        field("country", subject.country)
        field("state", subject.state)
        field("locality", subject.locality)
        endObject()
    }

    public mutating func write(_ names: CertificateInfo.AlternativeNames) {
        beginObject()
        field("dns", names.dns)
        field("ip", names.ip)
        field("email", names.email)
        field("uri", names.uri)
        endObject()
    }
}
