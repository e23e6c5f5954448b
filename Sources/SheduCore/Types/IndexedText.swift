/// Names and tags are kept in indexes (lists sort and filter by them), and PostgreSQL refuses an
/// index entry past about 2,700 bytes. A limit in Unicode scalars, four bytes each at most,
/// keeps every value under it, and both stores answer alike.
public enum IndexedText {
    public static let maximumLength = 512

    public static func check(_ value: String, field: String) throws {
        guard value.unicodeScalars.count > maximumLength else { return }
        throw SheduError.badRequest("\(field) is longer than \(maximumLength) characters")
    }
}
