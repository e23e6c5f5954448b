import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SheduCore
import SheduPKI
import X509

/// RFC 7030's wire format: base64 of DER both ways, PKCS#7 certs-only out.
enum ESTWireFormat {
    static let certsOnly = "application/pkcs7-mime; smime-type=certs-only"
    static let pemFile = "application/x-pem-file"

    /// The CSR of an enrollment request: `application/pkcs10`, base64 of DER (line breaks
    /// tolerated; PEM accepted too).
    static func csr(of request: Request, context: SheduRequestContext) async throws -> [UInt8] {
        try csr(contentType: request.headers[.contentType], body: try await request.collectBody(context: context))
    }

    /// ``csr(of:context:)`` from a request's `Content-Type` and whole body (the fast path's too).
    static func csr(contentType contentTypeHeader: String?, body: ByteBuffer?) throws -> [UInt8] {
        let contentType = MediaType.essence(contentTypeHeader)
        guard contentType == "application/pkcs10" else {
            throw SheduError(
                .unsupportedMediaType,
                "EST requests carry Content-Type application/pkcs10 (base64 of a DER CSR), not '\(contentType.isEmpty ? "none" : contentType)'")
        }
        let text = body.map { String(decoding: $0.readableBytesView, as: UTF8.self) } ?? ""
        do {
            return try PEMText.derBytes(from: text, expecting: ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"], field: "the request body")
        } catch let error as PKIError {
            throw SheduError.badRequest("\(error.description): EST expects base64 of a DER CSR")
        }
    }

    /// Certificates as EST returns them: a certs-only PKCS#7, base64 on one line (strongSwan's
    /// `pki --est` fails on wrapped lines), or PEM when the client asks for `application/x-pem-file`.
    static func certificates(_ certificates: [Certificate], for request: Request) throws -> Response {
        try self.certificates(der: certificates.map(\.derBytes), for: request)
    }

    /// As ``certificates(_:for:)``, from their DER encodings (an issued certificate as stored).
    static func certificates(der certificates: [[UInt8]], for request: Request) throws -> Response {
        let answer = try self.certificates(der: certificates, accept: request.headers[.accept])
        var headers: HTTPFields = [.contentType: answer.contentType]
        if answer.base64 { headers[.contentTransferEncoding] = "base64" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// The answer's type, body, and whether it is base64 (`Content-Transfer-Encoding`), for a
    /// request with this `Accept` header.
    static func certificates(der certificates: [[UInt8]], accept: String?) throws -> (contentType: String, body: String, base64: Bool) {
        if accept?.lowercased().contains(pemFile) ?? false {
            return (pemFile, certificates.map { PEMText.pem(derCertificate: $0) }.joined(), false)
        }
        return (certsOnly, try pkcs7Base64(certificates), true)
    }

    static func pkcs7Base64(_ certificates: [[UInt8]]) throws -> String {
        do {
            return Data(try CMSCertificatesOnly.encode(derCertificates: certificates)).base64EncodedString()
        } catch let error as PKIError {
            throw SheduError.internal("PKCS#7 encoding: \(error.description)")
        }
    }

    static let boundary = "estServerKeyGenBoundary"

    /// `serverkeygen`'s answer (RFC 7030 §4.4.2): `multipart/mixed` with the PKCS#8 key, then the
    /// certificate as certs-only PKCS#7, each base64.
    static func serverKeyGeneration(key: SigningKey, certificate: [UInt8]) throws -> Response {
        let parts = [
            ("application/pkcs8", Data(key.pkcs8DERRepresentation).base64EncodedString()),
            (certsOnly, try pkcs7Base64([certificate])),
        ]
        var body = ""
        for (type, content) in parts {
            body += "--\(boundary)\r\nContent-Type: \(type)\r\nContent-Transfer-Encoding: base64\r\n\r\n\(content)\r\n"
        }
        body += "--\(boundary)--\r\n"
        // The answer holds a private key: no cache on the way may keep it.
        return Response(
            status: .ok, headers: [.contentType: "multipart/mixed; boundary=\(boundary)", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension HTTPField.Name {
    static let contentTransferEncoding = Self("Content-Transfer-Encoding")!
}
