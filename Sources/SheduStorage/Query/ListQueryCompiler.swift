import Foundation
import SQLKit
import SheduCore

/// Turns a ``ListQuery`` into SQL: a WHERE clause for its filters and keyset position, an ORDER BY,
/// and the sort expressions to read back for the next bookmark. The same meaning on both dialects.
struct ListQueryCompiler {
    let dialect: SQLDialectKind
    let table: ResourceTable

    /// One expression of the order, with how its value is read back into a cursor.
    struct SortExpression {
        enum ValueType { case integer, double, text }
        var sql: SQLQueryString
        var type: ValueType
        var nullable: Bool
    }

    struct Compiled {
        /// The FROM clause and primary key expression of the plan chosen (see ``ResourceTable/DrivingTable``).
        var from: String
        var primaryKey: String
        var filters: SQLQueryString?
        var keyset: SQLQueryString?
        var orderBy: SQLQueryString
        var sortExpressions: [SortExpression]

        /// Filters and keyset together, or nil when there is no condition.
        var whereClause: SQLQueryString? {
            switch (filters, keyset) {
            case (nil, nil): nil
            case (let filters?, nil): filters
            case (nil, let keyset?): keyset
            case (let filters?, let keyset?): "(\(filters)) AND (\(keyset))"
            }
        }
    }

    func compile(_ query: ListQuery) throws -> Compiled {
        var from = table.from
        var primaryKey = table.primaryKey
        var sortColumnOverrides: [String: String] = [:]
        var filters: [SQLQueryString] = []
        try Self.checkSize(of: query.filters)
        var remaining = query.filters
        if let (driver, index) = drivingTable(for: query), case .string(let value) = query.filters[index].value {
            from = driver.from
            primaryKey = driver.primaryKey
            sortColumnOverrides = driver.sortColumns
            filters.append("\(unsafeRaw: driver.valueColumn) = \(bind: value)")
            remaining.remove(at: index)
        }
        filters += try remaining.map(compile)
        let sortExpressions = try sortExpressions(for: query.sort, overrides: sortColumnOverrides)
        let direction = query.descending ? "DESC" : "ASC"
        // NULL sorts as the smallest value on both dialects, as in Lamassu: first ascending, last
        // descending (a descending sort by a metadata value starts with the devices that have one).
        let nulls = query.descending ? " NULLS LAST" : " NULLS FIRST"
        var orderParts: [SQLQueryString] = sortExpressions.map {
            "\($0.sql) \(unsafeRaw: direction)\(unsafeRaw: $0.nullable ? nulls : "")"
        }
        orderParts.append("\(unsafeRaw: primaryKey) \(unsafeRaw: direction)")

        var keyset: SQLQueryString?
        if let cursor = query.cursor {
            guard cursor.sortValues.count == sortExpressions.count else {
                throw SheduError.badRequest("bookmark is not one this server issued")
            }
            keyset = try keysetCondition(
                expressions: sortExpressions[...], values: cursor.sortValues[...], key: cursor.key,
                primaryKey: primaryKey, descending: query.descending)
        }
        return Compiled(
            from: from, primaryKey: primaryKey,
            filters: filters.isEmpty ? nil : filters.map { "(\($0))" }.joined(separator: " AND "),
            keyset: keyset, orderBy: orderParts.joined(separator: ", "), sortExpressions: sortExpressions)
    }

    /// Refuses more conditions, or listed values, than ``Filter/maximumCombined`` and
    /// ``Filter/maximumListedValues``.
    static func checkSize(of filters: [Filter]) throws {
        guard filters.count <= Filter.maximumCombined else {
            throw SheduError.badRequest(
                "\(filters.count) filters (with any group criteria); at most \(Filter.maximumCombined) may be combined")
        }
        for filter in filters {
            if case .strings(let values) = filter.value, values.count > Filter.maximumListedValues {
                throw SheduError.badRequest(
                    "filter on \(filter.field.name) lists \(values.count) values; at most \(Filter.maximumListedValues)")
            }
        }
    }

    /// The filters alone, AND-ed, for counts and statistics; nil without filters.
    func filterCondition(_ filters: [Filter]) throws -> SQLQueryString? {
        try Self.checkSize(of: filters)
        let compiled = try filters.map(compile)
        return compiled.isEmpty ? nil : compiled.map { "(\($0))" }.joined(separator: " AND ")
    }

