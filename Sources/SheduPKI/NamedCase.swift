/// An enumeration whose cases have API names, read case-insensitively (`clientauth` is `ClientAuth`).
public protocol NamedCase: RawRepresentable<String>, CaseIterable, Sendable {}

extension NamedCase {
    public init?(name: String) {
        let lowered = name.lowercased()
        guard let value = Self.allCases.first(where: { $0.rawValue.lowercased() == lowered }) else { return nil }
        self = value
    }

    /// Every name, for error messages: `DigitalSignature, ContentCommitment, ...`.
    public static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
