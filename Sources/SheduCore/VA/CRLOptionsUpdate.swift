import Foundation

/// The body of `PUT /api/va/v1/roles/{ca_ski}`: Lamassu's VACRLRole, bare or as `crl_options`.
///
/// A field left out keeps its current value; `subject_key_id_signer` may only name the CA
/// itself, whose key signs its CRLs.
public struct CRLOptionsUpdate: Sendable, Hashable, Decodable {
    public var refreshInterval: TimeDuration?
    public var validity: TimeDuration?
    public var regenerateOnRevoke: Bool?
    public var signerKeyID: String?

    enum CodingKeys: String, CodingKey {
        case refreshInterval = "refresh_interval", validity, regenerateOnRevoke = "regenerate_on_revoke"
        case signerKeyID = "subject_key_id_signer", crlOptions = "crl_options"
    }

    public init(
        refreshInterval: TimeDuration? = nil, validity: TimeDuration? = nil, regenerateOnRevoke: Bool? = nil,
        signerKeyID: String? = nil
    ) {
        self.refreshInterval = refreshInterval
        self.validity = validity
        self.regenerateOnRevoke = regenerateOnRevoke
        self.signerKeyID = signerKeyID
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.crlOptions) {
            // The role as GET answers it, edited and sent back, is accepted as it is.
            try decoder.refuseUnknownMembers(known: ["ca_ski", "crl_options", "latest_crl"], in: "a CRL role")
            self = try container.decode(CRLOptionsUpdate.self, forKey: .crlOptions)
            return
        }
        let options = ["refresh_interval", "validity", "regenerate_on_revoke", "subject_key_id_signer"]
        try decoder.refuseUnknownMembers(known: Set(options), in: "the CRL options")
        guard !container.allKeys.isEmpty else {
            throw SheduError.badRequest("the body names no CRL option: give one or more of \(options.joined(separator: ", "))")
        }
        refreshInterval = try container.decodeIfPresent(TimeDuration.self, forKey: .refreshInterval)
        validity = try container.decodeIfPresent(TimeDuration.self, forKey: .validity)
        regenerateOnRevoke = try container.decodeIfPresent(Bool.self, forKey: .regenerateOnRevoke)
        signerKeyID = try container.decodeIfPresent(String.self, forKey: .signerKeyID)
    }

    /// `current` with this update applied, checked.
    public func applied(to current: CRLOptions, caSKI: String) throws -> CRLOptions {
        if let signerKeyID, !signerKeyID.isEmpty, signerKeyID.lowercased() != caSKI {
            throw SheduError.badRequest(
                "subject_key_id_signer '\(signerKeyID)' is not the CA's own key '\(caSKI)', which signs its CRLs")
        }
        var options = current
        if let refreshInterval { options.refreshInterval = refreshInterval }
        if let validity { options.validity = validity }
        if let regenerateOnRevoke { options.regenerateOnRevoke = regenerateOnRevoke }
        try options.validate()
        return options
    }
}
