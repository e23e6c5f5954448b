import Foundation
import SheduCore

/// Where the data lives, from `--database-url`: `sqlite://<path>` or `postgres://user:pass@host:port/db`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    public init(url: String) throws {
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw SheduError.badRequest("database URL '\(url)' has no file path") }
            self = .sqlite(path: path)
        } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            self = .postgres(url: url)
        } else {
            throw SheduError.badRequest(
                "database URL must start with sqlite:// or postgres:// (got '\(Self.redacted(url))')")
        }
    }

    /// The URL without its password, for logs and error messages.
    public var redactedDescription: String {
        switch self {
        case .sqlite(let path): "sqlite://\(path)"
        case .postgres(let url): Self.redacted(url)
        }
    }

    static func redacted(_ url: String) -> String {
        redactedPasswordParameter(redactedPassword(url))
    }

    /// The user part's password as `***`. A URL that does not parse as its writer meant (a
    /// password with '/' or '#' reads as a port and a path) hides all between scheme and last '@'.
    private static func redactedPassword(_ url: String) -> String {
        if var components = URLComponents(string: url), components.password != nil {
            components.password = "***"
            if let text = components.string { return text }
        }
        return redactedUserInfo(url)
    }

    private static func redactedUserInfo(_ url: String) -> String {
        guard let scheme = url.range(of: "://"),
            let at = url.range(of: "@", options: .backwards, range: scheme.upperBound..<url.endIndex)
        else { return url }
        return url[..<scheme.upperBound] + "***" + url[at.lowerBound...]
    }

    /// `password=...` in the query (libpq's form) is hidden too.
    private static func redactedPasswordParameter(_ url: String) -> String {
        guard let query = url.firstIndex(of: "?") else { return url }
        let parameters = url[url.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map { parameter in
            parameter.lowercased().hasPrefix("password=") ? "password=***" : String(parameter)
        }
        return url[...query] + parameters.joined(separator: "&")
    }
}
