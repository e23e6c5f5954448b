import Foundation
import Hummingbird
import SheduCore

/// DMS records under `/api/dmsmanager/v1` (API.md §5); EST has its own routes.
struct DMSRoutes {
    let dms: DMSService
    let devices: DeviceService

    struct BindIdentityBody: Decodable {
        var deviceID: String?
        var certificateSerialNumber: String?
        enum CodingKeys: String, CodingKey { case deviceID = "device_id", certificateSerialNumber = "certificate_serial_number" }
    }

    struct BindIdentityResult: Encodable {
        var certificate: CertificateRecord
        var dms: DMS
        var device: Device
    }

    struct Stats: Encodable { var total: Int }

    /// A viewer reads a DMS with its webhooks' credentials masked; those who may change them see them.
    static func shown(_ dms: DMS, to context: SheduRequestContext) -> DMS {
        mayReadCredentials(context) ? dms : dms.withCredentialsMasked
    }

    static func mayReadCredentials(_ context: SheduRequestContext) -> Bool {
        context.principal.map { $0.role >= .operator } == true
    }

    /// A viewer may not filter or sort by the settings: the answers would tell the credentials
    /// it reads masked, a comparison at a time.
    static func checkSettingsQuery(filters: [Filter], sort: SortKey?, context: SheduRequestContext) throws {
        guard !mayReadCredentials(context) else { return }
        let sortsBySettings: Bool =
            switch sort {
            case .field("settings"), .jsonPath(field: "settings", _): true
            default: false
            }
        if sortsBySettings || filters.contains(where: { $0.field.name == "settings" }) {
            throw SheduError.forbidden("a viewer may not filter or sort DMSs by their settings, which hold webhook credentials")
        }
    }

    func register(on api: APIRouter) {
        let base = "/api/dmsmanager/v1"
        api.on(.get, "\(base)/dms", summary: "List DMSs", tag: "DMS", response: "DMS", list: true) { request, context in
            let query = try request.listQuery(fields: DMS.fields)
            try Self.checkSettingsQuery(filters: query.filters, sort: query.sort, context: context)
            let page = try await dms.list(query)
            return ListEnvelope(Page(items: page.items.map { Self.shown($0, to: context) }, next: page.next))
        }
        api.on(.post, "\(base)/dms", summary: "Create a DMS", tag: "DMS", request: "DMSRequest", response: "DMS", status: .created) {
            request, context in
            JSONResponse(.created, try await dms.create(request.decodeJSON(as: DMSRequest.self, context: context)))
        }
        api.on(.get, "\(base)/dms/{id}", summary: "Get a DMS", tag: "DMS", response: "DMS") { _, context in
            JSONResponse(.ok, Self.shown(try await dms.dms(id: try context.pathParameter("id")), to: context))
        }
        api.on(.put, "\(base)/dms/{id}", summary: "Replace a DMS's name, metadata and settings", tag: "DMS", request: "DMSRequest", response: "DMS") {
            request, context in
            let body = try await request.decodeJSON(as: DMSRequest.self, context: context)
            return JSONResponse(.ok, try await dms.replace(id: try context.pathParameter("id"), body))
        }
        api.metadata("\(base)/dms/{id}/metadata", summary: "Update a DMS's metadata", tag: "DMS", response: "DMS") { context, update in
            try await dms.updateMetadata(id: try context.pathParameter("id"), update)
        }
        api.on(.delete, "\(base)/dms/{id}", summary: "Delete a DMS that owns no devices", tag: "DMS", status: .noContent) { _, context in
            try await dms.delete(id: try context.pathParameter("id"))
            return Response(status: .noContent)
        }
        api.on(.get, "\(base)/stats", summary: "DMS count", tag: "DMS", response: "DMSStats", filters: ["filter"]) { request, context in
            let filters = try request.filters(fields: DMS.fields)
            try Self.checkSettingsQuery(filters: filters, sort: nil, context: context)
            return JSONResponse(.ok, Stats(total: try await dms.count(filters: filters)))
        }
        api.on(.post, "\(base)/dms/bind-identity", summary: "Bind a certificate as a device's identity", tag: "DMS", request: "BindIdentity", response: "BindIdentityResult") {
            request, context in
            let body = try await request.decodeJSON(as: BindIdentityBody.self, context: context)
            guard let deviceID = body.deviceID, !deviceID.isEmpty else { throw SheduError.badRequest("device_id is required") }
            guard let serial = body.certificateSerialNumber, !serial.isEmpty else {
                throw SheduError.badRequest("certificate_serial_number is required")
            }
            let bound = try await devices.bindIdentity(deviceID: deviceID, serialNumber: serial, revokePrevious: false)
            return JSONResponse(.ok, BindIdentityResult(certificate: bound.certificate, dms: bound.dms, device: bound.device))
        }
    }
}
