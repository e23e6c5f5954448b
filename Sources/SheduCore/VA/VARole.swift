import Foundation

/// A CA's VA role (API.md §6, Lamassu's VARole): its CRL options and the CRL it publishes now.
public struct VARole: Sendable, Hashable {
    /// The CA's subject key identifier, lowercase hex: what `/api/va/crl/{ca_ski}` names.
    public var caSKI: String
    public var options: CRLOptions
    /// The latest CRL issued for the CA, when there is one.
    public var latestCRL: CRLSummary?

    public init(caSKI: String, options: CRLOptions, latestCRL: CRLSummary?) {
        self.caSKI = caSKI
        self.options = options
        self.latestCRL = latestCRL
    }
}

extension VARole: Encodable {
    enum CodingKeys: String, CodingKey { case caSKI = "ca_ski", options = "crl_options", latestCRL = "latest_crl" }

    struct Options: Encodable {
        var refreshInterval: TimeDuration
        var validity: TimeDuration
        var signerKeyID: String
        var regenerateOnRevoke: Bool

        enum CodingKeys: String, CodingKey {
            case refreshInterval = "refresh_interval", validity, signerKeyID = "subject_key_id_signer"
            case regenerateOnRevoke = "regenerate_on_revoke"
        }
    }

    /// Lamassu writes the CRL number as a decimal string (its BigInt).
    struct Latest: Encodable {
        var version: String
        var validFrom: Date
        var validUntil: Date

        enum CodingKeys: String, CodingKey { case version, validFrom = "valid_from", validUntil = "valid_until" }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(caSKI, forKey: .caSKI)
        try container.encode(
            Options(
                refreshInterval: options.refreshInterval, validity: options.validity, signerKeyID: caSKI,
                regenerateOnRevoke: options.regenerateOnRevoke), forKey: .options)
        if let latestCRL {
            try container.encode(
                Latest(version: String(latestCRL.number), validFrom: latestCRL.thisUpdate, validUntil: latestCRL.nextUpdate),
                forKey: .latestCRL)
        }
    }
}
