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
        let buffer = try await collectBody(context: context)
        guard buffer.readableBytes > 0 else { throw SheduError.badRequest("a JSON request body is required") }
        return try DomainJSON.decoder.decodeReporting(type, from: Data(buffer.readableBytesView))
    }
}

extension JSONDecoder {
    /// Decodes, turning a decoding failure into a 400 that names the field.
    func decodeReporting<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try decode(type, from: data)
        } catch let error as DecodingError {
            throw SheduError.badRequest(error.fieldMessage)
        }
    }
}

/// A JSON response with a status.
struct JSONResponse<Value: Encodable>: ResponseGenerator {
    var status: HTTPResponse.Status
    var value: Value

    init(_ status: HTTPResponse.Status = .ok, _ value: Value) {
        self.status = status
        self.value = value
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try DomainJSON.encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The list envelope of API.md §1: `{"list": [...], "next": "..."}`, `next` omitted at the end.
struct ListEnvelope<Item: Encodable & Sendable>: ResponseGenerator {
    var list: [Item]
    var next: String?

    init(_ page: Page<Item>) {
        list = page.items
        next = page.next
    }

    /// Written directly: only the items go through the JSON encoder (an empty page not at all).
    func response(from request: Request, context: some RequestContext) throws -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(#"{"list":"#)
        if list.isEmpty {
            buffer.writeString("[]")
        } else {
            buffer.writeBytes(try DomainJSON.encoder.encode(list))
        }
        if let next {
            buffer.writeString(#","next":"#)
            var quoted = ""
            JSONValue.writeString(next, to: &quoted)
            buffer.writeString(quoted)
        }
        buffer.writeString("}")
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}
