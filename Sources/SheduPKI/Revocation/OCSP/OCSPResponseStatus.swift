import SwiftASN1

/// The outcome of an OCSP request (RFC 6960 §4.2.1); every status but ``successful`` is sent
/// without a signed body.
public enum OCSPResponseStatus: Int, Hashable, Sendable, CaseIterable {
    case successful = 0
    case malformedRequest = 1
    case internalError = 2
    case tryLater = 3
    case sigRequired = 5
    case unauthorized = 6
}
