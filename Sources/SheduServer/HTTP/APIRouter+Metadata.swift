import Foundation
import Hummingbird
import SheduCore

extension APIRouter {
    /// `PUT` and `PATCH` on a metadata path (API.md §1, Metadata): replace, JSON Patch or merge patch.
    func metadata<Output: Encodable & Sendable>(
        _ path: String, summary: String, tag: String, response: String,
        update: @escaping @Sendable (SheduRequestContext, MetadataUpdate) async throws -> Output
    ) {
        for method in [HTTPRequest.Method.put, .patch] {
            on(method, path, summary: summary, tag: tag, request: "MetadataUpdate", response: response) { request, context in
                let body = try await request.collectBody(context: context)
                let change = try MetadataUpdate(body: Data(body.readableBytesView), isPatch: method == .patch)
                return JSONResponse(.ok, try await update(context, change))
            }
        }
    }
}
