import SheduCore
import SheduPKI

/// The small JSON documents of a certificate row, written without a JSONEncoder: the issuance
/// path writes six per certificate, and these are the keys DomainJSON reads back.
enum CertificateDocuments {
    static func subject(_ subject: Subject) -> String {
        JSONValue.object([
            "common_name": .string(subject.commonName), "organization": .string(subject.organization),
            "organization_unit": .string(subject.organizationUnit), "country": .string(subject.country),
            "state": .string(subject.state), "locality": .string(subject.locality),
        ]).jsonText()
    }

    static func names(_ names: [some RawRepresentable<String>]) -> String {
        JSONValue.array(names.map { .string($0.rawValue) }).jsonText()
    }

    static func alternativeNames(_ names: CertificateInfo.AlternativeNames) -> String {
        func list(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
        return JSONValue.object(["dns": list(names.dns), "ip": list(names.ip), "email": list(names.email), "uri": list(names.uri)])
            .jsonText()
    }

    static func metadata(_ metadata: [String: JSONValue]) -> String {
        JSONValue.object(metadata).jsonText()
    }
}