    /// The driving table a query can use: one whose field has a case-sensitive `contains` filter,
    /// when the list is ordered by a field that table's index holds.
    private func drivingTable(for query: ListQuery) -> (ResourceTable.DrivingTable, Int)? {
        guard case .field(let sortField) = query.sort else { return nil }
        for driver in table.drivingTables where driver.sortColumns[sortField] != nil {
            if let index = query.filters.firstIndex(where: { $0.field.name == driver.field && $0.op == .contains }) {
                return (driver, index)
            }
        }
        return nil
    }

    /// Reads a row's sort values and key into the cursor of the page after it.
    func cursor(from row: any SQLRow, compiled: Compiled) throws -> PageCursor {
        var values: [JSONValue] = []
        for (index, expression) in compiled.sortExpressions.enumerated() {
            let column = "_sort\(index)"
            if try row.decodeNil(column: column) {
                values.append(.null)
                continue
            }
            switch expression.type {
            case .integer: values.append(.int(try row.decode(column: column, as: Int64.self)))
            case .double: values.append(.double(try row.decode(column: column, as: Double.self)))
            case .text: values.append(.string(try row.decode(column: column, as: String.self)))
            }
        }
        return PageCursor(sortValues: values, key: try row.decode(column: "_key", as: String.self))
    }

    /// The SELECT list entries that carry the sort values and key of each row.
    func cursorColumns(_ compiled: Compiled) -> SQLQueryString {
        var parts = compiled.sortExpressions.enumerated().map { index, expression -> SQLQueryString in
            "\(expression.sql) AS _sort\(unsafeRaw: String(index))"
        }
        parts.append("\(unsafeRaw: compiled.primaryKey) AS _key")
        return parts.joined(separator: ", ")
    }

    // MARK: Order

    private func sortExpressions(for key: SortKey, overrides: [String: String]) throws -> [SortExpression] {
        switch key {
        case .field(let name):
            var column = try column(named: name)
            if let override = overrides[name] { column.expression = override }
            let sql: SQLQueryString = "\(unsafeRaw: column.expression)"
            // A cursor holds numbers as doubles and booleans as integers. SQLite reads a column
            // back as either; PostgreSQL hands an INTEGER or BOOLEAN back as such, so the value
            // is cast to what the cursor reads (same order).
            switch column.kind {
            case .epochMilliseconds:
                return [SortExpression(sql: sql, type: .integer, nullable: column.nullable)]
            case .number:
                let typed: SQLQueryString = dialect == .sqlite ? sql : "CAST(\(sql) AS DOUBLE PRECISION)"
                return [SortExpression(sql: typed, type: .double, nullable: column.nullable)]
            case .boolean:
                let typed: SQLQueryString = dialect == .sqlite ? sql : "CAST(\(sql) AS INTEGER)"
                return [SortExpression(sql: typed, type: .integer, nullable: column.nullable)]
            default:
                return [SortExpression(sql: sql, type: .text, nullable: column.nullable)]
            }
        case .jsonPath(let field, let path):
            let column = try column(named: field)
            // Numbers first in numeric order, then strings; other values last.
            return [
                SortExpression(sql: jsonNumber(column.expression, path), type: .double, nullable: true),
                SortExpression(sql: jsonString(column.expression, path), type: .text, nullable: true),
            ]
        }
    }

    /// Rows strictly after the cursor in the list's order (NULL is the largest value).
    private func keysetCondition(
        expressions: ArraySlice<SortExpression>, values: ArraySlice<JSONValue>, key: String, primaryKey: String,
        descending: Bool
    ) throws -> SQLQueryString {
        let keyComparison: SQLQueryString = "\(unsafeRaw: primaryKey) \(unsafeRaw: descending ? "<" : ">") \(bind: key)"
        guard let expression = expressions.first, let value = values.first else { return keyComparison }
        let rest = try keysetCondition(
            expressions: expressions.dropFirst(), values: values.dropFirst(), key: key, primaryKey: primaryKey,
            descending: descending)
        let sql = expression.sql
        if value == .null {
            // After a NULL: later NULLs, and (ascending) every non-NULL value.
            return descending ? "(\(sql) IS NULL AND \(rest))" : "(\(sql) IS NOT NULL OR (\(sql) IS NULL AND \(rest)))"
        }
        let bound = try bindable(value, as: expression.type)
        let strict = descending ? "<" : ">"
        let inclusive = descending ? "<=" : ">="
        let nonNull: SQLQueryString =
            "(\(sql) \(unsafeRaw: inclusive) \(bind: bound) AND (\(sql) \(unsafeRaw: strict) \(bind: bound) OR \(rest)))"
        // NULLs sort last descending; a column that cannot be NULL leaves the condition a plain range,
        // which the index seeks to instead of scanning every row before the page.
        return !descending || !expression.nullable ? nonNull : "(\(nonNull) OR \(sql) IS NULL)"
    }

