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
