/// The rule for the ids callers choose (CAs, profiles, DMSs, devices, groups): each is a path
/// segment of the API, so it holds no '/', no control character (a NUL cannot even be put back in
/// a path to read it again), no invisible formatting character (a leading byte-order mark is lost
/// on the way back through a path), is not `.` or `..` (clients resolve those segments away) and
/// is neither empty nor padded with spaces.
public enum ResourceID {
    public enum Spaces: Sendable {
        /// Between other characters only.
        case inside
        case refused
    }

    private static let invisible: Set<Unicode.GeneralCategory> = [.control, .format, .lineSeparator, .paragraphSeparator]

    /// Whether `id` can name a resource. `routeSegments` are the fixed path segments beside the
    /// resource's id (`dms` in `/devices/dms/{dms_id}`): the router takes those paths, so a
    /// resource of that name could be created, then not read, changed or deleted by its plain path.
    public static func isValid(_ id: String, maximumLength: Int, spaces: Spaces, routeSegments: Set<String> = []) -> Bool {
        guard !id.isEmpty, id.count <= maximumLength, id != ".", id != "..", !routeSegments.contains(id) else { return false }
        for scalar in id.unicodeScalars {
            if scalar == "/" || Self.invisible.contains(scalar.properties.generalCategory) { return false }
            if spaces == .refused, scalar.properties.isWhitespace { return false }
        }
        return id.trimmingCharacters(in: .whitespaces) == id
    }

    /// A 400 naming the rule when `id` breaks it.
    public static func check(
        _ id: String, maximumLength: Int, spaces: Spaces, field: String = "id", routeSegments: Set<String> = []
    ) throws {
        guard !isValid(id, maximumLength: maximumLength, spaces: spaces, routeSegments: routeSegments) else { return }
        if routeSegments.contains(id) {
            throw SheduError.badRequest("\(field) '\(id)' is a fixed segment of the API's paths here: requests for it would reach that route instead; choose another")
        }
        let refused =
            spaces == .refused
            ? "'/', spaces or control characters (invisible ones included)"
            : "'/' or control characters (invisible ones included), nor begin or end with a space"
        throw SheduError.badRequest("\(field) must be 1 to \(maximumLength) characters, not '.' or '..', and contain no \(refused)")
    }
}
