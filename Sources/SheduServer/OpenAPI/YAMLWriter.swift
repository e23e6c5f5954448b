import SheduCore

/// A block-style YAML rendering of a JSON document (keys sorted, strings quoted as JSON strings,
/// which YAML reads as double-quoted scalars).
enum YAMLWriter {
    static func render(_ value: JSONValue) -> String {
        var output = ""
        write(value, indent: 0, to: &output)
        return output
    }

    private static func write(_ value: JSONValue, indent: Int, to output: inout String) {
        let padding = String(repeating: "  ", count: indent)
        switch value {
        case .object(let members) where !members.isEmpty:
            for key in members.keys.sorted() {
                let member = members[key]!
                output += padding + scalar(.string(key)) + ":"
                if isBlock(member) {
                    output += "\n"
                    write(member, indent: indent + 1, to: &output)
                } else {
                    output += " " + scalar(member) + "\n"
                }
            }
        case .array(let elements) where !elements.isEmpty:
            for element in elements {
                if isBlock(element) {
                    var nested = ""
                    write(element, indent: indent + 1, to: &nested)
                    // The first line of the element goes after the dash.
                    let trimmed = nested.drop(while: { $0 == " " })
                    output += padding + "- " + trimmed
                } else {
                    output += padding + "- " + scalar(element) + "\n"
                }
            }
        default:
            output += padding + scalar(value) + "\n"
        }
    }

    private static func isBlock(_ value: JSONValue) -> Bool {
        switch value {
        case .object(let members): !members.isEmpty
        case .array(let elements): !elements.isEmpty
        default: false
        }
    }

    private static func scalar(_ value: JSONValue) -> String {
        switch value {
        case .object: "{}"
        case .array: "[]"
        default: value.jsonText()
        }
    }
}
