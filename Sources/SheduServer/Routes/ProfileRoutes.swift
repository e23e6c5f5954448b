import Hummingbird
import SheduCore

/// Issuance profiles under `/api/ca/v1/profiles` (API.md §2).
struct ProfileRoutes {
    let service: IssuanceProfileService

    func register(on api: APIRouter) {
        let base = "/api/ca/v1/profiles"
        api.on(.get, base, summary: "List issuance profiles", tag: "CA", response: "IssuanceProfile", list: true) {
            request, _ in
            ListEnvelope(try await service.list(request.listQuery(fields: IssuanceProfile.fields)))
        }
        api.on(
            .post, base, summary: "Create an issuance profile", tag: "CA", request: "IssuanceProfile",
            response: "IssuanceProfile", status: .created
        ) { request, context in
            let profile = try await request.decodeJSON(as: IssuanceProfile.self, context: context)
            return JSONResponse(.created, try await service.create(profile))
        }
        api.on(.get, "\(base)/{id}", summary: "Get an issuance profile", tag: "CA", response: "IssuanceProfile") {
            _, context in
            JSONResponse(.ok, try await service.profile(id: try context.pathParameter("id")))
        }
        api.on(
            .put, "\(base)/{id}", summary: "Replace an issuance profile", tag: "CA", request: "IssuanceProfile",
            response: "IssuanceProfile"
        ) { request, context in
            let profile = try await request.decodeJSON(as: IssuanceProfile.self, context: context)
            return JSONResponse(.ok, try await service.replace(id: try context.pathParameter("id"), with: profile))
        }
        api.on(.delete, "\(base)/{id}", summary: "Delete an issuance profile", tag: "CA", status: .noContent) {
            _, context in
            try await service.delete(id: try context.pathParameter("id"))
            return Response(status: .noContent)
        }
    }
}