    private func bindable(_ value: JSONValue, as type: SortExpression.ValueType) throws -> any Encodable & Sendable {
        switch (type, value) {
        case (.integer, .int(let number)): return number
        case (.double, .double(let number)): return number
        case (.double, .int(let number)): return Double(number)
        case (.text, .string(let text)): return text
        default: throw SheduError.badRequest("bookmark is not one this server issued")
        }
    }

    // MARK: Filters

    private func column(named name: String) throws -> ResourceTable.Column {
        guard let column = table.columns[name] else {
            throw SheduError.badRequest("field '\(name)' cannot be used here")
        }
        return column
    }

    private func compile(_ filter: Filter) throws -> SQLQueryString {
        let column = try column(named: filter.field.name)
        let sql = SQLQueryString(column.expression)
        switch (column.kind, filter.value) {
        case (.boolean, .string(let text)):
            let value = text.lowercased() == "true"
            return filter.op == .notEqual ? "\(sql) <> \(bind: value)" : "\(sql) = \(bind: value)"
        case (.boolean, .strings(let texts)):
            let values = Set(texts.map { $0.lowercased() == "true" })
            return values.count == 2 ? "1 = 1" : "\(sql) = \(bind: values.first ?? false)"
        case (.jsonStringArray, .string(let text)):
            return stringArrayContains(column.expression, text, ignoreCase: filter.op == .containsIgnoreCase)
        case (.sideTable(let sideTable, let owner, let valueColumn), .string(let text)):
            let match: SQLQueryString =
                filter.op == .containsIgnoreCase
                ? "\(folded("s.\(unsafeRaw: valueColumn)")) = \(foldedValue(text))" : "s.\(unsafeRaw: valueColumn) = \(bind: text)"
            return "EXISTS (SELECT 1 FROM \(unsafeRaw: sideTable) s WHERE s.\(unsafeRaw: owner) = \(unsafeRaw: table.primaryKey) AND \(match))"
        case (.json, .jsonPath(let predicate)):
            return compile(predicate, column: column.expression)
        case (.epochMilliseconds, .date(let date, let span)):
            // To the nearest millisecond: a written .771 may be 770.9998 ms as a Double.
            let instant = Int64((date.timeIntervalSince1970 * 1000).rounded())
            switch filter.op {
            case .before: return "\(sql) < \(bind: instant)"
            case .after: return "\(sql) > \(bind: instant)"
            default:
                // Equality covers the precision the client wrote: a whole second, or a whole day.
                return "\(sql) >= \(bind: instant) AND \(sql) < \(bind: instant + span)"
            }
        case (.number, .number(let number)):
            let symbol =
                switch filter.op {
                case .notEqual: "<>"
                case .less: "<"
                case .lessOrEqual: "<="
                case .greater: ">"
                case .greaterOrEqual: ">="
                default: "="
                }
            return "\(sql) \(unsafeRaw: symbol) \(bind: number)"
        case (_, .string(let text)):
            let condition = compileString(sql, op: filter.op, text)
            guard filter.op == .equal, let lookup = column.prefixLookup([text]) else { return condition }
            return "(\(lookup) AND \(condition))"
        case (_, .strings(let texts)):
            let condition = compileList(sql, op: filter.op, texts)
            guard filter.op == .in, let lookup = column.prefixLookup(texts) else { return condition }
            return "(\(lookup) AND \(condition))"
        default:
            throw SheduError.badRequest("filter '\(filter.text)' does not fit field '\(filter.field.name)'")
        }
    }

