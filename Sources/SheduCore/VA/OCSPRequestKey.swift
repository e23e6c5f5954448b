/// A request as it arrived (the DER body of a POST, or the path segment of a GET), for finding
/// its kept answer without parsing it again.
public struct OCSPRequestKey: Hashable, Sendable {
    let isPath: Bool
    let bytes: ByteKey

    /// The DER of a POST body.
    public init(der: [UInt8]) {
        isPath = false
        bytes = ByteKey(der)
    }

    /// The still-encoded request segment of `GET /api/va/ocsp/{request}`.
    public init(getPath segment: Substring) {
        isPath = true
        bytes = ByteKey(Array(segment.utf8))
    }
}
