import Foundation

/// What a list is ordered by: a field, or a path inside a JSON field (`metadata[jsonpath]$.a.b`).
public enum SortKey: Sendable, Hashable {
    case field(String)
    case jsonPath(field: String, path: JSONPathExpression)

    public var text: String {
        switch self {
        case .field(let name): name
        case .jsonPath(let field, let path): "\(field)[jsonpath]\(path)"
        }
    }
}

/// Where the next page starts: the sort values and the primary key of the last row returned.
public struct PageCursor: Sendable, Hashable, Codable {
    public var sortValues: [JSONValue]
    public var key: String

    public init(sortValues: [JSONValue], key: String) {
        self.sortValues = sortValues
        self.key = key
    }
}

/// A list request after parsing: filters (AND-ed), order, page size and keyset position.
public struct ListQuery: Sendable, Hashable {
    public static let defaultPageSize = 25
    public static let maximumPageSize = 1000

    public var filters: [Filter]
    public var sort: SortKey
    public var descending: Bool
    public var pageSize: Int
    public var cursor: PageCursor?
    /// The list (its path) the bookmarks of this query belong to.
    public var list: String?

    public init(filters: [Filter] = [], sort: SortKey, descending: Bool = false, pageSize: Int = defaultPageSize,
        cursor: PageCursor? = nil, list: String? = nil)
    {
        self.filters = filters
        self.sort = sort
        self.descending = descending
        self.pageSize = pageSize
        self.cursor = cursor
        self.list = list
    }

    /// Adds the filters a route makes of its own (the status in its path, an expiration window)
    /// to the first page only: a bookmark carries them with the request's others (added again on
    /// every page, they piled up until page 101 passed the limit of 100 filters).
    public mutating func addRouteFilters(_ routeFilters: [Filter]) {
        guard cursor == nil else { return }
        filters += routeFilters
    }

    /// The first page of everything, in the resource's default order.
    public init(fields: FieldSet, pageSize: Int = defaultPageSize) {
        self.init(sort: fields.defaultSort, descending: fields.defaultSortDescending, pageSize: pageSize)
    }

    /// Parses the query parameters of a list request (API.md §1, Lists).
    ///
    /// A bookmark carries the filters, sort and page size of the request that produced it, so a
    /// client may send it alone; an explicit `page_size` next to it still applies. It also names
    /// `list`, and another list refuses it: its cursor would position a page of the wrong rows.
    public init(
        filters filterTexts: [String], sortBy: String?, sortMode: String?, pageSize pageSizeText: String?,
        bookmark: String?, fields: FieldSet, list: String? = nil
    ) throws {
        var filterTexts = filterTexts
        var sortBy = sortBy
        var sortMode = sortMode
        var pageSizeText = pageSizeText
        var cursor: PageCursor?
        if let bookmark, !bookmark.isEmpty {
            let decoded = try Bookmark(decoding: bookmark)
            if let issuedBy = decoded.list, let list, issuedBy != list {
                throw SheduError.badRequest("bookmark is one of the list \(issuedBy), not of \(list)")
            }
            filterTexts = decoded.filters
            sortBy = decoded.sortBy
            sortMode = decoded.descending ? "desc" : "asc"
            if pageSizeText == nil { pageSizeText = String(decoded.pageSize) }
            cursor = decoded.cursor
        }

        var pageSize = Self.defaultPageSize
        if let pageSizeText, !pageSizeText.isEmpty {
            guard let value = Int(pageSizeText), value > 0 else {
                throw SheduError.badRequest("page_size '\(pageSizeText)' must be a positive integer")
            }
            pageSize = min(value, Self.maximumPageSize)
        }

        // A sort_by without sort_mode sorts ascending; neither means the resource's default order.
        var descending = (sortBy ?? "").isEmpty ? fields.defaultSortDescending : false
        if let sortMode, !sortMode.isEmpty {
            switch sortMode.lowercased() {
            case "asc": descending = false
            case "desc": descending = true
            default: throw SheduError.badRequest("sort_mode '\(sortMode)' must be asc or desc")
            }
        }

        var sort = fields.defaultSort
        if let sortBy, !sortBy.isEmpty {
            sort = try Self.parseSortKey(sortBy, fields: fields)
        }

        self.init(
            filters: try filterTexts.map { try Filter(parsing: $0, fields: fields) },
            sort: sort, descending: descending, pageSize: pageSize, cursor: cursor, list: list)
    }

    private static func parseSortKey(_ text: String, fields: FieldSet) throws -> SortKey {
        if let marker = text.range(of: "[jsonpath]") {
            let fieldName = String(text[..<marker.lowerBound])
            guard let field = fields[fieldName], field.type == .json else {
                throw SheduError.badRequest("sort_by '\(text)': '\(fieldName)' is not a JSON field")
            }
            return .jsonPath(field: fieldName, path: try JSONPathExpression(parsing: String(text[marker.upperBound...])))
        }
        guard let field = fields[text] else {
            throw SheduError.badRequest(
                "sort_by '\(text)' is not a sortable field; use one of: "
                    + fields.names.filter { fields[$0]!.type.isSortable }.joined(separator: ", "))
        }
        guard field.type.isSortable else {
            throw SheduError.badRequest("sort_by '\(text)': a \(field.type.name) field cannot be sorted on")
        }
        return .field(text)
    }

    /// The opaque bookmark of the page after the one that ended at `cursor`.
    public func bookmark(after cursor: PageCursor) -> String {
        Bookmark(
            filters: filters.map(\.text), sortBy: sort.text, descending: descending, pageSize: pageSize,
            cursor: cursor, list: list
        ).encoded()
    }
}

/// One page of a list and the bookmark of the next, if any.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }

    public func map<Other>(_ transform: (Item) throws -> Other) rethrows -> Page<Other> {
        Page<Other>(items: try items.map(transform), next: next)
    }
}

/// The bookmark's content: base64url (no padding) of a small JSON document.
struct Bookmark: Codable, Equatable {
    var filters: [String]
    var sortBy: String
    var descending: Bool
    var pageSize: Int
    var cursor: PageCursor
    /// Absent in bookmarks of earlier versions, which any list accepts.
    var list: String?

    enum CodingKeys: String, CodingKey {
        case filters = "f", sortBy = "s", descending = "d", pageSize = "n", cursor = "c", list = "l"
    }

    init(filters: [String], sortBy: String, descending: Bool, pageSize: Int, cursor: PageCursor, list: String? = nil) {
        self.filters = filters
        self.sortBy = sortBy
        self.descending = descending
        self.pageSize = pageSize
        self.cursor = cursor
        self.list = list
    }

    init(decoding text: String) throws {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let decoded = try? JSONDecoder().decode(Bookmark.self, from: data)
        else {
            throw SheduError.badRequest("bookmark is not one this server issued")
        }
        self = decoded
    }

    func encoded() -> String {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
