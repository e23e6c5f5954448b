/// The JSONPath predicate subset that filters on JSON fields (`metadata[jsonpath]...`):
/// comparisons `== != < <= > >=`, `&&`, `||`, `!`, `exists(...)`, parentheses, string, number,
/// boolean and null literals, and paths of dotted keys, `['key']`/`."key"` members and `[n]` indexes.
///
/// The storage layer compiles it to SQL with the same meaning on SQLite and PostgreSQL: a comparison
/// holds only when the path exists and its value has the literal's type.
public indirect enum JSONPathPredicate: Sendable, Hashable {
    case and(JSONPathPredicate, JSONPathPredicate)
    case or(JSONPathPredicate, JSONPathPredicate)
    case not(JSONPathPredicate)
    case exists(JSONPathExpression)
    case compare(JSONPathExpression, JSONPathComparison, JSONPathLiteral)

    public static let maximumLength = 500
    static let maximumDepth = 32

    public init(parsing text: String) throws {
        guard text.count <= Self.maximumLength else {
            throw SheduError.badRequest("JSONPath expression is longer than \(Self.maximumLength) characters")
        }
        var parser = JSONPathParser(text)
        self = try parser.parsePredicate()
    }
}

/// A path from the document root: `$.a.b`, `$['lamassu.io/x'][0]`.
public struct JSONPathExpression: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]

    public init(components: [Component]) {
        self.components = components
    }

    /// Parses a bare path such as `$.a.b` (used by `sort_by=metadata[jsonpath]$.a.b`).
    public init(parsing text: String) throws {
        var parser = JSONPathParser(text)
        self = try parser.parseBarePath()
    }

    public var description: String {
        "$" + components.map { component in
            switch component {
            case .key(let key):
                key.first.map({ $0.isLetter || $0 == "_" }) == true
                    && key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
                    ? ".\(key)" : "[\"\(key.replacingOccurrences(of: "\"", with: "\\\""))\"]"
            case .index(let index): "[\(index)]"
            }
        }.joined()
    }
}

public enum JSONPathComparison: String, Sendable, Hashable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    /// The same comparison with its operands swapped (`"x" < $.a` is `$.a > "x"`).
    var flipped: JSONPathComparison {
        switch self {
        case .equal, .notEqual: self
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        }
    }
}

public enum JSONPathLiteral: Sendable, Hashable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
}

struct JSONPathParser {
    private enum Token: Equatable {
        case root
        case dot
        case leftBracket, rightBracket, leftParen, rightParen
        case identifier(String)
        case string(String)
        case number(Double)
        case op(String)
        case end
    }

    private let text: String
    private var tokens: [Token] = []
    private var position = 0
    private var depth = 0
    private var tokenizeError: SheduError?

    init(_ text: String) {
        self.text = text
        do {
            tokens = try Self.tokenize(text)
        } catch let error as SheduError {
            tokenizeError = error
        } catch {
            tokenizeError = .badRequest("invalid JSONPath expression")
        }
    }

    private func fail(_ message: String) -> SheduError {
        .badRequest("JSONPath '\(text)': \(message)")
    }

    private var current: Token { tokens[position] }

    private mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    mutating func parseBarePath() throws -> JSONPathExpression {
        if let tokenizeError { throw tokenizeError }
        let path = try parsePath()
        guard current == .end else { throw fail("unexpected text after the path") }
        return path
    }

    mutating func parsePredicate() throws -> JSONPathPredicate {
        if let tokenizeError { throw tokenizeError }
        guard current != .end else { throw fail("the expression is empty") }
        let predicate = try parseOr()
        guard current == .end else { throw fail("unexpected \(describe(current))") }
        return predicate
    }

    private mutating func parseOr() throws -> JSONPathPredicate {
        var left = try parseAnd()
        while current == .op("||") {
            advance()
            left = .or(left, try parseAnd())
        }
        return left
    }

    private mutating func parseAnd() throws -> JSONPathPredicate {
        var left = try parseUnary()
        while current == .op("&&") {
            advance()
            left = .and(left, try parseUnary())
        }
        return left
    }

