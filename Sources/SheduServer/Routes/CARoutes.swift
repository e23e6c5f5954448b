import Foundation
import Hummingbird
import SheduCore

/// CAs and certificates under `/api/ca/v1` (API.md §2).
struct CARoutes {
    let ca: CAService

    struct ProfileBody: Decodable {
        var profileID: String
        enum CodingKeys: String, CodingKey { case profileID = "profile_id" }
    }
    struct SignedData: Encodable { var signedData: String
        enum CodingKeys: String, CodingKey { case signedData = "signed_data" }
    }
    struct ValidBody: Encodable { var valid: Bool }

    struct Stats: Encodable {
        struct Part: Encodable {
            var total: Int
            var engineDistribution: [String: Int]?
            var statusDistribution: [String: Int]
            enum CodingKeys: String, CodingKey {
                case total, engineDistribution = "engine_distribution", statusDistribution = "status_distribution"
            }
        }
        var cas: Part
        var certificates: Part
    }

    static func statusNames(_ counts: StatusCounts) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: CertificateStatus.allCases.map { ($0.rawValue, counts[$0] ?? 0) })
    }

    func register(on api: APIRouter) {
        let base = "/api/ca/v1"
        registerAuthorities(on: api, base: base)
        registerIssuance(on: api, base: base)
        registerCertificates(on: api, base: base)
        api.on(
            .get, "\(base)/stats", summary: "CA and certificate counts", tag: "CA", response: "CAStats",
            filters: ["ca_filter", "cert_filter"]
        ) { request, _ in
            let stats = try await ca.stats(
                caFilters: try request.filters(fields: CertificateAuthority.fields, parameter: "ca_filter"),
                certificateFilters: try request.filters(fields: CertificateRecord.fields, parameter: "cert_filter"))
            return JSONResponse(
                .ok,
                Stats(
                    cas: .init(total: stats.caCount, engineDistribution: stats.caEngines, statusDistribution: Self.statusNames(stats.caStatuses)),
                    certificates: .init(total: stats.certificateCount, statusDistribution: Self.statusNames(stats.certificateStatuses))))
        }
        api.on(
            .get, "\(base)/stats/{id}", summary: "Counts of a CA's certificates by status", tag: "CA", response: "StatusCounts",
            filters: ["cert_filter"]
        ) { request, context in
            let filters = try request.filters(fields: CertificateRecord.fields, parameter: "cert_filter")
            return JSONResponse(.ok, Self.statusNames(try await ca.statuses(issuedBy: try context.pathParameter("id"), filters: filters)))
        }
    }

    private func registerAuthorities(on api: APIRouter, base: String) {
        api.on(.get, "\(base)/cas", summary: "List CAs", tag: "CA", response: "CA", list: true) { request, _ in
            ListEnvelope(try await ca.listCAs(request.listQuery(fields: CertificateAuthority.fields)))
        }
        api.on(.post, "\(base)/cas", summary: "Create a root or subordinate CA", tag: "CA", request: "CreateCA", response: "CA", status: .created) {
            request, context in
            JSONResponse(.created, try await ca.createCA(request.decodeJSON(as: CreateCARequest.self, context: context)))
        }
        api.on(.post, "\(base)/cas/import", summary: "Import a CA, with or without its key", tag: "CA", request: "ImportCA", response: "CA", status: .created) {
            request, context in
            JSONResponse(.created, try await ca.importCA(request.decodeJSON(as: ImportCARequest.self, context: context)))
        }
        api.on(.get, "\(base)/cas/{id}", summary: "Get a CA", tag: "CA", response: "CA") { _, context in
            JSONResponse(.ok, try await ca.ca(id: try context.pathParameter("id")))
        }
        api.on(.get, "\(base)/cas/cn/{cn}", summary: "List CAs by subject common name", tag: "CA", response: "CA", list: true) {
            request, context in
            var query = try request.listQuery(fields: CertificateAuthority.fields)
            query.addRouteFilters(
                [try Filter(parsing: "subject.common_name[eq]\(try context.pathParameter("cn"))", fields: CertificateAuthority.fields)])
            return ListEnvelope(try await ca.listCAs(query))
        }
        for method in [HTTPRequest.Method.post, .put] {
            api.on(method, "\(base)/cas/{id}/status", summary: "Change a CA's status (revoking cascades)", tag: "CA", request: "StatusChange", response: "CA") {
                request, context in
                let change = try await request.decodeJSON(as: StatusChange.self, context: context)
                return JSONResponse(.ok, try await ca.updateCAStatus(id: try context.pathParameter("id"), change))
            }
        }
        api.on(.post, "\(base)/cas/{id}/profile", summary: "Set a CA's default issuance profile", tag: "CA", request: "CAProfile", response: "CA") {
            request, context in
            let body = try await request.decodeJSON(as: ProfileBody.self, context: context)
            return JSONResponse(.ok, try await ca.setCAProfile(id: try context.pathParameter("id"), profileID: body.profileID))
        }
        api.on(.post, "\(base)/cas/{id}/reissue", summary: "Reissue a CA's certificate with the same key", tag: "CA", request: "ReissueCA", response: "CA") {
            request, context in
            let buffer = try await request.collectBody(context: context)
            let body = buffer.readableBytes == 0
                ? ReissueCARequest() : try DomainJSON.decodeRequest(ReissueCARequest.self, utf8: Array(buffer.readableBytesView))
            return JSONResponse(.ok, try await ca.reissueCA(id: try context.pathParameter("id"), body))
        }
        api.metadata("\(base)/cas/{id}/metadata", summary: "Update a CA's metadata", tag: "CA", response: "CA") { context, update in
            try await ca.updateCAMetadata(id: try context.pathParameter("id"), update)
        }
        api.on(.delete, "\(base)/cas/{id}", access: .role(.admin), summary: "Delete a revoked, expired or keyless CA", tag: "CA", status: .noContent) {
            _, context in
            try await ca.deleteCA(id: try context.pathParameter("id"))
            return Response(status: .noContent)
        }
        api.on(.post, "\(base)/cas/{id}/signature/sign", summary: "Sign a message with a CA's key", tag: "CA", request: "CASignRequest", response: "SignedData") {
            request, context in
            let body = try await request.decodeJSON(as: CASignatureRequest.self, context: context)
            let signature = try await ca.signWithCA(id: try context.pathParameter("id"), body)
            return JSONResponse(.ok, SignedData(signedData: signature.base64EncodedString()))
        }
        // A check that changes nothing: a viewer may make it.
        api.on(.post, "\(base)/cas/{id}/signature/verify", access: .role(.viewer), summary: "Verify a signature with a CA's key", tag: "CA", request: "CAVerifyRequest", response: "VerifyResult") {
            request, context in
            let body = try await request.decodeJSON(as: CASignatureRequest.self, context: context)
            return JSONResponse(.ok, ValidBody(valid: try await ca.verifyWithCA(id: try context.pathParameter("id"), body)))
        }
    }

    /// Both paths of CSR signing (API.md §2).
    static let signPaths = ["/api/ca/v1/cas/{id}/certificates/sign", "/api/ca/v1/cas/{id}/sign"]

    /// CSR signing, the hottest write, also on the fast path (the same service call and answer).
    static func registerFastPath(on routes: inout FastPathRoutes, ca: CAService) {
        for path in signPaths {
            routes.addAuthenticated(.POST, template: path, role: Access.defaultRole(for: .post)) { request in
                let body = try Request.decodeJSON(as: SignCertificateRequest.self, body: request.body)
                return .json(.created, try await ca.sign(caID: String(request.parameters[0]), body))
            }
        }
    }

    private func registerIssuance(on api: APIRouter, base: String) {
        for path in Self.signPaths {
            api.on(.post, path, summary: "Sign a CSR", tag: "CA", request: "SignCertificate", response: "Certificate", status: .created) {
                request, context in
                let body = try await request.decodeJSON(as: SignCertificateRequest.self, context: context)
                return JSONResponse(.created, try await ca.sign(caID: try context.pathParameter("id"), body))
            }
        }
        api.on(.get, "\(base)/cas/{id}/certificates", summary: "List a CA's certificates", tag: "CA", response: "Certificate", list: true) {
            request, context in
            ListEnvelope(try await ca.listCertificates(
                request.listQuery(fields: CertificateRecord.fields), scope: .issuedBy(caID: try context.pathParameter("id"))))
        }
        api.on(.get, "\(base)/cas/{id}/certificates/status/{status}", summary: "List a CA's certificates with a status", tag: "CA", response: "Certificate", list: true) {
            request, context in
            let query = try Self.withStatus(try request.listQuery(fields: CertificateRecord.fields), context)
            return ListEnvelope(try await ca.listCertificates(query, scope: .issuedBy(caID: try context.pathParameter("id"))))
        }
        api.on(.get, "\(base)/cas/{id}/certificates/{sn}", summary: "Get a certificate", tag: "CA", response: "Certificate") { _, context in
            JSONResponse(.ok, try await ca.certificate(serialNumber: try context.pathParameter("sn"), issuedBy: try context.pathParameter("id")))
        }
    }

    private func registerCertificates(on api: APIRouter, base: String) {
        api.on(.get, "\(base)/certificates", summary: "List certificates", tag: "Certificates", response: "Certificate", list: true) {
            request, _ in
            ListEnvelope(try await ca.listCertificates(request.listQuery(fields: CertificateRecord.fields)))
        }
        api.on(.get, "\(base)/certificates/status/{status}", summary: "List certificates with a status", tag: "Certificates", response: "Certificate", list: true) {
            request, context in
            ListEnvelope(try await ca.listCertificates(try Self.withStatus(try request.listQuery(fields: CertificateRecord.fields), context)))
        }
        api.on(
            .get, "\(base)/certificates/expiration", summary: "Live certificates expiring in a window", tag: "Certificates", response: "Certificate",
            list: true,
            queries: [("expires_after", "RFC 3339 time or YYYY-MM-DD: valid_to after it"), ("expires_before", "RFC 3339 time or YYYY-MM-DD: valid_to before it")]
        ) {
            request, _ in
            func instant(_ name: String) throws -> Date? {
                guard let text = request.queryValue(name), !text.isEmpty else { return nil }
                guard let date = RFC3339.parse(text, allowDateOnly: true) else {
                    throw SheduError.badRequest("\(name) '\(text)' must be an RFC 3339 time")
                }
                return date
            }
            // The window becomes filters on valid_to, so the bookmark carries it to the next pages.
            var query = try request.listQuery(fields: CertificateRecord.expiringFields)
            let window = [("after", try instant("expires_after")), ("before", try instant("expires_before"))]
            query.addRouteFilters(try window.compactMap { operation, date in
                try date.map { try Filter(parsing: "valid_to[\(operation)]\(RFC3339.format($0))", fields: CertificateRecord.expiringFields) }
            })
            return ListEnvelope(try await ca.listCertificates(query, scope: .expiring))
        }
        api.on(.get, "\(base)/certificates/{sn}", summary: "Get a certificate", tag: "Certificates", response: "Certificate") { _, context in
            JSONResponse(.ok, try await ca.certificate(serialNumber: try context.pathParameter("sn")))
        }
        for method in [HTTPRequest.Method.put, .post] {
            api.on(method, "\(base)/certificates/{sn}/status", summary: "Revoke, hold, release or (de)activate a certificate", tag: "Certificates", request: "StatusChange", response: "Certificate") {
                request, context in
                let change = try await request.decodeJSON(as: StatusChange.self, context: context)
                return JSONResponse(.ok, try await ca.updateCertificateStatus(serialNumber: try context.pathParameter("sn"), change))
            }
        }
        api.metadata("\(base)/certificates/{sn}/metadata", summary: "Update a certificate's metadata", tag: "Certificates", response: "Certificate") {
            context, update in
            try await ca.updateCertificateMetadata(serialNumber: try context.pathParameter("sn"), update)
        }
        api.on(.post, "\(base)/certificates/import", summary: "Import a certificate", tag: "Certificates", request: "ImportCertificate", response: "Certificate", status: .created) {
            request, context in
            JSONResponse(.created, try await ca.importCertificate(request.decodeJSON(as: ImportCertificateRequest.self, context: context)))
        }
        api.on(.post, "\(base)/certificates", summary: "Make a key in the KMS and a certificate for it", tag: "Certificates", request: "CreateCertificate", response: "Certificate", status: .created) {
            request, context in
            JSONResponse(.created, try await ca.createCertificate(request.decodeJSON(as: CreateCertificateRequest.self, context: context)))
        }
        api.on(.delete, "\(base)/certificates/{sn}", summary: "Delete a certificate whose CA no longer exists", tag: "Certificates", status: .noContent) {
            _, context in
            try await ca.deleteCertificate(serialNumber: try context.pathParameter("sn"))
            return Response(status: .noContent)
        }
    }

    /// A list query narrowed to the `{status}` of the path.
    static func withStatus(_ query: ListQuery, _ context: SheduRequestContext) throws -> ListQuery {
        var query = query
        query.addRouteFilters([try Filter(parsing: "status[eq]\(try context.pathParameter("status").uppercased())", fields: CertificateRecord.fields)])
        return query
    }
}
