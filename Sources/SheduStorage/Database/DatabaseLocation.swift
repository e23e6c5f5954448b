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
        guard var components = URLComponents(string: url) else { return redactedUserInfo(url) }
        guard components.password != nil else { return url }
        components.password = "***"
        return components.string ?? redactedUserInfo(url)
    }

    /// A URL that does not parse still shows no password: what lies between the scheme and the
    /// last `@` (user and password) is hidden.
    private static func redactedUserInfo(_ url: String) -> String {
        guard let scheme = url.range(of: "://"),
            let at = url.range(of: "@", options: .backwards, range: scheme.upperBound..<url.endIndex)
        else { return url }
        return url[..<scheme.upperBound] + "***" + url[at.lowerBound...]
    }
}
