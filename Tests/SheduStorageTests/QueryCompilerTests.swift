import Foundation
import SQLKit
import SheduTestSupport
import Testing

@testable import SheduCore
@testable import SheduStorage

/// The list query compiler against real SQLite and PostgreSQL: every filter operator and JSONPath
/// form returns exactly the rows a plain Swift evaluation of the same filter selects, and paging
/// with bookmarks returns every row once, in order.
@Suite("List queries compiled to SQL")
struct QueryCompilerTests {
    struct Sample {
        var id: String
        var name: String?
        var status: String
        var tags: [String]
        var metadata: JSONValue
        var created: Int64
        var size: Double
        var flag: Bool
        /// An INTEGER column read as a number (as CA levels and key sizes are).
        var rank: Int
    }

    static let fields = FieldSet(
        [
            FieldDefinition("id", .string), FieldDefinition("name", .string),
            FieldDefinition("status", .enumeration(["ACTIVE", "EXPIRED", "REVOKED"])),
            FieldDefinition("tags", .stringArray), FieldDefinition("metadata", .json),
            FieldDefinition("created", .date), FieldDefinition("size", .number), FieldDefinition("rank", .number),
            FieldDefinition("flag", .enumeration(["true", "false"])),
        ], defaultSort: "id")

    static let baseTime: Int64 = 1_773_050_400_000

    /// A fixed, varied data set (seeded generator, so failures reproduce).
    static let samples: [Sample] = {
        var seed: UInt64 = 42
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        let names = ["alpha", "Alpha", "beta", "gamma", "delta", "ALPHABET", "phi"]
        let locations: [JSONValue] = ["factory-floor-3", "warehouse-2", "Lab", "lab", 3, true]
        let allTags = ["sensor", "production", "gateway", "Sensor", "staging"]
        return (0..<240).map { index in
            var metadata: [String: JSONValue] = [:]
            if next(5) > 0 { metadata["location"] = locations[next(locations.count)] }
            switch next(6) {
            case 0: metadata["n"] = .int(Int64(next(12)))
            case 1: metadata["n"] = .double(Double(next(100)) / 8)
            case 2: metadata["n"] = "7"
            case 3: metadata["n"] = .null
            default: break
            }
            if next(3) == 0 { metadata["ok"] = .bool(next(2) == 0) }
            if next(4) == 0 { metadata["nested"] = ["x": .int(Int64(next(3)))] }
            if next(4) == 0 { metadata["list"] = .array([.int(Int64(next(3))), "b"]) }
            if next(5) == 0 { metadata["lamassu.io/ra/attached-to"] = ["device_id": .string("d-\(next(5))")] }
            if next(6) == 0 { metadata["nullish"] = .null }
            // Keys that need escaping in a JSON path (without a draw, not to move the others).
            if index % 7 == 0 {
                metadata["back\\slash"] = "bs"
                metadata["q\"uote"] = .int(Int64(index % 3))
            }
            let drawnName = next(6) == 0 ? nil : names[next(names.count)]
            return Sample(
                // A name with a letter outside ASCII, which `_ic` operators do not fold.
                id: String(format: "s%04d", (index * 7919) % 240), name: index % 13 == 0 ? "Ärger" : drawnName,
                status: ["ACTIVE", "EXPIRED", "REVOKED"][next(3)],
                tags: (0..<next(3)).map { _ in allTags[next(allTags.count)] }, metadata: .object(metadata),
                created: baseTime + Int64(next(50)) * 1000 + Int64(next(2)) * 500, size: Double(next(200)) / 2,
                flag: next(2) == 0, rank: (index * 31) % 17)
        }
    }()

