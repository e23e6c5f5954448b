import Foundation
import Hummingbird
import SheduCore

/// The KMS under `/api/kms/v1` (API.md §3).
struct KMSRoutes {
    let kms: KMSService
    /// A CA's key whose certificates are API credentials signs only for an admin.
    let ca: CAService

    struct NameBody: Decodable { var name: String }
    struct TagsBody: Decodable { var tags: [String] }
    struct PatchesBody: Decodable { var patches: [JSONPatch.Step] }
    struct SignatureBody: Encodable { var signature: String }
    struct ValidBody: Encodable { var valid: Bool }

    func register(on api: APIRouter) {
        let base = "/api/kms/v1"
        api.on(.get, "\(base)/engines", summary: "Key engines", tag: "KMS", response: "KeyEngines") { _, _ in
            JSONResponse(.ok, kms.engineInfos)
        }
        api.on(.get, "\(base)/stats", summary: "Key counts", tag: "KMS", response: "KMSStats", filters: ["filter"]) { request, _ in
            JSONResponse(.ok, try await kms.stats(filters: try request.filters(fields: KMSKey.fields)))
        }
        api.on(.get, "\(base)/keys", summary: "List keys", tag: "KMS", response: "Key", list: true) { request, _ in
            ListEnvelope(try await kms.list(request.listQuery(fields: KMSKey.fields)))
        }
        api.on(
            .post, "\(base)/keys", summary: "Create a key", tag: "KMS", request: "CreateKey", response: "Key",
            status: .created
        ) { request, context in
            JSONResponse(.created, try await kms.create(request.decodeJSON(as: KMSService.CreateRequest.self, context: context)))
        }
        api.on(
            .post, "\(base)/keys/import", summary: "Import a private key", tag: "KMS", request: "ImportKey",
            response: "Key", status: .created
        ) { request, context in
            JSONResponse(
                .created, try await kms.importKey(request.decodeJSON(as: KMSService.ImportRequest.self, context: context)))
        }
        api.on(.get, "\(base)/keys/{id}", summary: "Get a key by id, alias or PKCS#11 URI", tag: "KMS", response: "Key") {
            _, context in
            JSONResponse(.ok, try await kms.key(try context.pathParameter("id")))
        }
        api.on(.put, "\(base)/keys/{id}/name", summary: "Rename a key", tag: "KMS", request: "KeyName", response: "Key") {
            request, context in
            let body = try await request.decodeJSON(as: NameBody.self, context: context)
            return JSONResponse(.ok, try await kms.rename(try context.pathParameter("id"), to: body.name))
        }
        api.on(.put, "\(base)/keys/{id}/tags", summary: "Replace a key's tags", tag: "KMS", request: "KeyTags", response: "Key") {
            request, context in
            let body = try await request.decodeJSON(as: TagsBody.self, context: context)
            return JSONResponse(.ok, try await kms.setTags(try context.pathParameter("id"), body.tags))
        }
        api.on(
            .put, "\(base)/keys/{id}/alias", summary: "Change a key's aliases (JSON Patch on the list)", tag: "KMS",
            request: "JSONPatch", response: "Key"
        ) { request, context in
            let body = try await request.decodeJSON(as: PatchesBody.self, context: context)
            return JSONResponse(
                .ok, try await kms.updateAliases(try context.pathParameter("id"), patch: JSONPatch(body.patches)))
        }
        api.metadata("\(base)/keys/{id}/metadata", summary: "Update a key's metadata", tag: "KMS", response: "Key") {
            context, update in
            try await kms.updateMetadata(try context.pathParameter("id"), update)
        }
        api.on(
            .delete, "\(base)/keys/{id}", access: .role(.admin), summary: "Delete a key (not while a CA uses it)",
            tag: "KMS", status: .noContent
        ) { _, context in
            try await kms.delete(try context.pathParameter("id"))
            return Response(status: .noContent)
        }
        api.on(
            .post, "\(base)/keys/{id}/sign", summary: "Sign a message or a digest", tag: "KMS", request: "SignRequest",
            response: "Signature"
        ) { request, context in
            let body = try await request.decodeJSON(as: KMSService.SignRequest.self, context: context)
            let signature = try await kms.sign(try context.pathParameter("id"), body, checkCA: ca.requireAdminForAPICredentials(of:))
            return JSONResponse(.ok, SignatureBody(signature: signature.base64EncodedString()))
        }
        // A check that changes nothing: a viewer may make it.
        api.on(
            .post, "\(base)/keys/{id}/verify", access: .role(.viewer), summary: "Verify a signature", tag: "KMS", request: "VerifyRequest",
            response: "VerifyResult"
        ) { request, context in
            let body = try await request.decodeJSON(as: KMSService.SignRequest.self, context: context)
            return JSONResponse(.ok, ValidBody(valid: try await kms.verify(try context.pathParameter("id"), body)))
        }
    }
}
