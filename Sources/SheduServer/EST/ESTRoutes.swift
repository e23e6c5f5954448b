import Foundation
import Hummingbird
import NIOCore
import SheduCore
import X509

/// EST (RFC 7030) under `/.well-known/est/{dms}/` and its alias under `/api/dmsmanager`
/// (API.md §5). The label-less paths serve `--est-default-dms`. Routes are public: EST
/// authenticates per DMS, with the client certificate or the DMS's webhook.
struct ESTRoutes {
    let est: ESTService
    let certificates: ClientCertificateSource
    let defaultDMS: String?

    static let prefixes = ["/.well-known/est", "/api/dmsmanager/.well-known/est"]

    func register(on api: APIRouter) {
        for prefix in Self.prefixes {
            register(on: api, base: "\(prefix)/{dms}", label: { context in try context.pathParameter("dms") })
            register(on: api, base: prefix, label: { _ in
                guard let defaultDMS, !defaultDMS.isEmpty else {
                    throw SheduError.notFound(
                        "this server has no default DMS for the label-less EST paths (--est-default-dms); use \(prefix)/<dms id>/...")
                }
                return defaultDMS
            })
        }
    }

    private func register(on api: APIRouter, base: String, label: @escaping @Sendable (SheduRequestContext) throws -> String) {
        let tag = "EST"
        api.on(.get, "\(base)/cacerts", access: .public, summary: "The DMS's CA certificates (PKCS#7 certs-only, base64)", tag: tag,
               contentTypes: ("", ESTWireFormat.certsOnly)) { request, context in
            try ESTWireFormat.certificates(try await est.caCertificates(dmsID: try label(context)), for: request)
        }
        api.on(.post, "\(base)/simpleenroll", access: .public, summary: "Enroll: a CSR in, the device's certificate out", tag: tag,
               contentTypes: ("application/pkcs10", ESTWireFormat.certsOnly)) { request, context in
            let issued = try await est.enroll(
                dmsID: try label(context), csr: try await ESTWireFormat.csr(of: request, context: context),
                request: try await estRequest(request, context))
            return try ESTWireFormat.certificates(der: [issued.der], for: request)
        }
        api.on(.post, "\(base)/simplereenroll", access: .public, summary: "Re-enroll with the current certificate", tag: tag,
               contentTypes: ("application/pkcs10", ESTWireFormat.certsOnly)) { request, context in
            let issued = try await est.reenroll(
                dmsID: try label(context), csr: try await ESTWireFormat.csr(of: request, context: context),
                request: try await estRequest(request, context))
            return try ESTWireFormat.certificates(der: [issued.der], for: request)
        }
        api.on(.post, "\(base)/serverkeygen", access: .public, summary: "Enroll with a key made by the server (multipart: PKCS#8 key, PKCS#7 certificate)", tag: tag,
               contentTypes: ("application/pkcs10", "multipart/mixed")) { request, context in
            let made = try await est.serverKeyGeneration(
                dmsID: try label(context), csr: try await ESTWireFormat.csr(of: request, context: context),
                request: try await estRequest(request, context))
            return try ESTWireFormat.serverKeyGeneration(key: made.key, certificate: made.certificate.der)
        }
        api.on(.get, "\(base)/csrattrs", access: .public, summary: "What a CSR should contain for the DMS's profile", tag: tag,
               contentTypes: ("", "application/csrattrs")) { _, context in
            guard let attributes = try await est.csrAttributes(dmsID: try label(context)) else {
                return Response(status: .noContent)
            }
            return Response(
                status: .ok, headers: [.contentType: "application/csrattrs", .contentTransferEncoding: "base64"],
                body: .init(byteBuffer: ByteBuffer(string: Data(attributes).base64EncodedString())))
        }
    }

    private func estRequest(_ request: Request, _ context: SheduRequestContext) async throws -> ESTRequest {
        var headers: [String: String] = [:]
        for field in request.headers where headers[field.name.canonicalName] == nil {
            headers[field.name.canonicalName] = field.value
        }
        return ESTRequest(
            clientChain: try await certificates.chain(of: request, context: context), headers: headers,
            url: request.uri.description)
    }
}
