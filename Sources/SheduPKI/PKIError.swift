/// Errors of the PKI core. The domain maps them to its own error kinds.
public enum PKIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Input that cannot be used (bad CSR, unsupported key, bad name); the message names it.
    case invalidInput(String)
    /// A signature that does not verify.
    case invalidSignature(String)

    public var description: String {
        switch self {
        case .invalidInput(let message), .invalidSignature(let message): message
        }
    }
}
