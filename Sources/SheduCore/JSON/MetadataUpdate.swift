import Foundation

/// What a `PUT` or `PATCH` on a `/metadata` endpoint asks for (API.md §1, Metadata).
public enum MetadataUpdate: Sendable, Equatable {
    /// `PUT` with a plain object: the object becomes the metadata.
    case replace([String: JSONValue])
    /// `PUT` or `PATCH` with `{"patches": [...]}`: RFC 6902 JSON Patch.
    case jsonPatch(JSONPatch)
    /// `PATCH` with a plain object: RFC 7396 merge patch.
    case merge(JSONValue)

    /// Reads the body of a metadata request.
    /// - Parameter isPatch: true for the `PATCH` method, false for `PUT`.
    public init(body: Data, isPatch: Bool) throws {
        let bytes = Array(body)
        try DomainJSON.refuseNUL(utf8: bytes)
        let document: JSONValue
        do {
            document = try JSONValueParser.parse(utf8: bytes, maximumDepth: JSONValue.clientDepthLimit)
        } catch {
            throw SheduError.badRequest("request body is not valid JSON: \(error.reason) at offset \(error.offset)")
        }
        guard case .object(let members) = document else {
            throw SheduError.badRequest("metadata must be a JSON object, not \(document.typeName)")
        }
        if members.count == 1, let patches = members["patches"], patches.arrayValue == nil {
            throw SheduError.badRequest("patches must be an array of JSON Patch operations (RFC 6902), not \(patches.typeName)")
        }
        // A patch list beside other members is a patch body gone wrong: stored as plain metadata,
        // it would replace everything with the literal list.
        if members.count > 1, let operations = members["patches"]?.arrayValue, !operations.isEmpty,
            operations.allSatisfy({ $0["op"] != nil })
        {
            let others = members.keys.filter { $0 != "patches" }.sorted().joined(separator: ", ")
            throw SheduError.badRequest("a JSON Patch body holds \"patches\" alone; it also has: \(others)")
        }
        if let patches = members["patches"], case .array = patches, members.count == 1 {
            do {
                let steps = try JSONValueDecoder.decode([JSONPatch.Step].self, from: patches)
                self = .jsonPatch(JSONPatch(steps))
            } catch let error as SheduError {
                throw error
            } catch let error as DecodingError {
                throw SheduError.badRequest("patches: \(error.fieldMessage)")
            }
        } else if isPatch {
            self = .merge(document)
        } else {
            self = .replace(members)
        }
    }

    /// The metadata after this update; the result must still be an object.
    public func apply(to metadata: [String: JSONValue]) throws -> [String: JSONValue] {
        let result: JSONValue
        switch self {
        case .replace(let members): result = .object(members)
        case .jsonPatch(let patch): result = try patch.apply(to: .object(metadata))
        case .merge(let patch): result = JSONValue.object(metadata).merging(patch: patch)
        }
        guard case .object(let members) = result else {
            throw SheduError.badRequest("metadata must stay a JSON object")
        }
        if let problem = result.clientLimitProblem { throw SheduError.badRequest("metadata \(problem)") }
        return members
    }
}

extension DecodingError {
    /// A one-line message that names the JSON path of the problem, for 400 answers.
    public var fieldMessage: String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let parts = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
            var text = ""
            for part in parts {
                if part.hasPrefix("[") { text += part } else { text += text.isEmpty ? part : ".\(part)" }
            }
            return text.isEmpty ? "body" : text
        }
        switch self {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return parent == "body" ? "\(key.stringValue) is required" : "\(parent).\(key.stringValue) is required"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(Self.typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(Self.typeName(type)), not null"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "request body is \(context.debugDescription)" }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "request body is invalid"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is [Any].Type: "an array"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
