import SheduPKI

extension KeyedDecodingContainer {
    /// The value for `key`, or `fallback` when the key is absent or null: settings documents may
    /// leave out any part, as Lamassu's clients do.
    public func decode<T: Decodable>(_ key: Key, default fallback: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback()
    }

    /// An enumeration value by its API name (case-insensitive), or `fallback` when absent; an
    /// unknown name is a 400 that names the field and the accepted values.
    public func decodeNamed<T: NamedCase>(_ key: Key, default fallback: T) throws -> T {
        guard let name = try decodeIfPresent(String.self, forKey: key), !name.isEmpty else { return fallback }
        guard let value = T(name: name) else {
            let path = (codingPath + [key]).map(\.stringValue).joined(separator: ".")
            throw SheduError.badRequest("\(path) '\(name)' is not one of \(T.allNames)")
        }
        return value
    }
}

/// Any member name of a JSON object, for objects whose keys are data or must be checked.
struct MemberKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Refuses (400) an object member not in `known`: a misspelt option would otherwise be dropped
    /// without a word while the call answers 200.
    func refuseUnknownMembers(known: Set<String>, in object: String) throws {
        let path = codingPath.map(\.stringValue).joined(separator: ".")
        for key in try container(keyedBy: MemberKey.self).allKeys where !known.contains(key.stringValue) {
            let name = path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)"
            throw SheduError.badRequest("\(name) is not a field of \(object); it takes \(known.sorted().joined(separator: ", "))")
        }
    }
}
