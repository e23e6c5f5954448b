import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SheduCore

/// OCSP, CRLs and CRL options under `/api/va` (API.md §6), public as relying parties need them.
///
/// Steady-state OCSP answers and CRL downloads are served by the fast path
/// (``registerFastPath(on:va:)``) from what ``VAService`` keeps; the routes here answer everything
/// else (requests with a nonce, several certificates, a cold cache, a stale CRL).
struct VARoutes {
    let va: VAService

    static let ocspRequestType = "application/ocsp-request"
    static let ocspResponseType = "application/ocsp-response"
    static let crlType = "application/pkix-crl"
    /// OCSP requests are a few hundred bytes; this is also the fast path's body limit.
    static let maximumRequestSize = FastPathRoutes.maximumBodySize
    static let ocspGETPrefix = "/api/va/ocsp/"
    static let crlPrefix = "/api/va/crl/"

    func register(on api: APIRouter) {
        api.on(
            .post, "/api/va/ocsp", access: .public, summary: "OCSP (RFC 6960): the status of one or more certificates",
            tag: "VA", request: "OCSPRequest", response: "OCSPResponse",
            contentTypes: (Self.ocspRequestType, Self.ocspResponseType)
        ) { request, context in
            guard Self.isOCSPRequestType(request.headers[.contentType]) else {
                throw SheduError(
                    .unsupportedMediaType,
                    "Content-Type '\(request.headers[.contentType] ?? "")' is not \(Self.ocspRequestType)")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: Self.maximumRequestSize)
            } catch is NIOTooManyBytesError {
                throw SheduError(.payloadTooLarge, "an OCSP request is at most \(Self.maximumRequestSize) bytes")
            }
            return Self.response(await va.ocspResponse(for: Array(body.readableBytesView), logger: context.logger), cacheable: false)
        }
        api.on(
            .get, "/api/va/ocsp/{request}", access: .public,
            summary: "OCSP by GET (RFC 6960 A.1): the request in base64url or percent-encoded base64", tag: "VA",
            response: "OCSPResponse", contentTypes: ("", Self.ocspResponseType)
        ) { request, context in
            guard let der = Self.decodeGETRequest(try context.parameters.require("request")[...]) else {
                return Self.response(.malformedRequest, cacheable: true)
            }
            let reply = await va.ocspResponse(for: der, logger: context.logger)
            return Self.response(reply, cacheable: true, conditional: ConditionalGET(request.headers))
        }
        api.on(
            .get, "/api/va/crl/{ca_ski}", access: .public, summary: "The CA's current CRL (DER X.509 v2)", tag: "VA",
            contentTypes: ("", Self.crlType)
        ) { request, context in
            let crl = try await va.crl(caSKI: try context.pathParameter("ca_ski"))
            return Self.response(crl, body: ByteBuffer(bytes: crl.der), conditional: ConditionalGET(request.headers))
        }
        api.on(
            .get, "/api/va/v1/roles/{ca_ski}", access: .public, summary: "A CA's CRL options and latest CRL", tag: "VA",
            response: "VARole"
        ) { _, context in
            JSONResponse(.ok, try await va.role(caSKI: try context.pathParameter("ca_ski")))
        }
        // Unlike the rest of the VA, changing how a CA publishes its CRL needs an operator.
        api.on(
            .put, "/api/va/v1/roles/{ca_ski}", access: .role(.operator), summary: "Change a CA's CRL options", tag: "VA",
            request: "CRLOptions", response: "VARole"
        ) { request, context in
            let update = try await request.decodeJSON(as: CRLOptionsUpdate.self, context: context)
            return JSONResponse(.ok, try await va.updateRole(caSKI: try context.pathParameter("ca_ski"), update))
        }
    }

    /// Answers kept OCSP responses and CRLs on the event loop; declines (nil) whatever needs a
    /// signature or the store, which the routes above then answer.
    static func registerFastPath(on routes: inout FastPathRoutes, va: VAService) {
        routes.add(.POST, .exact("/api/va/ocsp"), metricsName: "/api/va/ocsp") { request in
            guard isOCSPRequestType(request.headers.first(name: "content-type")), let body = request.body else { return nil }
            let der = Array(body.readableBytesView)
            return va.cachedOCSPResponse(key: OCSPRequestKey(der: der)) { der }.map { fastResponse($0, cacheable: false) }
        }
        routes.add(.GET, .prefix(ocspGETPrefix), metricsName: "/api/va/ocsp/{request}") { request in
            let encoded = request.path.dropFirst(ocspGETPrefix.count)
            // More than one path segment is not a route: the router says so.
            guard !encoded.isEmpty, !encoded.contains("/") else { return nil }
            return va.cachedOCSPResponse(key: OCSPRequestKey(getPath: encoded)) { decodeGETRequest(encoded) }
                .map { fastResponse($0, cacheable: true, conditional: ConditionalGET(request.headers)) }
        }
        let bodies = CRLBodyCache()
        routes.add(.GET, .prefix(crlPrefix), metricsName: "/api/va/crl/{ca_ski}") { request in
            let ski = request.path.dropFirst(crlPrefix.count).lowercased()
            guard !ski.isEmpty, !ski.contains("/"), let crl = va.cachedCRL(caSKI: ski) else { return nil }
            // A relying party polling with the ETag or date of its copy gets 304 while the CRL is the same.
            if ConditionalGET(request.headers).findsCurrent(crl) {
                return FastPathResponse(status: .notModified, contentType: crlType, body: ByteBuffer(), extraHeaders: cachingHeaders(crl))
            }
            return FastPathResponse(
                status: .ok, contentType: crlType, body: bodies.body(of: crl, caSKI: ski), extraHeaders: cachingHeaders(crl))
        }
    }

    /// POST bodies must be OCSP requests; a missing Content-Type is accepted, as Lamassu does.
    static func isOCSPRequestType(_ value: String?) -> Bool {
        guard let value, !value.isEmpty, value != ocspRequestType else { return true }
        return MediaType.essence(value) == ocspRequestType
    }

    /// The DER of a GET request's path segment: percent-decoded, then base64 in either alphabet,
    /// padded or not. Nil when it is neither.
    static func decodeGETRequest(_ segment: Substring) -> [UInt8]? {
        var text = String(segment)
        if text.contains("%") {
            guard let decoded = text.removingPercentEncoding else { return nil }
            text = decoded
        }
        var base64 = ""
        base64.reserveCapacity(text.utf8.count + 3)
        for character in text where character != "=" {
            switch character {
            case "-": base64.append("+")
            case "_": base64.append("/")
            // A `+` that went through form decoding on the way.
            case " ": base64.append("+")
            default: base64.append(character)
            }
        }
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64).map { Array($0) }
    }

    /// Caching headers for an answer a shared cache may keep: GET answers about one certificate.
    static func cachingHeaders(_ reply: OCSPReply, cacheable: Bool) -> [(String, String)] {
        guard cacheable, let freshness = reply.freshness else { return [] }
        return HTTPCaching.headers(
            entityTag: freshness.entityTag, lastModified: freshness.producedAt, expires: freshness.nextUpdate, now: Date())
    }

    static func cachingHeaders(_ crl: PublishedCRL) -> [(String, String)] {
        HTTPCaching.headers(
            entityTag: crl.entityTag, lastModified: crl.summary.thisUpdate, expires: crl.summary.nextUpdate, now: Date())
    }

    private static func fastResponse(_ reply: OCSPReply, cacheable: Bool, conditional: ConditionalGET? = nil) -> FastPathResponse {
        let headers = cachingHeaders(reply, cacheable: cacheable)
        if cacheable, let conditional, conditional.findsCurrent(reply) {
            return FastPathResponse(status: .notModified, contentType: ocspResponseType, body: ByteBuffer(), extraHeaders: headers)
        }
        return FastPathResponse(status: .ok, contentType: ocspResponseType, body: ByteBuffer(bytes: reply.der), extraHeaders: headers)
    }

    /// Every OCSP answer, error statuses included, is a 200 with an OCSP response (RFC 6960 A.1),
    /// or a 304 to a conditional GET whose copy is current.
    static func response(_ reply: OCSPReply, cacheable: Bool, conditional: ConditionalGET? = nil) -> Response {
        let headers = cachingHeaders(reply, cacheable: cacheable)
        if cacheable, let conditional, conditional.findsCurrent(reply) { return notModified(headers: headers) }
        return response(contentType: ocspResponseType, body: ByteBuffer(bytes: reply.der), headers: headers)
    }

    static func response(_ crl: PublishedCRL, body: ByteBuffer, conditional: ConditionalGET) -> Response {
        if conditional.findsCurrent(crl) { return notModified(headers: cachingHeaders(crl)) }
        return response(contentType: crlType, body: body, headers: cachingHeaders(crl))
    }

    private static func response(contentType: String, body: ByteBuffer, headers extra: [(String, String)]) -> Response {
        var headers = fields(extra)
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// A 304 carries the validators and freshness, but neither a body nor its type and length.
    private static func notModified(headers extra: [(String, String)]) -> Response {
        Response(status: .notModified, headers: fields(extra))
    }

    private static func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return fields
    }
}

extension ConditionalGET {
    /// Only answers a shared cache may keep (one certificate, no nonce) have validators.
    func findsCurrent(_ reply: OCSPReply) -> Bool {
        reply.freshness.map { findsCurrent(entityTag: $0.entityTag, lastModified: $0.producedAt) } ?? false
    }

    func findsCurrent(_ crl: PublishedCRL) -> Bool {
        findsCurrent(entityTag: crl.entityTag, lastModified: crl.summary.thisUpdate)
    }
}