    private mutating func parseUnary() throws -> JSONPathPredicate {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JSONPathPredicate.maximumDepth else { throw fail("nested too deeply") }
        if current == .op("!") {
            advance()
            return .not(try parseUnary())
        }
        if current == .leftParen {
            advance()
            let inner = try parseOr()
            guard current == .rightParen else { throw fail("expected ')'") }
            advance()
            return inner
        }
        if current == .identifier("exists") {
            advance()
            guard current == .leftParen else { throw fail("expected '(' after exists") }
            advance()
            let path = try parsePath()
            guard current == .rightParen else { throw fail("expected ')' after the path in exists(...)") }
            advance()
            return .exists(path)
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws -> JSONPathPredicate {
        if current == .root {
            let path = try parsePath()
            let comparison = try parseComparisonOperator()
            return .compare(path, comparison, try parseLiteral())
        }
        let literal = try parseLiteral()
        let comparison = try parseComparisonOperator()
        guard current == .root else { throw fail("a comparison needs a path ($...) on one side") }
        return .compare(try parsePath(), comparison.flipped, literal)
    }

    private mutating func parseComparisonOperator() throws -> JSONPathComparison {
        guard case .op(let symbol) = current, let comparison = JSONPathComparison(rawValue: symbol) else {
            throw fail("expected a comparison (== != < <= > >=) but found \(describe(current))")
        }
        advance()
        return comparison
    }

    private mutating func parseLiteral() throws -> JSONPathLiteral {
        let literal: JSONPathLiteral
        switch current {
        case .string(let value): literal = .string(value)
        case .number(let value): literal = .number(value)
        case .identifier("true"): literal = .bool(true)
        case .identifier("false"): literal = .bool(false)
        case .identifier("null"): literal = .null
        case .root: throw fail("comparing two paths is not supported")
        case .identifier(let name): throw fail("a path must start with '$' (found '\(name)')")
        default: throw fail("expected a string, number, true, false or null but found \(describe(current))")
        }
        advance()
        return literal
    }

    private mutating func parsePath() throws -> JSONPathExpression {
        guard current == .root else { throw fail("a path must start with '$'") }
        advance()
        var components: [JSONPathExpression.Component] = []
        while true {
            switch current {
            case .dot:
                advance()
                switch current {
                case .identifier(let name): components.append(.key(name))
                case .string(let name): components.append(.key(name))
                default: throw fail("expected a member name after '.'")
                }
                advance()
            case .leftBracket:
                advance()
                switch current {
                case .string(let name): components.append(.key(name))
                case .number(let number) where number >= 0 && number == number.rounded() && number < 1e9:
                    components.append(.index(Int(number)))
                default: throw fail("expected a quoted key or an index inside [...]")
                }
                advance()
                guard current == .rightBracket else { throw fail("expected ']'") }
                advance()
            default:
                guard components.count <= 32 else { throw fail("the path is too deep") }
                return JSONPathExpression(components: components)
            }
        }
    }

    private func describe(_ token: Token) -> String {
        switch token {
        case .root: "'$'"
        case .dot: "'.'"
        case .leftBracket: "'['"
        case .rightBracket: "']'"
        case .leftParen: "'('"
        case .rightParen: "')'"
        case .identifier(let name): "'\(name)'"
        case .string(let value): "\"\(value)\""
        case .number(let value): "\(value)"
        case .op(let symbol): "'\(symbol)'"
        case .end: "the end of the expression"
        }
    }

    private static func tokenize(_ text: String) throws -> [Token] {
        let characters = Array(text)
        var index = 0
        var tokens: [Token] = []
        func fail(_ message: String) -> SheduError { .badRequest("JSONPath '\(text)': \(message)") }
        while index < characters.count {
            let character = characters[index]
            switch character {
            case " ", "\t", "\n", "\r":
                index += 1
            case "$": tokens.append(.root); index += 1
            case ".": tokens.append(.dot); index += 1
            case "[": tokens.append(.leftBracket); index += 1
            case "]": tokens.append(.rightBracket); index += 1
            case "(": tokens.append(.leftParen); index += 1
            case ")": tokens.append(.rightParen); index += 1
            case "=", "!", "<", ">", "&", "|":
                let next: Character? = index + 1 < characters.count ? characters[index + 1] : nil
                let pair = next.map { String([character, $0]) } ?? ""
                if ["==", "!=", "<=", ">=", "&&", "||"].contains(pair) {
                    tokens.append(.op(pair))
                    index += 2
                } else if ["<", ">", "!"].contains(character) {
                    tokens.append(.op(String(character)))
                    index += 1
                } else {
                    throw fail("unexpected '\(character)' (use == for equality, && and || to combine)")
                }
            case "\"", "'":
                let quote = character
                var value = ""
                index += 1
                var closed = false
                while index < characters.count {
                    let next = characters[index]
                    if next == quote {
                        closed = true
                        index += 1
                        break
                    }
                    if next == "\\" {
                        guard index + 1 < characters.count else { break }
                        let escaped = characters[index + 1]
                        switch escaped {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "u":
                            guard index + 5 < characters.count,
                                let code = UInt32(String(characters[(index + 2)...(index + 5)]), radix: 16),
                                let scalar = Unicode.Scalar(code)
                            else { throw fail("invalid \\u escape") }
                            // No stored document holds it (bodies with it are refused): a key or
                            // value with it would match nothing, or break SQLite's path syntax.
                            guard code != 0 else { throw fail("\\u0000 (the NUL character) is never stored") }
                            value.unicodeScalars.append(scalar)
                            index += 4
                        default: value.append(escaped)
                        }
                        index += 2
                        continue
                    }
                    value.append(next)
                    index += 1
                }
                guard closed else { throw fail("unterminated string") }
                tokens.append(.string(value))
            case "-", "0"..."9":
                var end = index + 1
                while end < characters.count,
                    characters[end].isASCIIDigit || ["." , "e", "E", "+", "-"].contains(characters[end])
                {
                    if characters[end] == "-" || characters[end] == "+",
                        !["e", "E"].contains(characters[end - 1])
                    {
                        break
                    }
                    end += 1
                }
                guard let number = Double(String(characters[index..<end])), number.isFinite else {
                    throw fail("invalid number '\(String(characters[index..<end]))'")
                }
                tokens.append(.number(number))
                index = end
            default:
                guard character.isLetter || character == "_" else {
                    throw fail("unexpected '\(character)'")
                }
                var end = index + 1
                while end < characters.count,
                    characters[end].isLetter || characters[end].isNumber || characters[end] == "_" || characters[end] == "-"
                {
                    end += 1
                }
                tokens.append(.identifier(String(characters[index..<end])))
                index = end
            }
        }
        tokens.append(.end)
        return tokens
    }
}
