import Foundation
import HTTPTypes
import NIOHTTP1

/// The caching headers of a VA answer (RFC 5019 §6.2): a shared cache may keep it until its
/// nextUpdate, but never longer than ``maximumAge``, so that a revocation Shedu publishes at once
/// does not stay hidden behind a proxy for the answer's whole validity.
enum HTTPCaching {
    static let maximumAge: TimeInterval = 300

    static func headers(entityTag: String, lastModified: Date, expires: Date, now: Date) -> [(String, String)] {
        let age = Int(max(0, min(expires.timeIntervalSince(now), maximumAge)).rounded(.down))
        // Never after the answer's Date (RFC 9110 §8.8.2.1), which FastPathHandler stamps from
        // the clock as the answer leaves.
        let lastModified = min(lastModified, now)
        return [
            ("cache-control", "max-age=\(age), public, no-transform, must-revalidate"), ("etag", entityTag),
            ("last-modified", HTTPDate.format(lastModified)), ("expires", HTTPDate.format(expires)),
        ]
    }
}

/// The validators a conditional GET carries (RFC 9110 §13.1), read from either header type: the
/// fast path's (NIOHTTP1) and the router's (HTTPTypes).
struct ConditionalGET {
    var ifNoneMatch: String?
    var ifModifiedSince: String?

    init(ifNoneMatch: String?, ifModifiedSince: String?) {
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
    }

    init(_ headers: HTTPHeaders) {
        self.init(ifNoneMatch: headers.first(name: "if-none-match"), ifModifiedSince: headers.first(name: "if-modified-since"))
    }

    init(_ fields: HTTPFields) {
        self.init(ifNoneMatch: fields[.ifNoneMatch], ifModifiedSince: fields[.ifModifiedSince])
    }

    /// Whether the client's copy is current (RFC 9110 §13.1.2 and §13.1.3): by `If-None-Match`
    /// when it is sent, else by `If-Modified-Since`. A date names a second, and a CRL or an OCSP
    /// answer can change twice within one: only a date after the current answer's second proves
    /// the copy current (a copy dated the same second may be the one a revocation replaced). A
    /// date in the future is no proof either (RFC 9110 §13.1.3: the server's clock decides).
    func findsCurrent(entityTag: String, lastModified: Date, now: Date = Date()) -> Bool {
        if let ifNoneMatch {
            return ifNoneMatch.split(separator: ",").contains { candidate in
                let tag = candidate.trimmingCharacters(in: .whitespaces)
                // Weak comparison, as for GET.
                return tag == "*" || tag == entityTag || tag == "W/" + entityTag
            }
        }
        guard let ifModifiedSince, let since = HTTPDate.parse(ifModifiedSince), since <= now else { return false }
        return lastModified.timeIntervalSince1970.rounded(.down) < since.timeIntervalSince1970
    }
}
