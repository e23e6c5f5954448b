import SheduPKI
import Testing

@testable import SheduCore
@testable import SheduStorage

/// The JSON documents of a certificate row keep the stored form rows already hold: keys sorted,
/// as `JSONTextWriter` writes any object, and text escaped.
@Suite("Certificate row documents")
struct CertificateDocumentsTests {
    @Test func documentsAreTheSortedJSONOfTheirFields() {
        var subject = Subject()
        subject.commonName = "device \"7\" \\ ü"
        subject.organization = "Shedu"
        subject.organizationUnit = "Line\n2"
        subject.country = "FR"
        subject.state = "Rhône"
        subject.locality = "Lyon"
        #expect(
            CertificateDocuments.subject(subject)
                == JSONValue.object([
                    "common_name": .string(subject.commonName), "organization": "Shedu", "organization_unit": "Line\n2",
                    "country": "FR", "state": "Rhône", "locality": "Lyon",
                ]).jsonText())
        #expect(CertificateDocuments.subject(Subject()).hasPrefix(#"{"common_name":"","country":"#))

        var names = CertificateInfo.AlternativeNames()
        names.dns = ["a.example", "b.example"]
        names.ip = ["10.0.0.1"]
        names.uri = ["urn:x"]
        #expect(
            CertificateDocuments.alternativeNames(names)
                == JSONValue.object([
                    "dns": ["a.example", "b.example"], "ip": ["10.0.0.1"], "email": [], "uri": ["urn:x"],
                ]).jsonText())
        #expect(CertificateDocuments.names([KeyUsageName.digitalSignature, .certSign]) == #"["DigitalSignature","CertSign"]"#)
        #expect(CertificateDocuments.names([ExtendedKeyUsageName]()) == "[]")
    }
}
