import Testing

@testable import SheduCore

@Suite("JSONPath predicates")
struct JSONPathTests {
    typealias P = JSONPathPredicate
    static func path(_ keys: String...) -> JSONPathExpression {
        JSONPathExpression(components: keys.map { .key($0) })
    }

    @Test(arguments: [
        (#"$.location == "factory-floor-3""#, P.compare(path("location"), .equal, .string("factory-floor-3"))),
        (#"$.a.b != 'x'"#, .compare(path("a", "b"), .notEqual, .string("x"))),
        ("$.n >= 10", .compare(path("n"), .greaterOrEqual, .number(10))),
        ("$.n < -1.5e2", .compare(path("n"), .less, .number(-150))),
        ("10 < $.n", .compare(path("n"), .greater, .number(10))),
        ("$.ok == true", .compare(path("ok"), .equal, .bool(true))),
        ("$.gone == null", .compare(path("gone"), .equal, .null)),
        (#"$['lamassu.io/ra/attached-to'].device_id == "d1""#,
         .compare(path("lamassu.io/ra/attached-to", "device_id"), .equal, .string("d1"))),
        (#"$."firmware-version" == "2""#, .compare(path("firmware-version"), .equal, .string("2"))),
        (#"$.firmware-version == "2""#, .compare(path("firmware-version"), .equal, .string("2"))),
        ("$.list[2] == 1", .compare(JSONPathExpression(components: [.key("list"), .index(2)]), .equal, .number(1))),
        ("exists($.a)", .exists(path("a"))),
        ("!exists($.a)", .not(.exists(path("a")))),
        (#"$.a == 1 && $.b == 2 || $.c == 3"#,
         .or(.and(.compare(path("a"), .equal, .number(1)), .compare(path("b"), .equal, .number(2))),
             .compare(path("c"), .equal, .number(3)))),
        (#"$.a == 1 && ($.b == 2 || $.c == 3)"#,
         .and(.compare(path("a"), .equal, .number(1)),
              .or(.compare(path("b"), .equal, .number(2)), .compare(path("c"), .equal, .number(3))))),
        (#"!($.a == "x\"y")"#, .not(.compare(path("a"), .equal, .string("x\"y")))),
    ])
    func parses(_ text: String, _ expected: JSONPathPredicate) throws {
        #expect(try JSONPathPredicate(parsing: text) == expected)
    }

    @Test(arguments: [
        ("", "empty"), ("$.a", "expected a comparison"), ("$.a = 1", "use == for equality"), ("$.a == ", "expected a string"),
        ("$.a == $.b", "comparing two paths"), ("a == 1", "must start with '$'"), (#"$.a == "x"#, "unterminated string"),
        ("($.a == 1", "expected ')'"), ("$.a == 1 extra", "unexpected 'extra'"), ("$.a[x] == 1", "quoted key or an index"),
        ("$.a ? (@ == 1)", "unexpected '?'"), ("exists $.a", "expected '(' after exists"),
        ("$.a like_regex \"x\"", "expected a comparison"),
        // No stored document holds NUL: SQLite's path syntax broke on it (a 500), PostgreSQL refused it.
        (#"$["a\u0000"] == 1"#, "the NUL character"), (#"$.loc == "\u0000""#, "the NUL character"),
    ])
    func refuses(_ text: String, _ message: String) throws {
        let error = try #require(throws: SheduError.self) { try JSONPathPredicate(parsing: text) }
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test func refusesOverlongAndDeepExpressions() {
        let long = "$.a == \"" + String(repeating: "x", count: 600) + "\""
        #expect(throws: SheduError.self) { try JSONPathPredicate(parsing: long) }
        let deep = String(repeating: "!", count: 40) + "exists($.a)"
        #expect(throws: SheduError.self) { try JSONPathPredicate(parsing: deep) }
    }

    @Test func bareSortPaths() throws {
        #expect(try JSONPathExpression(parsing: "$.a.b") == Self.path("a", "b"))
        #expect(throws: SheduError.self) { try JSONPathExpression(parsing: "$.a == 1") }
        #expect(JSONPathExpression(components: [.key("a b"), .index(1)]).description == #"$["a b"][1]"#)
    }
}