    static func makeTable(_ database: SheduDatabase) async throws -> ListQueryCompiler {
        let dialect = database.dialect
        try await database.write { db in
            try await db.raw(
                """
                CREATE TABLE samples (id \(unsafeRaw: dialect.textType) PRIMARY KEY, name \(unsafeRaw: dialect.textType),
                status \(unsafeRaw: dialect.textType) NOT NULL, tags \(unsafeRaw: dialect.jsonType) NOT NULL,
                metadata \(unsafeRaw: dialect.jsonType) NOT NULL, created BIGINT NOT NULL, size DOUBLE PRECISION NOT NULL,
                flag \(unsafeRaw: dialect.booleanType) NOT NULL, rank INTEGER NOT NULL)
                """
            ).run()
            for sample in samples {
                let tags = JSONValue.array(sample.tags.map { .string($0) }).jsonText()
                try await db.raw(
                    """
                    INSERT INTO samples VALUES (\(bind: sample.id), \(bind: sample.name), \(bind: sample.status),
                    \(dialect.jsonBind(tags)), \(dialect.jsonBind(sample.metadata.jsonText())), \(bind: sample.created),
                    \(bind: sample.size), \(bind: sample.flag), \(bind: sample.rank))
                    """
                ).run()
            }
        }
        return ListQueryCompiler(
            dialect: dialect,
            table: ResourceTable(
                from: "samples", primaryKey: "id",
                columns: [
                    // As a long random key's index (subject_key_id): of the first characters only.
                    "id": .init("id", .text, indexedPrefix: 3), "name": .init("name", .text, nullable: true),
                    "status": .init("status", .text), "tags": .init("tags", .jsonStringArray),
                    "metadata": .init("metadata", .json), "created": .init("created", .epochMilliseconds),
                    "size": .init("size", .number), "flag": .init("flag", .boolean), "rank": .init("rank", .number),
                ]))
    }

    static let filterTexts: [String] = [
        "name[eq]alpha", "name[eq_ic]ALPHA", "name[ne]alpha", "name[ne_ic]ALPHA", "name[ct]ph", "name[ct_ic]PH",
        "name[nc]ph", "name[nc_ic]PH", "name[in]alpha,beta", "name[in_ic]ALPHA,Beta", "name[nin]alpha,beta",
        "name[nin_ic]ALPHA,beta", "name[ct_ic]RGER", "name[eq_ic]ärger", "name[ne_ic]äRGER", "status[eq]ACTIVE", "status[ne]REVOKED", "status[in]ACTIVE,EXPIRED",
        "tags[ct]sensor", "tags[ct_ic]SENSOR", "tags[contains]staging", "size[gt]50", "size[le]10.5", "size[eq]20",
        "size[ne]20", "size[lt]3", "size[ge]95", "created[af]2026-03-09T10:00:20Z", "created[bf]2026-03-09T10:00:10Z",
        "created[eq]2026-03-09T10:00:05Z", "created[af]2026-03-09", "created[eq]2026-03-09", "created[eq]2026-03-09T10:00:20.5Z", "flag[eq]true", "flag[ne]true",
        "flag[in]true,false", "id[in]s0001,s0002,nope", "id[eq]s0003", "id[ne]s0003", "id[in]s0004", "id[eq]s",
        #"metadata[jsonpath]$.location == "factory-floor-3""#, #"metadata[jsonpath]$.location != "factory-floor-3""#,
        "metadata[jsonpath]$.n > 5", "metadata[jsonpath]$.n <= 3", "metadata[jsonpath]$.n == 7",
        #"metadata[jsonpath]$.n == "7""#, "metadata[jsonpath]$.n != 7", "metadata[jsonpath]$.ok == true",
        "metadata[jsonpath]$.ok != true", "metadata[jsonpath]$.ok == false", "metadata[jsonpath]exists($.nested.x)",
        "metadata[jsonpath]!exists($.ok)", "metadata[jsonpath]$.nullish == null", "metadata[jsonpath]$.n != null",
        "metadata[jsonpath]$.n == null", #"metadata[jsonpath]$.location < "m""#, #"metadata[jsonpath]"m" <= $.location"#,
        #"metadata[jsonpath]$['lamassu.io/ra/attached-to'].device_id == "d-3""#, "metadata[jsonpath]$.list[0] == 1",
        "metadata[jsonpath]$.list[1] == 1", #"metadata[jsonpath]$.list[1] == "b""#, "metadata[jsonpath]$.location == 3", "metadata[jsonpath]$.location == true",
        #"metadata[jsonpath]$.location == "Lab" || $.n > 10 && !($.ok == false)"#,
        #"metadata[jsonpath]!($.location == "Lab" || exists($.nested))"#, "metadata[jsonpath]$.nested.x.y == 1",
        #"metadata[jsonpath]$['back\\slash'] == "bs""#, #"metadata[jsonpath]exists($['back\\slash'])"#,
        #"metadata[jsonpath]$['q"uote'] == 1"#,
    ]

