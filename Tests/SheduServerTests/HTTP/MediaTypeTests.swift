import Testing

@testable import SheduServer

@Suite("Content-Type media types: parameters, case and spaces do not change the type")
struct MediaTypeTests {
    @Test(arguments: [
        ("application/pkcs10", "application/pkcs10"),
        ("Application/PKCS10", "application/pkcs10"),
        (" application/pkcs10 ; charset=utf-8", "application/pkcs10"),
        ("application/ocsp-request;foo=bar", "application/ocsp-request"),
        ("\tapplication/json\t", "application/json"),
        ("", ""),
    ])
    func essence(_ header: String, _ mediaType: String) {
        #expect(MediaType.essence(header) == mediaType)
    }

    @Test func missingHeaderHasNoType() {
        #expect(MediaType.essence(nil) == "")
    }

    @Test func ocspRequestsAcceptTheTypeInAnyFormOrNone() {
        #expect(VARoutes.isOCSPRequestType(nil))
        #expect(VARoutes.isOCSPRequestType("Application/OCSP-Request; q=1"))
        #expect(!VARoutes.isOCSPRequestType("application/json"))
    }
}
