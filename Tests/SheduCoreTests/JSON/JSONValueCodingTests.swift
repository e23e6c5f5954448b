import Foundation
import Testing

@testable import SheduCore

@Suite("JSONValue parser and encoder")
struct JSONValueCodingTests {
    /// What Foundation makes of the same text: the reference the parser must agree with.
    func foundationValue(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static let goodDocuments: [String] = [
        "null", "true", "false", "0", "-0", "42", "-17", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "1.5", "6.02e+23", "1e-7", #""""#, #""plain""#,
        #""esc \" \\ \/ \b \f \n \r \t""#, #""\u00e9\u4e2d""#, #""\ud83d\ude00 smile""#, #""naïve ünïcödé 🎉""#,
        "[]", "[1,2,3]", " [ 1 , [ 2 , [ ] ] ] ", "{}", #"{"a":1,"b":[true,null],"c":{"d":"e"}}"#,
        "\n\t{ \"spaced\" :\r\n \"out\" }\n", #"{"lamassu.io/ra/attached-to":{"device_id":"d1"}}"#,
    ]

    @Test("parses what Foundation parses, to the same value", arguments: goodDocuments)
    func agreesWithFoundation(text: String) throws {
        #expect(try JSONValueParser.parse(text) == foundationValue(text))
    }

    @Test("integral numbers are integers however they are written, as the encoder makes them")
    func integralNumbers() throws {
        #expect(try JSONValueParser.parse("[1, 1.0, 1e0, -2.25e3, 0.5]") == .array([1, 1, 1, -2250, 0.5]))
        #expect(try JSONValueParser.parse("12345678901234567890") == .double(12345678901234567890))
        #expect(try JSONValueEncoder.encode([1.0, 0.5]) == JSONValueParser.parse("[1, 0.5]"))
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var text: String
        var reason: String
        var offset: Int
        /// Foundation's decoder tolerates trailing commas; the parser keeps to RFC 8259.
        var foundationTolerates = false
        var testDescription: String { text.debugDescription }
    }

    static let badDocuments: [Bad] = [
        Bad(text: "", reason: "unexpected end of the document", offset: 0),
        Bad(text: "   ", reason: "unexpected end of the document", offset: 3),
        Bad(text: "{", reason: "expected a member name in quotes", offset: 1),
        Bad(text: #"{"a" 1}"#, reason: "expected ':' after a member name", offset: 5),
        Bad(text: #"{"a":1,}"#, reason: "expected a member name in quotes", offset: 7, foundationTolerates: true),
        Bad(text: #"{"a":1 "b":2}"#, reason: "expected ',' or '}' in an object", offset: 7),
        Bad(text: "{a:1}", reason: "expected a member name in quotes", offset: 1),
        Bad(text: "[1,]", reason: "unexpected character", offset: 3, foundationTolerates: true),
        Bad(text: "[1 2]", reason: "expected ',' or ']' in an array", offset: 3),
        Bad(text: "[", reason: "unexpected end of the document", offset: 1),
        Bad(text: "tru", reason: "unexpected end of the document", offset: 0),
        Bad(text: "nul1", reason: "unexpected character", offset: 0),
        Bad(text: "01", reason: "unexpected text after the document", offset: 1),
        Bad(text: "+1", reason: "unexpected character", offset: 0),
        Bad(text: "1.", reason: "expected a digit after '.'", offset: 2),
        Bad(text: ".5", reason: "unexpected character", offset: 0),
        Bad(text: "1e", reason: "expected a digit in the exponent", offset: 2),
        Bad(text: "-", reason: "expected a digit", offset: 1),
        Bad(text: "1e999", reason: "number out of range", offset: 0),
        Bad(text: #""open"#, reason: "unterminated string", offset: 5),
        Bad(text: "\"tab\there\"", reason: "control character in a string", offset: 4),
        Bad(text: #""bad \x escape""#, reason: "unknown escape in a string", offset: 6),
        Bad(text: #""\u12""#, reason: #"unterminated \u escape"#, offset: 3),
        Bad(text: #""\u12G4""#, reason: #"bad hex digit in a \u escape"#, offset: 5),
        Bad(text: #""\ud83d alone""#, reason: #"unpaired surrogate in a \u escape"#, offset: 7),
        Bad(text: #""\ude00""#, reason: #"unpaired surrogate in a \u escape"#, offset: 7),
        Bad(text: "{} {}", reason: "unexpected text after the document", offset: 3),
        Bad(text: "'single'", reason: "unexpected character", offset: 0),
    ]

    @Test("refuses what is not JSON, saying where", arguments: badDocuments)
    func refusesBadDocuments(bad: Bad) {
        #expect(throws: JSONValueParser.Failure(reason: bad.reason, offset: bad.offset)) {
            try JSONValueParser.parse(bad.text)
        }
        if !bad.foundationTolerates {
            #expect(throws: (any Error).self) { try foundationValue(bad.text) }
        }
    }

    @Test("refuses invalid UTF-8 instead of repairing it")
    func refusesInvalidUTF8() {
        let bytes: [UInt8] = [UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")]
        #expect(throws: JSONValueParser.Failure(reason: "string is not valid UTF-8", offset: 4)) {
            try JSONValueParser.parse(utf8: bytes)
        }
    }

    @Test("stops at its depth limit instead of exhausting the stack")
    func depthLimit() throws {
        let limit = JSONValueParser.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(throws: Never.self) { try JSONValueParser.parse(deepest) }
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: JSONValueParser.Failure(reason: "nested deeper than \(limit) levels", offset: limit)) {
            try JSONValueParser.parse(tooDeep)
        }
    }

    @Test("a parse error names the field and the place")
    func parseErrorMessage() {
        #expect(throws: SheduError.badRequest("metadata is not valid JSON: expected ':' after a member name at offset 5")) {
            try JSONValue.parse(#"{"a" 1}"#, field: "metadata")
        }
    }

    // MARK: Encoder

    enum Color: String, Codable { case red, green }

    struct Leaf: Codable {
        var name: String
        var weight: Double
        var ratio: Float
        var count: UInt8
        var optional: String?
        var explicitNull: String?

        enum CodingKeys: String, CodingKey { case name, weight, ratio, count, optional, explicitNull = "explicit_null" }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(weight, forKey: .weight)
            try container.encode(ratio, forKey: .ratio)
            try container.encode(count, forKey: .count)
            try container.encodeIfPresent(optional, forKey: .optional)
            try container.encode(explicitNull, forKey: .explicitNull)
        }
    }

    struct Tree: Codable {
        var id: String
        var created: Date
        var bytes: Data
        var site: URL
        var color: Color
        var leaves: [Leaf]
        var byName: [String: Leaf]
        var byNumber: [Int: String]
        var matrix: [[Int64]]
        var metadata: [String: JSONValue]
        var skipped: Int?
        var huge: UInt64
    }

    static let tree = Tree(
        id: "t-1", created: Date(timeIntervalSince1970: 1_764_000_000.25), bytes: Data([0, 1, 254, 255]),
        site: URL(string: "https://pki.example.com/est?x=1")!, color: .green,
        leaves: [
            Leaf(name: "whole", weight: 2, ratio: 0.5, count: 3, optional: "here", explicitNull: nil),
            Leaf(name: "fraction", weight: -0.125, ratio: 4, count: 255, optional: nil, explicitNull: "set"),
        ],
        byName: ["a": Leaf(name: "a", weight: 1e20, ratio: 1, count: 0, optional: nil, explicitNull: nil)],
        byNumber: [1: "one", 20: "twenty"], matrix: [[1, 2], [], [-3]],
        metadata: ["nested": ["list": [1, "two", .null, true]], "pi": 3.25, "empty": [:]], skipped: nil,
        huge: UInt64.max)

    @Test("builds what a JSONEncoder round trip builds")
    func encoderAgreesWithRoundTrip() throws {
        let roundTrip = try JSONDecoder().decode(JSONValue.self, from: DomainJSON.encoder.encode(Self.tree))
        let direct = try JSONValueEncoder.encode(Self.tree)
        #expect(direct == roundTrip)
        #expect(direct["created"] == .string(RFC3339.format(Self.tree.created)))
        #expect(direct["skipped"] == nil)
        #expect(direct["leaves"]?.arrayValue?.first?["explicit_null"] == .null)
    }

    @Test("a domain object's event payload is its API form")
    func domainObject() throws {
        var settings = DMSSettings(issuanceProfileID: "device-profile")
        settings.enrollment.enrollmentCA = "issuing-ca-01"
        settings.enrollment.est.clientCertificate.validationCAs = ["bootstrap-ca"]
        let dms = DMS(
            id: "factory-a", name: "Factory A", metadata: ["site": "lyon"], creationDate: Date(timeIntervalSince1970: 1_700_000_000),
            settings: settings)
        let roundTrip = try JSONDecoder().decode(JSONValue.self, from: DomainJSON.encoder.encode(dms))
        #expect(try DomainJSON.value(dms) == roundTrip)
        #expect(try DomainJSON.value(dms).jsonText() == roundTrip.jsonText())
    }

    @Test("refuses numbers JSON cannot carry")
    func nonFiniteNumbers() {
        #expect(throws: EncodingError.self) { try JSONValueEncoder.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONValueEncoder.encode(["x": Double.infinity]) }
    }

    @Test("written text parses back to the same value", arguments: goodDocuments)
    func writtenTextRoundTrips(text: String) throws {
        let value = try JSONValueParser.parse(text)
        #expect(try JSONValueParser.parse(value.jsonText()) == value)
    }

    @Test("writes compact text with sorted keys and only the escapes JSON needs")
    func writtenText() {
        let value: JSONValue = [
            "b": [1, -2, .int(Int64.min), .int(Int64.max), 0, 2.5, true, .null],
            "a": "quote \" backslash \\ newline \n tab \t bell \u{07} slash / é 🎉",
            "": .emptyObject,
        ]
        #expect(
            value.jsonText()
                == #"{"":{},"a":"quote \" backslash \\ newline \n tab \t bell \u0007 slash / é 🎉","b":[1,-2,-9223372036854775808,9223372036854775807,0,2.5,true,null]}"#
        )
        var quoted = "prefix "
        JSONValue.writeString("a\"b", to: &quoted)
        #expect(quoted == #"prefix "a\"b""#)
    }
}
