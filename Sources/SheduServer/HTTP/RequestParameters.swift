import Foundation
import Hummingbird
import SheduCore

extension Request {
    /// The query's values for `name`, decoded as HTML forms and Lamassu (Go's `url.Query`) decode
    /// them: `+` is a space, then percent-decoding.
    func queryValues(_ name: String) -> [String] {
        guard let query = uri.query, !query.isEmpty else { return [] }
        var values: [String] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Self.formDecode(parts[0]) == name else { continue }
            values.append(parts.count > 1 ? Self.formDecode(parts[1]) : "")
        }
        return values
    }

    func queryValue(_ name: String) -> String? {
        queryValues(name).last
    }

    private static func formDecode(_ text: Substring) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) else { return String(text) }
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// The list a bookmark belongs to: the path as decoded, without a trailing '/', so that every
    /// spelling of one list shares its bookmarks.
    private var listName: String {
        let path = uri.path.removingPercentEncoding ?? uri.path
        return path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// Parses the list parameters of API.md §1 against a resource's fields.
    func listQuery(fields: FieldSet) throws -> ListQuery {
        try ListQuery(
            filters: queryValues("filter"), sortBy: queryValue("sort_by"), sortMode: queryValue("sort_mode"),
            pageSize: queryValue("page_size"), bookmark: queryValue("bookmark"), fields: fields, list: listName)
    }
}

extension Request {
    /// The filter parameters alone (`filter`, or as `parameter` names them), for counts and statistics.
    func filters(fields: FieldSet, parameter: String = "filter") throws -> [Filter] {
        try queryValues(parameter).map { try Filter(parsing: $0, fields: fields) }
    }
}

extension SheduRequestContext {
    /// A path parameter, percent-decoded. No id holds a NUL character (`%00`).
    func pathParameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        // Foundation's decoding costs microseconds even when there is nothing to decode.
        guard raw.utf8.contains(UInt8(ascii: "%")) else { return raw }
        let decoded = raw.removingPercentEncoding ?? raw
        guard !decoded.utf8.contains(0) else {
            throw SheduError.badRequest("the path's \(name) contains the NUL character (%00)")
        }
        return decoded
    }
}
