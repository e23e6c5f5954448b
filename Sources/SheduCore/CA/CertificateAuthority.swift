import Foundation
import SheduPKI

/// A certificate authority (API.md §2, CA): its current certificate and where it sits.
public struct CertificateAuthority: Sendable, Hashable {
    public var id: String
    public var certificate: CertificateRecord
    public var metadata: [String: JSONValue]
    public var creationDate: Date
    /// 0 for a root; a child's is its parent's plus one.
    public var level: Int
    /// The default issuance profile for what this CA signs.
    public var profileID: String?
    public var parentID: String?
    /// The KMS key of the CA, when Shedu holds it.
    public var keyID: String?

    public init(
        id: String, certificate: CertificateRecord, metadata: [String: JSONValue] = [:], creationDate: Date, level: Int,
        profileID: String?, parentID: String?, keyID: String?
    ) {
        self.id = id
        self.certificate = certificate
        self.metadata = metadata
        self.creationDate = creationDate
        self.level = level
        self.profileID = profileID
        self.parentID = parentID
        self.keyID = keyID
    }

    public var status: CertificateStatus { certificate.status }

    /// Filterable fields of CA lists: the certificate's, with the CA's own.
    public static let fields = FieldSet(
        CertificateRecord.fieldDefinitions + [
            FieldDefinition("id", .string), FieldDefinition("profile_id", .string), FieldDefinition("level", .number),
            FieldDefinition("creation_ts", .date),
        ], defaultSort: "creation_ts", descending: false)
}

extension CertificateAuthority: JSONWritable {
    public func writeJSON(to writer: inout JSONTextWriter) {
        writer.beginObject()
        writer.field("id", id)
        writer.field("certificate", certificate)
        writer.field("serial_number", certificate.serialNumber)
        writer.field("metadata", metadata)
        writer.field("creation_ts", creationDate)
        writer.field("level", level)
        writer.field("profile_id", profileID ?? "")
        writer.endObject()
    }
}
