import SheduCore
import SheduPKI

/// The small JSON documents of a certificate row, written without a JSONEncoder: the issuance
/// path writes six per certificate, and these are the keys DomainJSON reads back.
enum CertificateDocuments {
    // Written member by member, keys in the sorted order `JSONTextWriter` gives any object (the
    // stored form): building a `JSONValue` first cost a dictionary per document, six per certificate.
    static func subject(_ subject: Subject) -> String {
        var writer = JSONTextWriter(capacity: 128)
        writer.beginObject()
        writer.field("common_name", subject.commonName)
        writer.field("country", subject.country)
        writer.field("locality", subject.locality)
        writer.field("organization", subject.organization)
        writer.field("organization_unit", subject.organizationUnit)
        writer.field("state", subject.state)
        writer.endObject()
        return writer.text
    }

    static func names(_ names: [some RawRepresentable<String>]) -> String {
        var writer = JSONTextWriter(capacity: 64)
        writer.writeStrings(names.map(\.rawValue))
        return writer.text
    }

    static func alternativeNames(_ names: CertificateInfo.AlternativeNames) -> String {
        var writer = JSONTextWriter(capacity: 64)
        writer.beginObject()
        writer.field("dns", names.dns)
        writer.field("email", names.email)
        writer.field("ip", names.ip)
        writer.field("uri", names.uri)
        writer.endObject()
        return writer.text
    }

    static func metadata(_ metadata: [String: JSONValue]) -> String {
        JSONValue.object(metadata).jsonText()
    }
}