    /// Lowercase for the `_ic` operators: ASCII letters only, on both stores. SQLite's LOWER
    /// folds ASCII alone; PostgreSQL's follows the database's locale, so it is told the C
    /// collation, and a filter answers the same whatever the store and its locale.
    private func folded(_ expression: SQLQueryString) -> SQLQueryString {
        dialect == .sqlite ? "LOWER(\(expression))" : "LOWER(\(expression) COLLATE \"C\")"
    }

    private func foldedValue(_ value: String) -> SQLQueryString {
        dialect == .sqlite ? "LOWER(\(bind: value))" : "LOWER(CAST(\(bind: value) AS TEXT) COLLATE \"C\")"
    }

    private func compileString(_ column: SQLQueryString, op: FilterOperator, _ value: String) -> SQLQueryString {
        let position = dialect == .sqlite ? "instr" : "strpos"
        switch op {
        case .equal: return "\(column) = \(bind: value)"
        case .equalIgnoreCase: return "\(folded(column)) = \(foldedValue(value))"
        case .notEqual: return "(\(column) <> \(bind: value) OR \(column) IS NULL)"
        case .notEqualIgnoreCase: return "(\(folded(column)) <> \(foldedValue(value)) OR \(column) IS NULL)"
        case .contains: return "\(unsafeRaw: position)(\(column), \(bind: value)) > 0"
        case .containsIgnoreCase: return "\(unsafeRaw: position)(\(folded(column)), \(foldedValue(value))) > 0"
        case .notContains: return "(\(unsafeRaw: position)(\(column), \(bind: value)) = 0 OR \(column) IS NULL)"
        case .notContainsIgnoreCase:
            return "(\(unsafeRaw: position)(\(folded(column)), \(foldedValue(value))) = 0 OR \(column) IS NULL)"
        default: return compileList(column, op: op, [value])
        }
    }

    private func compileList(_ column: SQLQueryString, op: FilterOperator, _ values: [String]) -> SQLQueryString {
        let ignoreCase = op == .inIgnoreCase || op == .notInIgnoreCase
        let negated = op == .notIn || op == .notInIgnoreCase
        guard !values.isEmpty else { return negated ? "1 = 1" : "1 = 0" }
        let subject: SQLQueryString = ignoreCase ? folded(column) : column
        let list: [SQLQueryString] = values.map { ignoreCase ? foldedValue($0) : "\(bind: $0)" }
        let inList: SQLQueryString = "\(subject) IN (\(list.joined(separator: ", ")))"
        return negated ? "(NOT (\(inList)) OR \(column) IS NULL)" : inList
    }

    private func stringArrayContains(_ column: String, _ value: String, ignoreCase: Bool) -> SQLQueryString {
        switch (dialect, ignoreCase) {
        case (.sqlite, false):
            return "EXISTS (SELECT 1 FROM json_each(\(unsafeRaw: column)) WHERE json_each.value = \(bind: value))"
        case (.sqlite, true):
            return "EXISTS (SELECT 1 FROM json_each(\(unsafeRaw: column)) WHERE \(folded("json_each.value")) = \(foldedValue(value)))"
        case (.postgres, false):
            return "\(unsafeRaw: column) @> jsonb_build_array(CAST(\(bind: value) AS TEXT))"
        case (.postgres, true):
            return "EXISTS (SELECT 1 FROM jsonb_array_elements_text(\(unsafeRaw: column)) AS element(value) WHERE \(folded("element.value")) = \(foldedValue(value)))"
        }
    }

    // MARK: JSONPath

    func compile(_ predicate: JSONPathPredicate, column: String) -> SQLQueryString {
        switch predicate {
        case .and(let left, let right):
            return "(\(compile(left, column: column)) AND \(compile(right, column: column)))"
        case .or(let left, let right):
            return "(\(compile(left, column: column)) OR \(compile(right, column: column)))"
        case .not(let inner):
            // A comparison on a missing path is false, never NULL, so NOT is exact.
            return "NOT (\(compile(inner, column: column)))"
        case .exists(let path):
            return "(\(jsonTypeOf(column, path)) IS NOT NULL)"
        case .compare(let path, let comparison, let literal):
            return compare(column, path, comparison, literal)
        }
    }