    @Test(arguments: TestBackend.available)
    func filtersSelectWhatSwiftSelects(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        let compiler = try await Self.makeTable(database)
        for text in Self.filterTexts {
            let filter = try Filter(parsing: text, fields: Self.fields)
            let query = ListQuery(filters: [filter], sort: .field("id"), pageSize: 1000)
            let page = try await database.read { db in
                try await compiler.page(query, on: db, columns: "id") { try $0.decode(column: "id", as: String.self) }
            }
            let expected = Self.samples.filter { Oracle.matches($0, filter) }.map(\.id).sorted()
            #expect(page.items == expected, "\(backend) \(text)")
            // Only the filters that test a type mismatch or a missing path may select nothing.
            let mayBeEmpty = ["$.nested.x.y == 1", "$.list[1] == 1", "name[eq_ic]ärger", "id[eq]s"].contains { text.hasSuffix($0) }
            #expect(!expected.isEmpty || mayBeEmpty, "\(text) selects nothing")
        }
        await database.close()
        await scratch.drop()
    }

    static let orders: [(SortKey, Bool)] = [
        (.field("id"), false), (.field("id"), true), (.field("name"), false), (.field("name"), true),
        (.field("created"), false), (.field("created"), true), (.field("size"), true), (.field("status"), false),
        // An INTEGER and a BOOLEAN column: PostgreSQL hands them back typed, not as the double and
        // integer a bookmark holds (a 500 on every page with a next one).
        (.field("rank"), false), (.field("rank"), true), (.field("flag"), false), (.field("flag"), true),
        (.jsonPath(field: "metadata", path: .init(components: [.key("n")])), false),
        (.jsonPath(field: "metadata", path: .init(components: [.key("n")])), true),
        (.jsonPath(field: "metadata", path: .init(components: [.key("location")])), false),
    ]

    @Test(arguments: TestBackend.available)
    func bookmarksVisitEveryRowOnceInOrder(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        let compiler = try await Self.makeTable(database)
        let filter = try Filter(parsing: "status[ne]REVOKED", fields: Self.fields)
        for (sort, descending) in Self.orders {
            for pageSize in [1, 7, 500] {
                var query = ListQuery(filters: [filter], sort: sort, descending: descending, pageSize: pageSize)
                var seen: [String] = []
                while true {
                    let current = query
                    let page = try await database.read { db in
                        try await compiler.page(current, on: db, columns: "id") { try $0.decode(column: "id", as: String.self) }
                    }
                    seen += page.items
                    guard let next = page.next else { break }
                    query = try ListQuery(
                        filters: [], sortBy: nil, sortMode: nil, pageSize: nil, bookmark: next, fields: Self.fields)
                }
                let expected = Oracle.sorted(Self.samples.filter { $0.status != "REVOKED" }, by: sort, descending: descending)
                #expect(seen == expected, "\(backend) \(sort) desc=\(descending) page=\(pageSize)")
            }
        }
        await database.close()
        await scratch.drop()
    }
}

/// A plain Swift reading of the filter semantics, to check the SQL against.
enum Oracle {
    typealias Sample = QueryCompilerTests.Sample

    static func matches(_ sample: Sample, _ filter: Filter) -> Bool {
        switch filter.field.name {
        case "tags":
            guard case .string(let value) = filter.value else { return false }
            return filter.op == .containsIgnoreCase
                ? sample.tags.contains { $0.lowercased() == value.lowercased() } : sample.tags.contains(value)
        case "metadata":
            guard case .jsonPath(let predicate) = filter.value else { return false }
            return evaluate(predicate, sample.metadata)
        case "size":
            guard case .number(let value) = filter.value else { return false }
            switch filter.op {
            case .equal: return sample.size == value
            case .notEqual: return sample.size != value
            case .less: return sample.size < value
            case .lessOrEqual: return sample.size <= value
            case .greater: return sample.size > value
            default: return sample.size >= value
            }
        case "created":
            guard case .date(let date, let span) = filter.value else { return false }
            let instant = date.epochMilliseconds
            switch filter.op {
            case .before: return sample.created < instant
            case .after: return sample.created > instant
            default: return sample.created >= instant && sample.created < instant + span
            }
        case "flag":
            return string(filter, sample.flag ? "true" : "false")
        case "status":
            return string(filter, sample.status)
        case "id":
            return string(filter, sample.id)
        default:
            return string(filter, sample.name)
        }
    }

