import Foundation
import Hummingbird
import SheduCore

/// Devices and device groups under `/api/devmanager/v1` (API.md §4).
struct DeviceRoutes {
    let devices: DeviceService
    let groups: DeviceGroupService

    struct IdentitySlotBody: Decodable {
        var certificateSerialNumber: String?
        enum CodingKeys: String, CodingKey { case certificateSerialNumber = "certificate_serial_number" }
    }

    /// `{"total": n, "status_distribution": {...every status...}}`.
    struct Stats: Encodable {
        var total: Int
        var statusDistribution: [String: Int]
        enum CodingKeys: String, CodingKey { case total, statusDistribution = "status_distribution" }

        init(_ counts: [DeviceStatus: Int]) {
            total = counts.values.reduce(0, +)
            statusDistribution = Dictionary(uniqueKeysWithValues: DeviceStatus.allCases.map { ($0.rawValue, counts[$0] ?? 0) })
        }
    }

    func register(on api: APIRouter) {
        let base = "/api/devmanager/v1"
        api.on(.get, "\(base)/devices", summary: "List devices", tag: "Devices", response: "Device", list: true) { request, _ in
            ListEnvelope(try await devices.list(request.listQuery(fields: Device.fields)))
        }
        api.on(.post, "\(base)/devices", summary: "Register a device", tag: "Devices", request: "RegisterDevice", response: "Device", status: .created) {
            request, context in
            JSONResponse(.created, try await devices.register(request.decodeJSON(as: RegisterDeviceRequest.self, context: context)))
        }
        api.on(.get, "\(base)/devices/{id}", summary: "Get a device", tag: "Devices", response: "Device") { _, context in
            JSONResponse(.ok, try await devices.device(id: try context.pathParameter("id")))
        }
        api.on(.get, "\(base)/devices/dms/{dms_id}", summary: "List the devices of a DMS", tag: "Devices", response: "Device", list: true) {
            request, context in
            ListEnvelope(try await devices.list(request.listQuery(fields: Device.fields), scope: .dms(try context.pathParameter("dms_id"))))
        }
        api.metadata("\(base)/devices/{id}/metadata", summary: "Update a device's metadata", tag: "Devices", response: "Device") {
            context, update in
            try await devices.updateMetadata(id: try context.pathParameter("id"), update)
        }
        api.on(.put, "\(base)/devices/{id}/idslot", summary: "Bind a new identity certificate; the previous one is revoked (Superseded)", tag: "Devices", request: "IdentitySlotUpdate", response: "Device") {
            request, context in
            let body = try await request.decodeJSON(as: IdentitySlotBody.self, context: context)
            guard let serial = body.certificateSerialNumber, !serial.isEmpty else {
                throw SheduError.badRequest("certificate_serial_number is required")
            }
            let bound = try await devices.bindIdentity(
                deviceID: try context.pathParameter("id"), serialNumber: serial, revokePrevious: true)
            return JSONResponse(.ok, bound.device)
        }
        api.on(.delete, "\(base)/devices/{id}/decommission", summary: "Decommission a device (final); its certificate is revoked", tag: "Devices", response: "Device") {
            _, context in
            JSONResponse(.ok, try await devices.decommission(id: try context.pathParameter("id")))
        }
        api.on(.delete, "\(base)/devices/{id}", summary: "Delete a device without a live identity", tag: "Devices", status: .noContent) {
            _, context in
            try await devices.delete(id: try context.pathParameter("id"))
            return Response(status: .noContent)
        }
        api.on(.get, "\(base)/stats", summary: "Device counts by status", tag: "Devices", response: "DeviceStats", filters: ["filter"]) { request, _ in
            JSONResponse(.ok, Stats(try await devices.statusCounts(filters: try request.filters(fields: Device.fields))))
        }
        registerGroups(on: api, base: base)
    }

    private func registerGroups(on api: APIRouter, base: String) {
        api.on(.post, "\(base)/device-groups", summary: "Create a device group", tag: "Device groups", request: "DeviceGroupRequest", response: "DeviceGroup", status: .created) {
            request, context in
            JSONResponse(.created, try await groups.create(request.decodeJSON(as: DeviceGroupRequest.self, context: context)))
        }
        api.on(.get, "\(base)/device-groups", summary: "List device groups", tag: "Device groups", response: "DeviceGroup", list: true) { request, _ in
            ListEnvelope(try await groups.list(request.listQuery(fields: DeviceGroup.fields)))
        }
        api.on(.get, "\(base)/device-groups/{id}", summary: "Get a device group", tag: "Device groups", response: "DeviceGroup") { _, context in
            JSONResponse(.ok, try await groups.group(id: try context.pathParameter("id")))
        }
        api.on(.put, "\(base)/device-groups/{id}", summary: "Change a device group", tag: "Device groups", request: "DeviceGroupRequest", response: "DeviceGroup") {
            request, context in
            let body = try await request.decodeJSON(as: DeviceGroupRequest.self, context: context)
            return JSONResponse(.ok, try await groups.update(id: try context.pathParameter("id"), body))
        }
        api.on(.delete, "\(base)/device-groups/{id}", summary: "Delete a device group and its subgroups", tag: "Device groups", status: .noContent) {
            _, context in
            try await groups.delete(id: try context.pathParameter("id"))
            return Response(status: .noContent)
        }
        api.on(.get, "\(base)/device-groups/{id}/devices", summary: "The devices a group's criteria select now", tag: "Device groups", response: "Device", list: true) {
            request, context in
            ListEnvelope(try await groups.members(id: try context.pathParameter("id"), request.listQuery(fields: Device.fields)))
        }
        api.on(.get, "\(base)/device-groups/{id}/stats", summary: "Status counts of a group's devices", tag: "Device groups", response: "DeviceStats", filters: ["filter"]) {
            request, context in
            let counts = try await groups.statusCounts(id: try context.pathParameter("id"), filters: try request.filters(fields: Device.fields))
            return JSONResponse(.ok, Stats(counts))
        }
    }
}
