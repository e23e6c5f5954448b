import Hummingbird
import NIOCore
import SheduCore

/// The request context of every route: who is calling, and the connection it came on (for the
/// client certificate of mutual TLS).
public struct SheduRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection; its TLS handler holds the client's certificate chain, if any.
    public let channel: (any Channel)?
    /// The authenticated caller, set by ``AuthenticationMiddleware``.
    public var principal: Principal?
    /// Why the credentials presented were not accepted (401), or are not enough (403).
    public var authenticationFailure: SheduError?
    /// Request bodies above this size are refused with 413.
    public var maxUploadSize: Int { ServerLimits.maximumBodySize }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Limits shared by every route.
enum ServerLimits {
    /// 1 MiB: far above any CSR, certificate chain or metadata document.
    static let maximumBodySize = 1 << 20
}
