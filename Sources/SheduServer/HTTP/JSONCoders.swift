import Foundation
import Hummingbird
import SheduCore

extension Request {
    /// The body, up to the context's limit (413 above it).
    func collectBody(context: SheduRequestContext) async throws -> ByteBuffer {
        try await body.collect(upTo: context.maxUploadSize)
    }

    /// Decodes a JSON body; a malformed body is a 400 that names the problem and the field.
    func decodeJSON<T: Decodable>(as type: T.Type, context: SheduRequestContext) async throws -> T {
        try Self.decodeJSON(as: type, body: try await collectBody(context: context))
    }

    /// A whole JSON body as `decodeJSON(as:context:)` decodes it, for the fast path too.
    static func decodeJSON<T: Decodable>(as type: T.Type, body: ByteBuffer?) throws -> T {
        guard let body, body.readableBytes > 0 else { throw SheduError.badRequest("a JSON request body is required") }
        return try DomainJSON.decodeRequest(type, utf8: Array(body.readableBytesView))
    }
}

/// A JSON response with a status. Values that write themselves (``JSONWritable``) are written
/// directly; others go through the JSON encoder. The choice is made by overloads at compile time.
struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator {
    var status: HTTPResponse.Status
    var value: Value
    private let render: @Sendable (Value) throws -> ByteBuffer

    init(_ status: HTTPResponse.Status = .ok, _ value: Value) {
        self.status = status
        self.value = value
        render = { ByteBuffer(bytes: try DomainJSON.encoder.encode($0)) }
    }

    init(_ status: HTTPResponse.Status = .ok, _ value: Value) where Value: JSONWritable {
        self.status = status
        self.value = value
        render = { jsonBody($0) }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: try render(value)))
    }
}

/// A value that writes itself as a response body.
func jsonBody(_ value: some JSONWritable) -> ByteBuffer {
    var writer = JSONTextWriter(capacity: 2048)
    writer.write(value)
    return ByteBuffer(bytes: writer.bytes)
}

/// The list envelope of API.md §1: `{"list": [...], "next": "..."}`, `next` omitted at the end.
struct ListEnvelope<Item: Encodable & Sendable>: ResponseGenerator {
    var list: [Item]
    var next: String?
    private let writeItems: @Sendable ([Item], inout JSONTextWriter) throws -> Void

    init(_ page: Page<Item>) {
        list = page.items
        next = page.next
        writeItems = { items, writer in
            if items.isEmpty {
                writer.writeASCII("[]")
            } else {
                writer.writeRaw(bytes: try DomainJSON.encoder.encode(items))
            }
        }
    }

    init(_ page: Page<Item>) where Item: JSONWritable {
        list = page.items
        next = page.next
        writeItems = { items, writer in
            writer.beginArray()
            for item in items {
                writer.element()
                writer.write(item)
            }
            writer.endArray()
        }
    }

    /// Written directly: `{"list":[...],"next":"..."}`.
    func response(from request: Request, context: some RequestContext) throws -> Response {
        var writer = JSONTextWriter(capacity: 256 + list.count * 2048)
        writer.beginObject()
        writer.key("list")
        try writeItems(list, &writer)
        if let next { writer.field("next", next) }
        writer.endObject()
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}