    private func compare(
        _ column: String, _ path: JSONPathExpression, _ comparison: JSONPathComparison, _ literal: JSONPathLiteral
    ) -> SQLQueryString {
        let type = jsonTypeOf(column, path)
        let symbol = comparison == .notEqual ? "<>" : comparison == .equal ? "=" : comparison.rawValue
        switch literal {
        case .null:
            // null only equals null; ordering against null holds for nothing.
            let isNull: SQLQueryString = "COALESCE(\(type) = 'null', 1 = 0)"
            switch comparison {
            case .equal: return isNull
            case .notEqual: return "COALESCE(\(type) IS NOT NULL AND \(type) <> 'null', 1 = 0)"
            default: return "1 = 0"
            }
        case .bool(let value):
            let isBool: SQLQueryString = "\(type) IN ('true', 'false', 'boolean')"
            let matches: SQLQueryString =
                dialect == .sqlite
                ? "\(type) = \(bind: value ? "true" : "false")"
                : "(\(jsonExtract(column, path)) = \(unsafeRaw: value ? "'true'::jsonb" : "'false'::jsonb"))"
            switch comparison {
            case .equal: return "COALESCE(\(matches), 1 = 0)"
            case .notEqual: return "COALESCE(\(isBool) AND NOT \(matches), 1 = 0)"
            default: return "1 = 0"
            }
        case .number(let value):
            return "COALESCE(\(jsonNumber(column, path)) \(unsafeRaw: symbol) \(bind: value), 1 = 0)"
        case .string(let value):
            return "COALESCE(\(jsonString(column, path)) \(unsafeRaw: symbol) \(bind: value), 1 = 0)"
        }
    }

    /// The JSON type name at `path` (NULL when the path does not exist).
    private func jsonTypeOf(_ column: String, _ path: JSONPathExpression) -> SQLQueryString {
        dialect == .sqlite
            ? "json_type(\(unsafeRaw: column), \(bind: sqlitePath(path)))"
            : "jsonb_typeof(\(jsonExtract(column, path)))"
    }

    /// The number at `path`, NULL when it is missing or not a number.
    private func jsonNumber(_ column: String, _ path: JSONPathExpression) -> SQLQueryString {
        dialect == .sqlite
            ? "(CASE WHEN json_type(\(unsafeRaw: column), \(bind: sqlitePath(path))) IN ('integer', 'real') THEN CAST(json_extract(\(unsafeRaw: column), \(bind: sqlitePath(path))) AS REAL) END)"
            : "(CASE WHEN jsonb_typeof(\(jsonExtract(column, path))) = 'number' THEN CAST(\(jsonExtractText(column, path)) AS DOUBLE PRECISION) END)"
    }

    /// The string at `path`, NULL when it is missing or not a string.
    private func jsonString(_ column: String, _ path: JSONPathExpression) -> SQLQueryString {
        dialect == .sqlite
            ? "(CASE WHEN json_type(\(unsafeRaw: column), \(bind: sqlitePath(path))) = 'text' THEN json_extract(\(unsafeRaw: column), \(bind: sqlitePath(path))) END)"
            : "((CASE WHEN jsonb_typeof(\(jsonExtract(column, path))) = 'string' THEN \(jsonExtractText(column, path)) END) COLLATE \"C\")"
    }

    private func jsonExtract(_ column: String, _ path: JSONPathExpression) -> SQLQueryString {
        "(\(unsafeRaw: column) #> \(postgresPath(path)))"
    }

    private func jsonExtractText(_ column: String, _ path: JSONPathExpression) -> SQLQueryString {
        "(\(unsafeRaw: column) #>> \(postgresPath(path)))"
    }

    private func postgresPath(_ path: JSONPathExpression) -> SQLQueryString {
        let parts: [SQLQueryString] = path.components.map { component in
            switch component {
            case .key(let key): "CAST(\(bind: key) AS TEXT)"
            case .index(let index): "CAST(\(bind: String(index)) AS TEXT)"
            }
        }
        return parts.isEmpty ? "CAST(ARRAY[] AS TEXT[])" : "ARRAY[\(parts.joined(separator: ", "))]"
    }

    /// SQLite's JSON path syntax: `$."key"[0]`, with every key quoted; inside the quotes SQLite
    /// reads backslash escapes, so a backslash is escaped before a quote is.
    private func sqlitePath(_ path: JSONPathExpression) -> String {
        "$" + path.components.map { component in
            switch component {
            case .key(let key):
                ".\"" + key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            case .index(let index): "[\(index)]"
            }
        }.joined()
    }
}
