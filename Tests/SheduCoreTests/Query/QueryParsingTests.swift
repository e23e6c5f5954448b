import Foundation
import Testing

@testable import SheduCore

@Suite("Filters, sorting, page sizes and bookmarks")
struct QueryParsingTests {
    static let fields = FieldSet(
        [
            FieldDefinition("id", .string), FieldDefinition("status", .enumeration(["ACTIVE", "REVOKED"])),
            FieldDefinition("tags", .stringArray), FieldDefinition("metadata", .json),
            FieldDefinition("creation_timestamp", .date), FieldDefinition("size", .number),
            FieldDefinition("subject.common_name", .string),
        ], defaultSort: "creation_timestamp", descending: true)

    @Test(arguments: [
        ("status[eq]ACTIVE", "status", FilterOperator.equal, Filter.Value.string("ACTIVE")),
        ("status[eq]=ACTIVE", "status", .equal, .string("ACTIVE")),
        ("status[EQUAL]ACTIVE", "status", .equal, .string("ACTIVE")),
        ("status[in]ACTIVE,REVOKED", "status", .in, .strings(["ACTIVE", "REVOKED"])),
        ("id[ct_ic]dev", "id", .containsIgnoreCase, .string("dev")),
        ("id[contains]a=b", "id", .contains, .string("a=b")),
        ("id[nin]a,,b", "id", .notIn, .strings(["a", "b"])),
        ("id[eq]", "id", .equal, .string("")),
        ("tags[contains]sensor", "tags", .contains, .string("sensor")),
        ("size[ge]3.5", "size", .greaterOrEqual, .number(3.5)),
        ("creation_timestamp[after]2026-03-09", "creation_timestamp", .after,
         .date(Date(timeIntervalSince1970: 1_773_014_400), spanMilliseconds: 86_400_000)),
        ("creation_timestamp[bf]=2026-03-09T10:00:00Z", "creation_timestamp", .before,
         .date(Date(timeIntervalSince1970: 1_773_050_400))),
        ("subject.common_name[eq]x", "subject.common_name", .equal, .string("x")),
    ])
    func parsesGoodFilters(_ text: String, _ field: String, _ op: FilterOperator, _ value: Filter.Value) throws {
        let filter = try Filter(parsing: text, fields: Self.fields)
        #expect(filter.field.name == field)
        #expect(filter.op == op)
        #expect(filter.value == value)
    }

    @Test(arguments: [
        ("status", "must look like field[operator]value"),
        ("status[eq", "must look like field[operator]value"),
        ("nope[eq]x", "'nope' is not filterable"),
        ("status[ct]ACT", "operator 'ct' does not apply to field 'status' of type enum"),
        ("status[eq]DELETED", "must be one of: ACTIVE, REVOKED"),
        ("tags[eq]x", "does not apply to field 'tags' of type string array"),
        ("size[eq]big", "must be a number"),
        ("creation_timestamp[af]yesterday", "must be an RFC 3339 time or YYYY-MM-DD"),
        ("creation_timestamp[gt]2026-01-01", "operator 'gt' does not apply"),
        ("metadata[eq]x", "operator 'eq' does not apply to field 'metadata' of type json"),
        ("metadata[jsonpath]location == 1", "must start with '$'"),
    ])
    func refusesBadFilters(_ text: String, _ message: String) throws {
        let error = try #require(throws: SheduError.self) { try Filter(parsing: text, fields: Self.fields) }
        #expect(error.kind == .badRequest)
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test func listQueryDefaultsAndLimits() throws {
        let defaults = try ListQuery(filters: [], sortBy: nil, sortMode: nil, pageSize: nil, bookmark: nil, fields: Self.fields)
        #expect(defaults.pageSize == 25)
        #expect(defaults.sort == .field("creation_timestamp"))
        #expect(defaults.descending)
        let big = try ListQuery(filters: [], sortBy: "id", sortMode: "ASC", pageSize: "5000", bookmark: nil, fields: Self.fields)
        #expect(big.pageSize == 1000)
        #expect(big.sort == .field("id"))
        #expect(!big.descending)
        let byMetadata = try ListQuery(
            filters: [], sortBy: "metadata[jsonpath]$.a.b", sortMode: "desc", pageSize: "10", bookmark: nil,
            fields: Self.fields)
        #expect(byMetadata.sort == .jsonPath(field: "metadata", path: .init(components: [.key("a"), .key("b")])))
    }

    @Test(arguments: [
        (nil, nil, "0", "page_size '0' must be a positive integer"),
        (nil, nil, "ten", "page_size 'ten' must be a positive integer"),
        ("tags", nil, nil, "a string array field cannot be sorted on"),
        ("unknown", nil, nil, "sort_by 'unknown' is not a sortable field"),
        ("id", "sideways", nil, "sort_mode 'sideways' must be asc or desc"),
        ("id[jsonpath]$.a", nil, nil, "'id' is not a JSON field"),
    ] as [(String?, String?, String?, String)])
    func refusesBadListParameters(_ sortBy: String?, _ sortMode: String?, _ pageSize: String?, _ message: String) throws {
        let error = try #require(throws: SheduError.self) {
            try ListQuery(filters: [], sortBy: sortBy, sortMode: sortMode, pageSize: pageSize, bookmark: nil, fields: Self.fields)
        }
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test func bookmarkCarriesFiltersSortAndPageSize() throws {
        let first = try ListQuery(
            filters: ["status[eq]ACTIVE", "tags[ct]a"], sortBy: "id", sortMode: "desc", pageSize: "7", bookmark: nil,
            fields: Self.fields)
        let cursor = PageCursor(sortValues: [.string("dev-9")], key: "dev-9")
        let bookmark = first.bookmark(after: cursor)
        #expect(!bookmark.contains("="))
        #expect(!bookmark.contains("+") && !bookmark.contains("/"))
        let second = try ListQuery(filters: [], sortBy: nil, sortMode: nil, pageSize: nil, bookmark: bookmark, fields: Self.fields)
        #expect(second.filters.map(\.text) == ["status[eq]ACTIVE", "tags[ct]a"])
        #expect(second.sort == .field("id"))
        #expect(second.descending)
        #expect(second.pageSize == 7)
        #expect(second.cursor == cursor)
        let resized = try ListQuery(filters: [], sortBy: nil, sortMode: nil, pageSize: "3", bookmark: bookmark, fields: Self.fields)
        #expect(resized.pageSize == 3)
    }

    @Test(arguments: ["garbage!", "e30", "eyJmIjpbXX0"])
    func refusesForeignBookmarks(_ bookmark: String) {
        #expect(throws: SheduError.self) {
            try ListQuery(filters: [], sortBy: nil, sortMode: nil, pageSize: nil, bookmark: bookmark, fields: Self.fields)
        }
    }

    @Test func bookmarkFiltersAreCheckedAgain() throws {
        let other = FieldSet([FieldDefinition("name", .string)], defaultSort: "name")
        let bookmark = try ListQuery(
            filters: ["name[eq]x"], sortBy: nil, sortMode: nil, pageSize: nil, bookmark: nil, fields: other
        ).bookmark(after: PageCursor(sortValues: [.string("x")], key: "x"))
        #expect(throws: SheduError.self) {
            try ListQuery(filters: [], sortBy: nil, sortMode: nil, pageSize: nil, bookmark: bookmark, fields: Self.fields)
        }
    }
}
