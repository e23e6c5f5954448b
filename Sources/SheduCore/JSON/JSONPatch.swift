/// An RFC 6902 JSON Patch, with the two relaxations Lamassu's clients rely on: `add` creates
/// missing parents (an array when the next token is `0` or `-`, else an object), and `remove` of
/// a path that does not exist does nothing.
public struct JSONPatch: Sendable, Equatable {
    public enum Operation: String, Sendable, Codable {
        case add, remove, replace, move, copy, test
    }

    public struct Step: Sendable, Equatable, Decodable {
        public var op: Operation
        public var path: String
        public var value: JSONValue?
        public var from: String?

        public init(op: Operation, path: String, value: JSONValue? = nil, from: String? = nil) {
            self.op = op
            self.path = path
            self.value = value
            self.from = from
        }

        enum CodingKeys: String, CodingKey { case op, path, value, from }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let opName = try container.decode(String.self, forKey: .op)
            guard let op = Operation(rawValue: opName.lowercased()) else {
                throw SheduError.badRequest(
                    "patch op '\(opName)' is not one of add, remove, replace, move, copy, test")
            }
            self.op = op
            path = try container.decode(String.self, forKey: .path)
            // A present `null` is a value; an absent member is not.
            value = container.contains(.value) ? try container.decode(JSONValue.self, forKey: .value) : nil
            from = try container.decodeIfPresent(String.self, forKey: .from)
        }
    }

    public var steps: [Step]

    public init(_ steps: [Step]) {
        self.steps = steps
    }

    /// Applies every step in order; the first failing step aborts the whole patch.
    public func apply(to document: JSONValue) throws -> JSONValue {
        var document = document
        for (index, step) in steps.enumerated() {
            do {
                try apply(step, to: &document)
                // A copy can double the document, and a short patch would then outgrow memory. A
                // test or a remove cannot make it larger or deeper: no walk of it after those.
                if step.op != .test, step.op != .remove, let problem = document.clientLimitProblem {
                    throw SheduError.badRequest("the document \(problem)")
                }
            } catch let error as SheduError {
                throw SheduError(error.kind, "patch \(index) (\(step.op.rawValue) \(step.path)): \(error.message)")
            }
        }
        return document
    }

    private func apply(_ step: Step, to document: inout JSONValue) throws {
        let path = try JSONPointer(step.path)
        switch step.op {
        case .add:
            try Self.add(try Self.requireValue(step), at: path.tokens[...], in: &document)
        case .remove:
            Self.remove(at: path.tokens[...], in: &document)
        case .replace:
            guard path.resolve(in: document) != nil else {
                throw SheduError.badRequest("path \(path) does not exist")
            }
            try Self.add(try Self.requireValue(step), at: path.tokens[...], in: &document, replacing: true)
        case .move, .copy:
            guard let fromText = step.from else { throw SheduError.badRequest("'from' is required") }
            let from = try JSONPointer(fromText)
            guard let value = from.resolve(in: document) else {
                throw SheduError.badRequest("path \(from) does not exist")
            }
            if step.op == .move {
                if path.tokens.starts(with: from.tokens), path.tokens.count > from.tokens.count {
                    throw SheduError.badRequest("cannot move \(from) into its own child \(path)")
                }
                Self.remove(at: from.tokens[...], in: &document)
            }
            try Self.add(value, at: path.tokens[...], in: &document)
        case .test:
            let expected = try Self.requireValue(step)
            guard let actual = path.resolve(in: document), Self.jsonEqual(actual, expected) else {
                throw SheduError.conflict("test failed: the value at \(path) differs")
            }
        }
    }

    private static func requireValue(_ step: Step) throws -> JSONValue {
        guard let value = step.value else { throw SheduError.badRequest("'value' is required") }
        return value
    }

    private static func add(
        _ value: JSONValue, at tokens: ArraySlice<String>, in node: inout JSONValue, replacing: Bool = false
    ) throws {
        guard let token = tokens.first else {
            node = value
            return
        }
        let rest = tokens.dropFirst()
        switch node {
        case .object(var members):
            node = .null  // release the storage so the edit below is in place
            if rest.isEmpty {
                members[token] = value
            } else {
                var child = members[token] ?? emptyContainer(forNextToken: rest.first!)
                try add(value, at: rest, in: &child, replacing: replacing)
                members[token] = child
            }
            node = .object(members)
        case .array(var elements):
            node = .null
            defer { node = .array(elements) }
            if rest.isEmpty {
                if token == "-" {
                    elements.append(value)
                } else if let index = JSONPointer.arrayIndex(token), index <= elements.count {
                    if replacing {
                        elements[index] = value
                    } else {
                        elements.insert(value, at: index)
                    }
                } else {
                    throw SheduError.badRequest("array index '\(token)' is out of range")
                }
            } else {
                guard let index = JSONPointer.arrayIndex(token), index < elements.count else {
                    throw SheduError.badRequest("array index '\(token)' is out of range")
                }
                try add(value, at: rest, in: &elements[index], replacing: replacing)
            }
        case .null:
            // Missing parents are created (Lamassu's add semantics).
            node = emptyContainer(forNextToken: token)
            try add(value, at: tokens, in: &node, replacing: replacing)
        default:
            throw SheduError.badRequest("cannot add under a \(node.typeName) at '\(token)'")
        }
    }

    private static func emptyContainer(forNextToken token: String) -> JSONValue {
        token == "-" || token == "0" ? .array([]) : .object([:])
    }

    private static func remove(at tokens: ArraySlice<String>, in node: inout JSONValue) {
        guard let token = tokens.first else { return }
        let rest = tokens.dropFirst()
        switch node {
        case .object(var members):
            guard members[token] != nil else { return }
            node = .null
            if rest.isEmpty {
                members[token] = nil
            } else {
                remove(at: rest, in: &members[token]!)
            }
            node = .object(members)
        case .array(var elements):
            guard let index = JSONPointer.arrayIndex(token), index < elements.count else { return }
            node = .null
            if rest.isEmpty {
                elements.remove(at: index)
            } else {
                remove(at: rest, in: &elements[index])
            }
            node = .array(elements)
        default:
            return
        }
    }

    /// RFC 6902 equality: numbers compare by value, objects regardless of member order.
    static func jsonEqual(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        if let left = lhs.numberValue, let right = rhs.numberValue { return left == right }
        return lhs == rhs
    }
}

extension JSONValue {
    /// RFC 7396 JSON Merge Patch: `null` members delete, objects merge, anything else replaces.
    public func merging(patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var members = objectValue ?? [:]
        for (key, value) in patchMembers {
            if value == .null {
                members[key] = nil
            } else {
                members[key] = (members[key] ?? .null).merging(patch: value)
            }
        }
        return .object(members)
    }
}
