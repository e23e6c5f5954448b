import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SheduCore

/// Finds out who is calling (from the bearer token), tags the request's log lines with it, and
/// writes the one audit line per request. Whether a route needs a caller is the route's own
/// decision (``APIRouter``); here a bad token only leaves the reason for a later 401.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = SheduRequestContext

    let authenticator: TokenAuthenticator
    let clientCertificates: APIClientCertificates
    let certificateSource: ClientCertificateSource

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        if let requestID = request.headers[.xRequestID], Self.isUsableRequestID(requestID) {
            context.logger[metadataKey: "hb.request.id"] = .string(requestID)
        }
        if let authorization = request.headers[.authorization] {
            // A bearer token, when present, wins over a client certificate.
            await authenticate(authorization, context: &context)
        } else if request.uri.path.hasPrefix("/api/") {
            await authenticateClientCertificate(request, context: &context)
        }
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.xRequestID] = context.id
        Self.audit(request, response: response, context: context, elapsed: ContinuousClock.now - start)
        return response
    }

    private func authenticate(_ authorization: String, context: inout Context) async {
        guard authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            context.authenticationFailure = .unauthorized("the Authorization header must be 'Bearer <token>'")
            return
        }
        do {
            let principal = try await authenticator.authenticate(bearer: String(authorization.dropFirst(7)))
            context.principal = principal
        } catch let error as SheduError {
            // 401 for a bad token; 403 for a valid one without a role; 503 if the issuer is down.
            context.authenticationFailure = error
        } catch {
            context.authenticationFailure = .unauthorized("the bearer token could not be checked")
        }
    }

    /// A client certificate of an API client CA (see ``APIClientCertificates``); any other
    /// certificate leaves the request unauthenticated.
    private func authenticateClientCertificate(_ request: Request, context: inout Context) async {
        do {
            let chain = try await certificateSource.chain(of: request, context: context)
            guard !chain.isEmpty else { return }
            context.principal = try await clientCertificates.principal(for: chain)
        } catch let error as SheduError {
            context.authenticationFailure = error
        } catch {
            context.authenticationFailure = .unauthorized("the client certificate could not be checked")
        }
    }

    /// Changes are logged at info (the audit trail of who did what); reads at debug.
    private static func audit(_ request: Request, response: Response, context: Context, elapsed: Duration) {
        let level: Logger.Level = request.method == .get || request.method == .head ? .debug : .info
        guard context.logger.logLevel <= level else { return }
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        context.logger.log(
            level: level, "\(request.method) \(request.uri.path) \(response.status.code)",
            metadata: [
                "http.method": "\(request.method)", "http.path": "\(request.uri.path)",
                "http.status": "\(response.status.code)",
                "http.duration_ms": "\((milliseconds * 100).rounded() / 100)",
                "auth.subject": "\(context.principal?.subject ?? "-")",
            ])
    }

    private static func isUsableRequestID(_ value: String) -> Bool {
        value.count <= 128 && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("x-request-id")!
}
