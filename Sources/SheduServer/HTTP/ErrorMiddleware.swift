import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SheduCore

/// Maps every error to `{"err": "..."}` with its status, in one place (API.md §1, Errors).
///
/// Unexpected errors are logged with the request id and answered 500 with a generic message;
/// their text never reaches the client.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = SheduRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, request: request, context: context)
        }
    }

    static func response(for error: any Error, request: Request, context: Context) -> Response {
        let (status, message) = describe(error, request: request, context: context)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let challenge = challenge(for: status) { headers[.wwwAuthenticate] = challenge }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body(message))))
    }

    /// The `WWW-Authenticate` challenge of an error answer: a 401 asks for a bearer token.
    static func challenge(for status: HTTPResponse.Status) -> String? {
        status == .unauthorized ? "Bearer" : nil
    }

    /// `{"err": "..."}`.
    static func body(_ message: String) -> String {
        JSONValue.object(["err": .string(message)]).jsonText()
    }

    /// The status and message of an error a handler or a service threw, for routed and fast-path
    /// requests alike. Unexpected errors are logged (with `requestID`) and answered generically.
    static func describe(_ error: any Error, requestID: String, logger: Logger) -> (HTTPResponse.Status, String) {
        switch error {
        case let error as SheduError:
            if error.kind == .internal { return internalError(error, requestID: requestID, logger: logger) }
            if error.kind == .unavailable {
                logger.error("dependency unavailable", metadata: ["error": "\(error.message)", "hb.request.id": "\(requestID)"])
            }
            return (status(of: error.kind), error.message)
        case let error as DecodingError:
            return (.badRequest, error.fieldMessage)
        case let error as HTTPParserError:
            // A body whose framing breaks off or is malformed (a bad chunk, a connection cut
            // mid-body) fails the handler reading it: the client's fault, said as the fast path says it.
            let (status, message) = FastPathHandler.describe(error)
            return (HTTPResponse.Status(code: Int(status.code)), message)
        case NIOSSLError.uncleanShutdown as NIOSSLError:
            // A TLS connection cut while its request's body was read (the client gave up, or the
            // request timeout closed it): the client's doing, as a cut plain-HTTP body is.
            return (.badRequest, "the connection ended before the request's body did")
        default:
            return internalError(error, requestID: requestID, logger: logger)
        }
    }

    private static func describe(_ error: any Error, request: Request, context: Context) -> (HTTPResponse.Status, String) {
        switch error {
        case let error as HTTPError:
            switch error.status {
            case .notFound where context.endpointPath == "NotFound" || context.endpointPath == nil:
                return (.notFound, "no route for \(request.method) \(request.uri.path)")
            case .contentTooLarge:
                return (.contentTooLarge, "request body is larger than \(context.maxUploadSize) bytes")
            default:
                return (error.status, error.body ?? error.status.reasonPhrase)
            }
        case is NIOTooManyBytesError:
            return (.contentTooLarge, "request body is larger than \(context.maxUploadSize) bytes")
        default:
            return describe(error, requestID: context.id, logger: context.logger)
        }
    }

    private static func internalError(_ error: any Error, requestID: String, logger: Logger) -> (HTTPResponse.Status, String) {
        logger.error("internal error", metadata: ["error": "\(String(reflecting: error))", "hb.request.id": "\(requestID)"])
        return (.internalServerError, "internal error (request id \(requestID))")
    }

    static func status(of kind: SheduError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .unprocessable: .unprocessableContent
        case .tooManyRequests: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internal: .internalServerError
        }
    }
}
