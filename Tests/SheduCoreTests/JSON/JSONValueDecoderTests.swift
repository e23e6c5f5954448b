import Foundation
import Testing

@testable import SheduCore

@Suite("JSONValue decoder")
struct JSONValueDecoderTests {
    struct Settings: Codable, Equatable {
        var mode: String
        var retries: Int?
        var ratio: Double?
        var enabled: Bool
        var names: [String]
        var limits: [String: Int]
        var nested: [[Int]]
        var metadata: [String: JSONValue]
        var child: Child?
    }

    struct Child: Codable, Equatable {
        var id: String
        var weight: UInt8
    }

    static let document = #"""
        {"mode": "strict", "retries": 3, "ratio": 2, "enabled": true, "names": ["a", "é"], "limits": {"x": 1, "y": -2},
         "nested": [[1], [], [2, 3]], "metadata": {"n": 1, "f": 1.5, "s": "t", "a": [null, {"k": false}]},
         "child": {"id": "c", "weight": 255}, "ignored": {"deep": [1]}}
        """#

    @Test("decodes what Foundation decodes, to the same value; metadata keeps integers apart from doubles")
    func agreesWithFoundation() throws {
        let ours = try JSONValueDecoder.decode(Settings.self, utf8: Array(Self.document.utf8))
        let foundation = try JSONDecoder().decode(Settings.self, from: Data(Self.document.utf8))
        #expect(ours == foundation)
        #expect(ours.metadata["n"] == .int(1))
        #expect(ours.metadata["f"] == .double(1.5))
        #expect(ours.ratio == 2)
    }

    @Test("absent and null optionals are nil")
    func optionals() throws {
        let text = #"{"mode":"m","retries":null,"enabled":false,"names":[],"limits":{},"nested":[],"metadata":{}}"#
        let decoded = try JSONValueDecoder.decode(Settings.self, utf8: Array(text.utf8))
        #expect(decoded.retries == nil && decoded.ratio == nil && decoded.child == nil)
    }

    /// The 400 message a client reads, for each kind of mistake.
    func message(_ text: String) -> String? {
        do {
            _ = try DomainJSON.decodeRequest(Settings.self, utf8: Array(text.utf8))
            return nil
        } catch let error as SheduError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test("a malformed body is a 400 naming the field and what it must be")
    func errorsNameTheField() {
        let base = #""names":[],"limits":{},"nested":[],"metadata":{}"#
        #expect(message(#"{"enabled":true,\#(base)}"#) == "mode is required")
        #expect(message(#"{"mode":1,"enabled":true,\#(base)}"#) == "mode must be a string")
        #expect(message(#"{"mode":null,"enabled":true,\#(base)}"#) == "mode must be a string, not null")
        #expect(message(#"{"mode":"m","enabled":"yes",\#(base)}"#) == "enabled must be a boolean")
        #expect(message(#"{"mode":"m","enabled":true,"names":["a",2],"limits":{},"nested":[],"metadata":{}}"#) == "names[1] must be a string")
        #expect(message(#"{"mode":"m","enabled":true,"names":[],"limits":{},"nested":[[1,"x"]],"metadata":{}}"#) == "nested[0][1] must be an integer")
        #expect(message(#"{"mode":"m","enabled":true,\#(base),"child":{"id":"c","weight":256}}"#) == "child.weight: number 256 does not fit in UInt8")
        #expect(message(#"{"mode":"m","retries":1.5,"enabled":true,\#(base)}"#) == "retries: number 1.5 is not an integer")
        #expect(message(#"{"mode":"m","enabled":true,"names":[],"limits":{},"nested":[],"metadata":[]}"#) == "metadata must be an object")
        #expect(message(#"{"mode":"m","enabled":true,\#(base),"child":{}}"#) == "child.id is required")
        #expect(message(#"{"mode":"m","enabled":true,\#(base),}"#) == "request body is not valid JSON: expected a member name in quotes at offset 76")
        #expect(message("[]") == "body must be an object")
    }

    struct Stamped: Decodable {
        var at: Date
    }

    @Test("times are RFC 3339; anything else is a 400 naming the field")
    func times() throws {
        let decoded = try JSONValueDecoder.decode(Stamped.self, utf8: Array(#"{"at":"2026-12-02T10:00:00.5Z"}"#.utf8))
        #expect(decoded.at == Date(timeIntervalSince1970: 1_796_205_600.5))
        #expect(throws: SheduError.badRequest("at must be an RFC 3339 time")) {
            try JSONValueDecoder.decode(Stamped.self, utf8: Array(#"{"at":"yesterday"}"#.utf8))
        }
    }
}
