import Foundation
import Testing

@testable import SheduCore

@Suite("JSON Patch, merge patch and metadata updates")
struct JSONPatchTests {
    func patch(_ json: String) throws -> JSONPatch {
        JSONPatch(try JSONDecoder().decode([JSONPatch.Step].self, from: Data(json.utf8)))
    }

    func value(_ json: String) throws -> JSONValue {
        try JSONValue.parse(json, field: "test")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var document: String
        var patch: String
        var expected: String
        var testDescription: String { name }
    }

    static let goodCases: [Case] = [
        Case(name: "add member", document: #"{"a":1}"#, patch: #"[{"op":"add","path":"/b","value":2}]"#,
             expected: #"{"a":1,"b":2}"#),
        Case(name: "add creates missing parents", document: #"{}"#,
             patch: #"[{"op":"add","path":"/x/y/z","value":"v"}]"#, expected: #"{"x":{"y":{"z":"v"}}}"#),
        Case(name: "add at /x/- creates an array", document: #"{}"#, patch: #"[{"op":"add","path":"/x/-","value":1}]"#,
             expected: #"{"x":[1]}"#),
        Case(name: "add at /x/0 creates an array", document: #"{}"#, patch: #"[{"op":"add","path":"/x/0","value":1}]"#,
             expected: #"{"x":[1]}"#),
        Case(name: "add inserts into an array", document: #"{"a":[1,3]}"#,
             patch: #"[{"op":"add","path":"/a/1","value":2}]"#, expected: #"{"a":[1,2,3]}"#),
        Case(name: "escaped pointer", document: #"{}"#,
             patch: #"[{"op":"add","path":"/lamassu.io~1ra~1attached-to","value":{"device_id":"d1"}}]"#,
             expected: #"{"lamassu.io/ra/attached-to":{"device_id":"d1"}}"#),
        Case(name: "tilde escape", document: #"{"a~b":1}"#, patch: #"[{"op":"remove","path":"/a~0b"}]"#, expected: "{}"),
        Case(name: "replace", document: #"{"location":"factory-floor-3"}"#,
             patch: #"[{"op":"replace","path":"/location","value":"warehouse-2"},{"op":"add","path":"/firmware_version","value":"v2.1.0"}]"#,
             expected: #"{"location":"warehouse-2","firmware_version":"v2.1.0"}"#),
        Case(name: "remove of a missing path is a no-op", document: #"{"a":1}"#,
             patch: #"[{"op":"remove","path":"/missing/deep"}]"#, expected: #"{"a":1}"#),
        Case(name: "remove array element", document: #"{"a":[1,2,3]}"#, patch: #"[{"op":"remove","path":"/a/0"}]"#,
             expected: #"{"a":[2,3]}"#),
        Case(name: "move", document: #"{"a":{"b":1}}"#, patch: #"[{"op":"move","from":"/a/b","path":"/c"}]"#,
             expected: #"{"a":{},"c":1}"#),
        Case(name: "copy", document: #"{"a":[1]}"#, patch: #"[{"op":"copy","from":"/a","path":"/b"}]"#,
             expected: #"{"a":[1],"b":[1]}"#),
        Case(name: "test that passes", document: #"{"a":1}"#,
             patch: #"[{"op":"test","path":"/a","value":1.0},{"op":"add","path":"/b","value":null}]"#,
             expected: #"{"a":1,"b":null}"#),
        Case(name: "op names are case-insensitive", document: #"{}"#, patch: #"[{"op":"ADD","path":"/a","value":1}]"#,
             expected: #"{"a":1}"#),
    ]

    @Test(arguments: goodCases)
    func applies(_ example: Case) throws {
        let result = try patch(example.patch).apply(to: value(example.document))
        #expect(result == (try value(example.expected)))
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var name: String
        var document: String
        var patch: String
        var message: String
        var testDescription: String { name }
    }

    static let badCases: [BadCase] = [
        BadCase(name: "replace of a missing path", document: #"{}"#,
                patch: #"[{"op":"replace","path":"/location","value":"x"}]"#, message: "does not exist"),
        BadCase(name: "pointer without slash", document: #"{}"#, patch: #"[{"op":"add","path":"a","value":1}]"#,
                message: "must be empty or start with '/'"),
        BadCase(name: "add without value", document: #"{}"#, patch: #"[{"op":"add","path":"/a"}]"#,
                message: "'value' is required"),
        BadCase(name: "array index out of range", document: #"{"a":[1]}"#,
                patch: #"[{"op":"add","path":"/a/5","value":1}]"#, message: "out of range"),
        BadCase(name: "add under a string", document: #"{"a":"s"}"#, patch: #"[{"op":"add","path":"/a/b","value":1}]"#,
                message: "cannot add under a string"),
        BadCase(name: "test that fails", document: #"{"a":1}"#, patch: #"[{"op":"test","path":"/a","value":2}]"#,
                message: "test failed"),
        BadCase(name: "move into own child", document: #"{"a":{"b":1}}"#,
                patch: #"[{"op":"move","from":"/a","path":"/a/c"}]"#, message: "own child"),
        BadCase(name: "move from missing", document: #"{}"#, patch: #"[{"op":"move","from":"/x","path":"/y"}]"#,
                message: "does not exist"),
    ]

    @Test(arguments: badCases)
    func refuses(_ example: BadCase) throws {
        let error = try #require(throws: SheduError.self) {
            try patch(example.patch).apply(to: value(example.document))
        }
        #expect(error.message.contains(example.message), "\(error.message)")
    }

    @Test func unknownOperationIsNamed() throws {
        let error = try #require(throws: SheduError.self) { try patch(#"[{"op":"frobnicate","path":"/a"}]"#) }
        #expect(error.message.contains("frobnicate"))
    }

    @Test func mergePatchFollowsRFC7396() throws {
        let target = try value(#"{"a":"b","c":{"d":"e","f":"g"}}"#)
        let patch = try value(#"{"a":"z","c":{"f":null},"n":[1]}"#)
        #expect(target.merging(patch: patch) == (try value(#"{"a":"z","c":{"d":"e"},"n":[1]}"#)))
        #expect(target.merging(patch: .string("x")) == .string("x"))
    }

    @Test func metadataUpdateKinds() throws {
        let current: [String: JSONValue] = ["a": 1, "b": ["c": 2]]
        let replace = try MetadataUpdate(body: Data(#"{"x":true}"#.utf8), isPatch: false)
        #expect(try replace.apply(to: current) == ["x": true])
        let merge = try MetadataUpdate(body: Data(#"{"b":{"d":3}}"#.utf8), isPatch: true)
        #expect(try merge.apply(to: current) == ["a": 1, "b": ["c": 2, "d": 3]])
        let jsonPatch = try MetadataUpdate(
            body: Data(#"{"patches":[{"op":"remove","path":"/a"}]}"#.utf8), isPatch: false)
        #expect(try jsonPatch.apply(to: current) == ["b": ["c": 2]])
        #expect(throws: SheduError.self) { try MetadataUpdate(body: Data("[1]".utf8), isPatch: false) }
        #expect(throws: SheduError.self) { try MetadataUpdate(body: Data("{".utf8), isPatch: true) }
        let rootReplace = try MetadataUpdate(
            body: Data(#"{"patches":[{"op":"replace","path":"","value":5}]}"#.utf8), isPatch: true)
        #expect(throws: SheduError.self) { try rootReplace.apply(to: current) }
        // A lone "patches" that is not a list is a malformed JSON Patch, not metadata to store.
        for isPatch in [true, false] {
            let error = #expect(throws: SheduError.self) { try MetadataUpdate(body: Data(#"{"patches":"x"}"#.utf8), isPatch: isPatch) }
            #expect(error?.message == "patches must be an array of JSON Patch operations (RFC 6902), not string")
            let mixed = #expect(throws: SheduError.self) {
                try MetadataUpdate(body: Data(#"{"patches":[{"op":"remove","path":"/a"}],"b":1}"#.utf8), isPatch: isPatch)
            }
            #expect(mixed?.message == #"a JSON Patch body holds "patches" alone; it also has: b"#)
        }
        // A "patches" member that is not a list of operations stays metadata like any other.
        let plain = try MetadataUpdate(body: Data(#"{"patches":[1,2],"b":1}"#.utf8), isPatch: false)
        #expect(try plain.apply(to: current) == ["patches": [1, 2], "b": 1])
    }

    @Test("what a client stores is held to 64 levels and 1 MiB, also when patches build it")
    func clientDocumentsAreBounded() throws {
        let current: [String: JSONValue] = ["a": 1]
        // A body nested 65 levels is refused as it is read.
        let deepBody = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)
        let bodyError = #expect(throws: SheduError.self) { try MetadataUpdate(body: Data(deepBody.utf8), isPatch: false) }
        #expect(bodyError?.message.hasPrefix("request body is not valid JSON: nested deeper than 64 levels at offset") == true)
        let nearlyDeep = String(repeating: #"{"a":"#, count: 64) + "1" + String(repeating: "}", count: 64)
        #expect(try MetadataUpdate(body: Data(nearlyDeep.utf8), isPatch: false).apply(to: current).count == 1)
        // A patch path can nest further than its body does.
        let deepPath = "/" + Array(repeating: "b", count: 65).joined(separator: "/")
        let deepPatch = try MetadataUpdate(
            body: Data(#"{"patches":[{"op":"add","path":"\#(deepPath)","value":1}]}"#.utf8), isPatch: true)
        let pathError = #expect(throws: SheduError.self) { try deepPatch.apply(to: current) }
        #expect(pathError?.message == "patch 0 (add \(deepPath)): the document nests deeper than 64 levels")
        // Each copy of the root doubles the document: 40 steps would be a terabyte of text.
        let filler = String(repeating: "x", count: 1000)
        let copies = (0..<40).map { #"{"op":"copy","from":"","path":"/c\#($0)"}"# }.joined(separator: ",")
        let doubling = try MetadataUpdate(body: Data(#"{"patches":[\#(copies)]}"#.utf8), isPatch: true)
        let sizeError = #expect(throws: SheduError.self) { try doubling.apply(to: ["filler": .string(filler)]) }
        #expect(sizeError?.message.hasSuffix("the document would be longer than 1 MiB of JSON") == true, "\(sizeError?.message ?? "")")
        #expect(sizeError?.message.contains("(copy /c") == true)
    }

    @Test func pointersEscapeOnlyWithTildeZeroAndOne() throws {
        #expect(try JSONPointer("/a~1b/c~0d").tokens == ["a/b", "c~d"])
        #expect(try JSONPointer("/~01").tokens == ["~1"], "~0 is decoded after ~1")
        for bad in ["/a~2b", "/a~", "/~x"] {
            #expect(throws: SheduError.self, "\(bad)") { try JSONPointer(bad) }
        }
    }

    @Test func compactTextIsSortedAndRoundTrips() throws {
        let document = try value(#"{"b":[1,2.5,"x\"y"],"a":null,"c":{"z":false}}"#)
        #expect(document.jsonText() == #"{"a":null,"b":[1,2.5,"x\"y"],"c":{"z":false}}"#)
        #expect(try value(document.jsonText()) == document)
    }
}