    static func string(_ filter: Filter, _ field: String?) -> Bool {
        let values: [String]
        switch filter.value {
        case .string(let value): values = [value]
        case .strings(let list): values = list
        default: return false
        }
        // `_ic` folds ASCII letters only, on both stores.
        func fold(_ text: String) -> String {
            String(String.UnicodeScalarView(text.unicodeScalars.map { ("A"..."Z").contains($0) ? Unicode.Scalar($0.value + 32)! : $0 }))
        }
        let lowered = field.map(fold)
        switch filter.op {
        case .equal: return field == values[0]
        case .equalIgnoreCase: return lowered == fold(values[0])
        case .notEqual: return field != values[0]
        case .notEqualIgnoreCase: return lowered != fold(values[0])
        case .contains: return field?.contains(values[0]) ?? false
        case .containsIgnoreCase: return lowered?.contains(fold(values[0])) ?? false
        case .notContains: return !(field?.contains(values[0]) ?? false)
        case .notContainsIgnoreCase: return !(lowered?.contains(fold(values[0])) ?? false)
        case .in: return field.map(values.contains) ?? false
        case .inIgnoreCase: return lowered.map { values.map(fold).contains($0) } ?? false
        case .notIn: return !(field.map(values.contains) ?? false)
        case .notInIgnoreCase: return !(lowered.map { values.map(fold).contains($0) } ?? false)
        default: return false
        }
    }

    static func resolve(_ path: JSONPathExpression, _ document: JSONValue) -> JSONValue? {
        var current = document
        for component in path.components {
            switch (component, current) {
            case (.key(let key), .object(let members)):
                guard let next = members[key] else { return nil }
                current = next
            case (.index(let index), .array(let elements)):
                guard index < elements.count else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    static func evaluate(_ predicate: JSONPathPredicate, _ document: JSONValue) -> Bool {
        switch predicate {
        case .and(let left, let right): return evaluate(left, document) && evaluate(right, document)
        case .or(let left, let right): return evaluate(left, document) || evaluate(right, document)
        case .not(let inner): return !evaluate(inner, document)
        case .exists(let path): return resolve(path, document) != nil
        case .compare(let path, let comparison, let literal):
            guard let value = resolve(path, document) else { return false }
            switch (literal, value) {
            case (.null, _):
                switch comparison {
                case .equal: return value == .null
                case .notEqual: return value != .null
                default: return false
                }
            case (.bool(let expected), .bool(let actual)):
                switch comparison {
                case .equal: return actual == expected
                case .notEqual: return actual != expected
                default: return false
                }
            case (.number(let expected), _):
                guard let actual = value.numberValue else { return false }
                return compare(actual, comparison, expected)
            case (.string(let expected), .string(let actual)):
                return compare(actual, comparison, expected)
            default:
                return false
            }
        }
    }

    static func compare<T: Comparable>(_ left: T, _ comparison: JSONPathComparison, _ right: T) -> Bool {
        switch comparison {
        case .equal: left == right
        case .notEqual: left != right
        case .less: left < right
        case .lessOrEqual: left <= right
        case .greater: left > right
        case .greaterOrEqual: left >= right
        }
    }

    /// NULL sorts as the largest value; ties are broken by id.
    static func sorted(_ samples: [Sample], by sort: SortKey, descending: Bool) -> [String] {
        enum Key: Comparable {
            case value(Double, String)
            case missing
        }
        func keys(_ sample: Sample) -> [Key] {
            switch sort {
            case .field("name"): return [sample.name.map { .value(0, $0) } ?? .missing]
            case .field("created"): return [.value(Double(sample.created), "")]
            case .field("size"): return [.value(sample.size, "")]
            case .field("rank"): return [.value(Double(sample.rank), "")]
            case .field("flag"): return [.value(sample.flag ? 1 : 0, "")]
            case .field("status"): return [.value(0, sample.status)]
            case .field: return []
            case .jsonPath(_, let path):
                let value = resolve(path, sample.metadata)
                return [
                    value?.numberValue.map { .value($0, "") } ?? .missing,
                    value?.stringValue.map { .value(0, $0) } ?? .missing,
                ]
            }
        }
        func less(_ a: [Key], _ b: [Key]) -> Bool {
            for (left, right) in zip(a, b) where left != right {
                if case .value(let x, let s) = left, case .value(let y, let t) = right {
                    return x != y ? x < y : Array(s.utf8).lexicographicallyPrecedes(Array(t.utf8))
                }
                // A missing value (NULL) sorts first: before every value ascending, after them descending.
                return left == .missing
            }
            return false
        }
        let ordered = samples.sorted { first, second in
            let a = keys(first)
            let b = keys(second)
            if a != b { return less(a, b) }
            return first.id < second.id
        }.map(\.id)
        return descending ? ordered.reversed() : ordered
    }
}
