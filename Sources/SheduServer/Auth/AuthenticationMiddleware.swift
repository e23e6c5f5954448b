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
        Self.audit(
            method: request.method.rawValue, path: request.uri.path, status: response.status.code,
            subject: context.principal?.subject, elapsed: ContinuousClock.now - start, logger: context.logger)
        return response
    }

    private func authenticate(_ authorization: String, context: inout Context) async {
        guard let token = TokenAuthenticator.bearerToken(in: authorization) else {
            context.authenticationFailure = .unauthorized("the Authorization header must be 'Bearer <token>'")
            return
        }
        do {
            let principal = try await authenticator.authenticate(bearer: token)
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

    /// The one audit line of a request, routed or fast-path: changes are logged at info (the audit
    /// trail of who did what), reads at debug. `requestID`, when given, is added to the line's
    /// metadata (a routed request's logger carries it already).
    static func audit(
        method: String, path: some StringProtocol, status: Int, subject: String?, elapsed: Duration, logger: Logger,
        requestID: String? = nil
    ) {
        let level: Logger.Level = method == "GET" || method == "HEAD" ? .debug : .info
        guard logger.logLevel <= level else { return }
        var logger = logger
        if let requestID { logger[metadataKey: "hb.request.id"] = .string(requestID) }
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        logger.log(
            level: level, "\(method) \(path) \(status)",
            metadata: [
                "http.method": "\(method)", "http.path": "\(path)", "http.status": "\(status)",
                "http.duration_ms": "\((milliseconds * 100).rounded() / 100)", "auth.subject": "\(subject ?? "-")",
            ])
    }

    /// A client's `X-Request-ID` is kept if it is short and plain; otherwise the server makes one.
    static func isUsableRequestID(_ value: String) -> Bool {
        value.count <= 128 && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("x-request-id")!
}
