import Foundation

/// How a CA's CRL is published (Lamassu's `crl_options`): how long each CRL is valid, how soon
/// a new one replaces it, and whether a revocation makes a new one at once.
public struct CRLOptions: Sendable, Hashable {
    /// Age at which a CRL is replaced by the background refresh (before its nextUpdate).
    public var refreshInterval: TimeDuration
    /// nextUpdate − thisUpdate.
    public var validity: TimeDuration
    /// Whether a revocation (or the release of a hold) makes the next download a new CRL.
    public var regenerateOnRevoke: Bool

    public init(refreshInterval: TimeDuration, validity: TimeDuration, regenerateOnRevoke: Bool) {
        self.refreshInterval = refreshInterval
        self.validity = validity
        self.regenerateOnRevoke = regenerateOnRevoke
    }

    /// Lamassu's defaults: valid one week, replaced after 6 days 23 hours, new on every revocation.
    public static let defaults = CRLOptions(
        refreshInterval: TimeDuration(milliseconds: (6 * 24 + 23) * 3_600_000), validity: .days(7), regenerateOnRevoke: true)

    /// The shortest refresh interval, and the least time a CRL stays valid after it: the
    /// background refresh runs once a minute, so a CRL is always replaced before it expires.
    public static let minimumRefreshInterval = TimeDuration.seconds(60)

    /// Checks that a CRL is replaced at most once a minute and before it expires.
    public func validate() throws {
        guard refreshInterval >= Self.minimumRefreshInterval else {
            throw SheduError.badRequest(
                "refresh_interval '\(refreshInterval)' is shorter than the minimum of \(Self.minimumRefreshInterval)")
        }
        guard validity.milliseconds >= refreshInterval.milliseconds + Self.minimumRefreshInterval.milliseconds else {
            throw SheduError.badRequest(
                "validity '\(validity)' must be at least \(Self.minimumRefreshInterval) longer than refresh_interval '\(refreshInterval)', or CRLs would expire before they are replaced")
        }
    }
}
