import Foundation

/// The domain's one error type: a kind that the HTTP edge maps to a status code, and a message
/// written for the user (it names the field or the object that is wrong).
///
/// Messages never contain key material or tokens.
public struct SheduError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Malformed or invalid input (400).
        case badRequest
        /// Missing or invalid credentials (401).
        case unauthorized
        /// Valid credentials without the needed role, or refused by policy (403).
        case forbidden
        /// The named object does not exist (404).
        case notFound
        /// Already exists, or the object's state forbids the operation (409).
        case conflict
        /// The body is larger than allowed (413).
        case payloadTooLarge
        /// The request's content type is not one this endpoint reads (415).
        case unsupportedMediaType
        /// Well-formed but unprocessable, such as a CSR whose signature does not verify (422).
        case unprocessable
        /// Rate limit exceeded (429).
        case tooManyRequests
        /// A dependency (database, webhook, OIDC issuer) did not answer (503).
        case unavailable
        /// A bug (500): the message is logged, never shown.
        case `internal`
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public static func badRequest(_ message: String) -> SheduError { .init(.badRequest, message) }
    public static func unauthorized(_ message: String) -> SheduError { .init(.unauthorized, message) }
    public static func forbidden(_ message: String) -> SheduError { .init(.forbidden, message) }
    public static func notFound(_ message: String) -> SheduError { .init(.notFound, message) }
    public static func conflict(_ message: String) -> SheduError { .init(.conflict, message) }
    public static func unprocessable(_ message: String) -> SheduError { .init(.unprocessable, message) }
    public static func unavailable(_ message: String) -> SheduError { .init(.unavailable, message) }
    public static func `internal`(_ message: String) -> SheduError { .init(.internal, message) }
}

extension SheduError {
    /// Why a file operation failed, as the system says it ("read-only file system"), for a message
    /// that names the file.
    public static func reason(ofFileError error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
            let message = String(validatingCString: strerror(Int32(underlying.code)))
        {
            return message.lowercased()
        }
        return nsError.localizedDescription
    }
}
