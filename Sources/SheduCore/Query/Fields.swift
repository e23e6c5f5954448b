/// The type of a filterable field, which decides the operators it accepts (API.md §1).
public enum FieldType: Sendable, Hashable {
    case string
    case stringArray
    case date
    case number
    /// An enumeration; the values are the ones a filter may name.
    case enumeration([String])
    case json

    public var name: String {
        switch self {
        case .string: "string"
        case .stringArray: "string array"
        case .date: "date"
        case .number: "number"
        case .enumeration: "enum"
        case .json: "json"
        }
    }

    /// The operators this type accepts, short forms.
    public var operators: [FilterOperator] {
        switch self {
        case .string:
            [.equal, .equalIgnoreCase, .notEqual, .notEqualIgnoreCase, .contains, .containsIgnoreCase,
             .notContains, .notContainsIgnoreCase, .in, .inIgnoreCase, .notIn, .notInIgnoreCase]
        case .stringArray: [.contains, .containsIgnoreCase]
        case .date: [.equal, .before, .after]
        case .number: [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual]
        case .enumeration: [.equal, .notEqual, .in]
        case .json: [.jsonPath]
        }
    }

    /// Whether a list can be sorted by a field of this type.
    public var isSortable: Bool {
        switch self {
        case .string, .date, .number, .enumeration: true
        case .stringArray, .json: false
        }
    }
}

/// A field that lists may filter and sort on, by its API name (`status`, `subject.common_name`).
public struct FieldDefinition: Sendable, Hashable {
    public var name: String
    public var type: FieldType

    public init(_ name: String, _ type: FieldType) {
        self.name = name
        self.type = type
    }
}

/// The filterable fields of one kind of resource, with the default sort of its lists.
public struct FieldSet: Sendable {
    public let fields: [String: FieldDefinition]
    public let names: [String]
    /// The field lists are ordered by when the request names no `sort_by`.
    public let defaultSort: SortKey
    public let defaultSortDescending: Bool

    public init(_ definitions: [FieldDefinition], defaultSort: String, descending: Bool = false) {
        fields = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        names = definitions.map(\.name)
        self.defaultSort = .field(defaultSort)
        defaultSortDescending = descending
    }

    public subscript(name: String) -> FieldDefinition? { fields[name] }
}

/// A filter operator; each has a short and a long name.
public enum FilterOperator: String, Sendable, Hashable, CaseIterable {
    case equal = "eq"
    case equalIgnoreCase = "eq_ic"
    case notEqual = "ne"
    case notEqualIgnoreCase = "ne_ic"
    case contains = "ct"
    case containsIgnoreCase = "ct_ic"
    case notContains = "nc"
    case notContainsIgnoreCase = "nc_ic"
    case `in` = "in"
    case inIgnoreCase = "in_ic"
    case notIn = "nin"
    case notInIgnoreCase = "nin_ic"
    case before = "bf"
    case after = "af"
    case less = "lt"
    case lessOrEqual = "le"
    case greater = "gt"
    case greaterOrEqual = "ge"
    case jsonPath = "jsonpath"

    private static let longNames: [String: FilterOperator] = [
        "equal": .equal, "equal_ignorecase": .equalIgnoreCase, "notequal": .notEqual,
        "notequal_ignorecase": .notEqualIgnoreCase, "contains": .contains,
        "contains_ignorecase": .containsIgnoreCase, "notcontains": .notContains,
        "notcontains_ignorecase": .notContainsIgnoreCase, "notin": .notIn, "before": .before, "after": .after,
        "lessthan": .less, "lessequal": .lessOrEqual, "lessorequal": .lessOrEqual, "greaterthan": .greater,
        "greaterequal": .greaterOrEqual, "greaterorequal": .greaterOrEqual,
    ]

    /// Reads a short or long name, case-insensitively.
    public init?(name: String) {
        let lowered = name.lowercased()
        if let value = FilterOperator(rawValue: lowered) ?? Self.longNames[lowered] {
            self = value
        } else {
            return nil
        }
    }

    var takesList: Bool {
        switch self {
        case .in, .inIgnoreCase, .notIn, .notInIgnoreCase: true
        default: false
        }
    }
}
