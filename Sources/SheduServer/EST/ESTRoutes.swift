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
            register(on: api, base: prefix, label: { _ in try defaultLabel(prefix: prefix) })
        }
    }

    /// The DMS of the label-less paths.
    private func defaultLabel(prefix: String) throws -> String {
        guard let defaultDMS, !defaultDMS.isEmpty else {
            throw SheduError.notFound(
                "this server has no default DMS for the label-less EST paths (--est-default-dms); use \(prefix)/<dms id>/...")
        }
        return defaultDMS
    }

    /// Enrollment and re-enrollment, the hot EST calls, also on the fast path: the same service
    /// calls and answers, the client certificate read from the connection on its event loop.
    func registerFastPath(on routes: inout FastPathRoutes) {
        for prefix in Self.prefixes {
            for (base, labelled) in [("\(prefix)/{dms}", true), (prefix, false)] {
                let label: @Sendable (FastPathRequest) throws -> String = { request in
                    labelled ? String(request.parameters[0]) : try defaultLabel(prefix: prefix)
                }
                routes.addPublic(.POST, template: "\(base)/simpleenroll") { request in
                    let issued = try await est.enroll(
                        dmsID: try label(request), csr: try Self.csr(of: request), request: try estRequest(request))
                    return try Self.answer(der: issued.der, to: request)
                }
                routes.addPublic(.POST, template: "\(base)/simplereenroll") { request in
                    let issued = try await est.reenroll(
                        dmsID: try label(request), csr: try Self.csr(of: request), request: try estRequest(request))
                    return try Self.answer(der: issued.der, to: request)
                }
            }
        }
    }

    private static func csr(of request: FastPathRequest) throws -> [UInt8] {
        try ESTWireFormat.csr(contentType: request.headers.first(name: "content-type"), body: request.body)
    }

    private static func answer(der: [UInt8], to request: FastPathRequest) throws -> FastPathResponse {
        let answer = try ESTWireFormat.certificates(der: [der], accept: request.headers.first(name: "accept"))
        return FastPathResponse(
            status: .ok, contentType: answer.contentType, body: ByteBuffer(string: answer.body),
            extraHeaders: answer.base64 ? [("content-transfer-encoding", "base64")] : [])
    }

    private func estRequest(_ request: FastPathRequest) throws -> ESTRequest {
        var headers: [String: String] = [:]
        for (name, value) in request.headers {
            let name = name.lowercased()
            if headers[name] == nil { headers[name] = value }
        }
        return ESTRequest(
            clientChain: try certificates.chain(peer: request.tlsPeer) { request.headers.first(name: $0) }, headers: headers,
            url: request.uri)
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
