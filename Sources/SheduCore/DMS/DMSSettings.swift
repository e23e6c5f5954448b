import Foundation
import SheduPKI

/// How an EST client proves who it is (API.md §5).
public enum ESTAuthMode: String, NamedCase, Codable {
    case clientCertificate = "CLIENT_CERTIFICATE"
    case noAuth = "NO_AUTH"
    case externalWebhook = "EXTERNAL_WEBHOOK"
    case clientCertificateAndExternalWebhook = "CLIENT_CERTIFICATE_AND_EXTERNAL_WEBHOOK"

    public var checksClientCertificate: Bool { self == .clientCertificate || self == .clientCertificateAndExternalWebhook }
    public var callsWebhook: Bool { self == .externalWebhook || self == .clientCertificateAndExternalWebhook }
}

/// Whether EST may create the device it enrolls (JITP) or the device must be registered first.
public enum RegistrationMode: String, NamedCase, Codable {
    case jitp = "JITP"
    case preRegistration = "PRE_REGISTRATION"
}

public enum EnrollmentProtocol: String, NamedCase, Codable {
    case est = "EST_RFC7030"
}

/// The settings tree of a DMS, in Lamassu's shape; every part may be left out and gets the
/// default Lamassu's UI creates.
public struct DMSSettings: Sendable, Hashable {
    public var enrollment: EnrollmentSettings
    public var reenrollment: ReenrollmentSettings
    public var serverKeyGeneration: ServerKeyGenerationSettings
    public var caDistribution: CADistributionSettings
    public var issuanceProfileID: String
    public var issuanceProfile: IssuanceProfile?

    public init(
        enrollment: EnrollmentSettings = .init(), reenrollment: ReenrollmentSettings = .init(),
        serverKeyGeneration: ServerKeyGenerationSettings = .init(), caDistribution: CADistributionSettings = .init(),
        issuanceProfileID: String = "", issuanceProfile: IssuanceProfile? = nil
    ) {
        self.enrollment = enrollment
        self.reenrollment = reenrollment
        self.serverKeyGeneration = serverKeyGeneration
        self.caDistribution = caDistribution
        self.issuanceProfileID = issuanceProfileID
        self.issuanceProfile = issuanceProfile
    }

    /// The authentication of `/simplereenroll`: its own when set, else the enrollment's.
    public var reenrollmentAuthentication: ESTAuthenticationSettings {
        reenrollment.est ?? enrollment.est
    }

    /// Every CA id the settings name, with where it is named (for validation).
    public var referencedCAs: [(field: String, id: String)] {
        var references = [("enrollment_settings.enrollment_ca", enrollment.enrollmentCA)]
        for (index, id) in enrollment.est.clientCertificate.validationCAs.enumerated() {
            references.append(("enrollment_settings.est_rfc7030_settings.client_certificate_settings.validation_cas[\(index)]", id))
        }
        if let est = reenrollment.est {
            for (index, id) in est.clientCertificate.validationCAs.enumerated() {
                references.append(("reenrollment_settings.est_rfc7030_settings.client_certificate_settings.validation_cas[\(index)]", id))
            }
        }
        for (index, id) in reenrollment.additionalValidationCAs.enumerated() {
            references.append(("reenrollment_settings.additional_validation_cas[\(index)]", id))
        }
        for (index, id) in caDistribution.managedCAs.enumerated() {
            references.append(("ca_distribution_settings.managed_cas[\(index)]", id))
        }
        return references
    }
}

extension DMSSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case enrollment = "enrollment_settings", reenrollment = "reenrollment_settings"
        case serverKeyGeneration = "server_keygen_settings", caDistribution = "ca_distribution_settings"
        case issuanceProfileID = "issuance_profile_id", issuanceProfile = "issuance_profile"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        enrollment = try container.decode(.enrollment, default: .init())
        reenrollment = try container.decode(.reenrollment, default: .init())
        serverKeyGeneration = try container.decode(.serverKeyGeneration, default: .init())
        caDistribution = try container.decode(.caDistribution, default: .init())
        issuanceProfileID = try container.decode(.issuanceProfileID, default: "")
        issuanceProfile = try container.decodeIfPresent(IssuanceProfile.self, forKey: .issuanceProfile)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enrollment, forKey: .enrollment)
        try container.encode(reenrollment, forKey: .reenrollment)
        try container.encode(serverKeyGeneration, forKey: .serverKeyGeneration)
        try container.encode(caDistribution, forKey: .caDistribution)
        try container.encode(issuanceProfileID, forKey: .issuanceProfileID)
        try container.encode(issuanceProfile, forKey: .issuanceProfile)
    }
}

/// `enrollment_settings`: which CA signs, who may enroll, and what a new device looks like.
public struct EnrollmentSettings: Sendable, Hashable {
    public var enrollmentProtocol: EnrollmentProtocol = .est
    public var enrollmentCA: String = ""
    public var registrationMode: RegistrationMode = .jitp
    public var enableReplaceableEnrollment = true
    public var verifyCSRSignature = true
    public var est = ESTAuthenticationSettings()
    public var deviceProvisioningProfile = DeviceProvisioningProfile()

    public init() {}
}

extension EnrollmentSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case enrollmentProtocol = "protocol", enrollmentCA = "enrollment_ca", registrationMode = "registration_mode"
        case enableReplaceableEnrollment = "enable_replaceable_enrollment", verifyCSRSignature = "verify_csr_signature"
        case est = "est_rfc7030_settings", deviceProvisioningProfile = "device_provisioning_profile"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        enrollmentProtocol = try container.decodeNamed(.enrollmentProtocol, default: .est)
        enrollmentCA = try container.decode(.enrollmentCA, default: "")
        registrationMode = try container.decodeNamed(.registrationMode, default: .jitp)
        enableReplaceableEnrollment = try container.decode(.enableReplaceableEnrollment, default: true)
        verifyCSRSignature = try container.decode(.verifyCSRSignature, default: true)
        est = try container.decode(.est, default: .init())
        deviceProvisioningProfile = try container.decode(.deviceProvisioningProfile, default: .init())
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enrollmentProtocol, forKey: .enrollmentProtocol)
        try container.encode(enrollmentCA, forKey: .enrollmentCA)
        try container.encode(registrationMode, forKey: .registrationMode)
        try container.encode(enableReplaceableEnrollment, forKey: .enableReplaceableEnrollment)
        try container.encode(verifyCSRSignature, forKey: .verifyCSRSignature)
        try container.encode(est, forKey: .est)
        try container.encode(deviceProvisioningProfile, forKey: .deviceProvisioningProfile)
    }
}

/// `est_rfc7030_settings`: the authentication mode and its parameters.
public struct ESTAuthenticationSettings: Sendable, Hashable {
    public var authMode: ESTAuthMode = .clientCertificate
    public var clientCertificate = ClientCertificateSettings()
    public var externalWebhook = ExternalWebhookSettings()

    public init(authMode: ESTAuthMode = .clientCertificate, clientCertificate: ClientCertificateSettings = .init()) {
        self.authMode = authMode
        self.clientCertificate = clientCertificate
    }
}

extension ESTAuthenticationSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case authMode = "auth_mode", clientCertificate = "client_certificate_settings"
        case externalWebhook = "external_webhook_settings"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        authMode = try container.decodeNamed(.authMode, default: .clientCertificate)
        clientCertificate = try container.decode(.clientCertificate, default: .init())
        externalWebhook = try container.decode(.externalWebhook, default: .init())
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(authMode, forKey: .authMode)
        try container.encode(clientCertificate, forKey: .clientCertificate)
        try container.encode(externalWebhook, forKey: .externalWebhook)
    }
}

/// `client_certificate_settings`: which CAs a client certificate must chain to.
public struct ClientCertificateSettings: Sendable, Hashable {
    public var validationCAs: [String] = []
    /// How many certificates of the presented chain count (-1: all).
    public var chainLevelValidation = -1
    public var allowExpired = false

    public init(validationCAs: [String] = [], chainLevelValidation: Int = -1, allowExpired: Bool = false) {
        self.validationCAs = validationCAs
        self.chainLevelValidation = chainLevelValidation
        self.allowExpired = allowExpired
    }
}

extension ClientCertificateSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case validationCAs = "validation_cas", chainLevelValidation = "chain_level_validation"
        case allowExpired = "allow_expired"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        validationCAs = try container.decode(.validationCAs, default: [])
        chainLevelValidation = try container.decode(.chainLevelValidation, default: -1)
        allowExpired = try container.decode(.allowExpired, default: false)
    }
}

/// `external_webhook_settings`: where enrollment asks for permission.
public struct ExternalWebhookSettings: Sendable, Hashable {
    public var name = ""
    public var url = ""
    public var method = "POST"
    /// Lamassu's `config` (timeouts, authentication of the call); kept as given.
    public var config: JSONValue = .object([:])

    public init() {}

    /// `config.call_timeout`, 10 s by default as in Lamassu.
    public var callTimeout: TimeDuration {
        if case .string(let text)? = config["call_timeout"], let duration = try? TimeDuration(parsing: text) {
            return duration
        }
        return .seconds(10)
    }

    /// `config.validate_server_cert`. Unset, Shedu verifies the webhook's certificate (Lamassu's
    /// unset value skips it); `false` skips it, for a webhook with a self-signed certificate.
    public var verifiesServerCertificate: Bool {
        config["validate_server_cert"]?.boolValue ?? true
    }

    /// How the call proves who makes it (Lamassu's `config.auth_mode`).
    public enum CallAuthentication: Sendable, Hashable {
        case none
        /// A header carrying a key (`config.apikey {header, key}`).
        case apiKey(header: String, key: String)
        /// A client certificate and key, from files on the server (`config.mtls {cert, key}`).
        case mutualTLS(certificateFile: String, keyFile: String)
        /// An OIDC access token from the client-credentials grant (`config.oidc {client_id,
        /// client_secret, well_known}`), sent as a bearer token.
        case clientCredentials(wellKnownURL: String, clientID: String, clientSecret: String)
    }

    /// The call's authentication; throws the `config` field that is missing or wrong, as a path.
    public func callAuthentication() throws(SettingProblem) -> CallAuthentication {
        func text(_ object: String, _ field: String) throws(SettingProblem) -> String {
            guard let value = config[object]?[field]?.stringValue, !value.isEmpty else {
                throw SettingProblem(field: "config.\(object).\(field)", problem: "is required for auth_mode \(config["auth_mode"]?.stringValue ?? "")")
            }
            return value
        }
        switch (config["auth_mode"]?.stringValue ?? "").lowercased() {
        case "", "noauth":
            return .none
        case "apikey":
            return .apiKey(header: try text("apikey", "header"), key: try text("apikey", "key"))
        case "mtls":
            return .mutualTLS(certificateFile: try text("mtls", "cert"), keyFile: try text("mtls", "key"))
        case "jwt":
            return .clientCredentials(
                wellKnownURL: try text("oidc", "well_known"), clientID: try text("oidc", "client_id"),
                clientSecret: try text("oidc", "client_secret"))
        case let other:
            throw SettingProblem(field: "config.auth_mode", problem: "'\(other)' is not one of noauth, apikey, mtls, jwt")
        }
    }

    /// The settings with the call's credentials (`apikey.key`, `oidc.client_secret`) masked, for
    /// a reader who may not change them.
    public var withCredentialsMasked: ExternalWebhookSettings {
        guard var members = config.objectValue else { return self }
        for (object, field) in [("apikey", "key"), ("oidc", "client_secret")] {
            guard var credentials = members[object]?.objectValue, credentials[field] != nil else { continue }
            credentials[field] = .string(Self.maskedCredential)
            members[object] = .object(credentials)
        }
        var masked = self
        masked.config = .object(members)
        return masked
    }

    public static let maskedCredential = "********"

    /// A field of the settings and what is wrong with it.
    public struct SettingProblem: Error, Sendable {
        public var field: String
        public var problem: String
    }
}

extension ExternalWebhookSettings: Codable {
    enum CodingKeys: String, CodingKey { case name, url, method, config }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
        url = try container.decode(.url, default: "")
        method = try container.decode(.method, default: "POST").uppercased()
        config = try container.decode(.config, default: .object([:]))
    }
}

/// `device_provisioning_profile`: what a device created by enrollment starts with.
public struct DeviceProvisioningProfile: Sendable, Hashable {
    public var icon = ""
    public var iconColor = ""
    public var metadata: [String: JSONValue] = [:]
    public var tags: [String] = []

    public init() {}
}

extension DeviceProvisioningProfile: Codable {
    enum CodingKeys: String, CodingKey { case icon, iconColor = "icon_color", metadata, tags }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        icon = try container.decode(.icon, default: "")
        iconColor = try container.decode(.iconColor, default: "")
        metadata = try container.decode(.metadata, default: [:])
        tags = try container.decode(.tags, default: [])
    }
}

/// `reenrollment_settings`: when and how a device renews its certificate, and the windows that
/// move its status (API.md §4).
public struct ReenrollmentSettings: Sendable, Hashable {
    /// Its own authentication for `/simplereenroll`; nil means the enrollment's.
    public var est: ESTAuthenticationSettings?
    public var additionalValidationCAs: [String] = []
    public var revokeOnReenrollment = false
    public var reenrollmentDelta = TimeDuration.days(7)
    public var enableExpiredRenewal = false
    public var preventiveDelta = TimeDuration.days(7)
    public var criticalDelta = TimeDuration.days(3)

    public init() {}
}

extension ReenrollmentSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case est = "est_rfc7030_settings", additionalValidationCAs = "additional_validation_cas"
        case revokeOnReenrollment = "revoke_on_reenrollment", reenrollmentDelta = "reenrollment_delta"
        case enableExpiredRenewal = "enable_expired_renewal", preventiveDelta = "preventive_delta"
        case criticalDelta = "critical_delta"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        est = try container.decodeIfPresent(ESTAuthenticationSettings.self, forKey: .est)
        additionalValidationCAs = try container.decode(.additionalValidationCAs, default: [])
        revokeOnReenrollment = try container.decode(.revokeOnReenrollment, default: false)
        reenrollmentDelta = try container.decode(.reenrollmentDelta, default: .days(7))
        enableExpiredRenewal = try container.decode(.enableExpiredRenewal, default: false)
        preventiveDelta = try container.decode(.preventiveDelta, default: .days(7))
        criticalDelta = try container.decode(.criticalDelta, default: .days(3))
    }
}

/// `server_keygen_settings`: whether `/serverkeygen` is open, and the key it makes.
public struct ServerKeyGenerationSettings: Sendable, Hashable {
    public struct Key: Sendable, Hashable, Codable {
        public var type: String
        public var bits: Int

        public init(type: String = "ECDSA", bits: Int = 256) {
            self.type = type
            self.bits = bits
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decode(.type, default: "ECDSA")
            bits = try container.decode(.bits, default: type.uppercased() == "RSA" ? 2048 : 256)
        }
    }

    public var enabled = false
    public var key = Key()

    public init() {}
}

extension ServerKeyGenerationSettings: Codable {
    enum CodingKeys: String, CodingKey { case enabled, key }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try container.decode(.enabled, default: false)
        key = try container.decode(.key, default: .init())
    }
}

/// `ca_distribution_settings`: what `/cacerts` returns besides the enrollment CA's chain.
public struct CADistributionSettings: Sendable, Hashable {
    public var includeEnrollmentCA = true
    /// Shedu's own TLS CA (Lamassu's "system CA").
    public var includeSystemCA = false
    public var managedCAs: [String] = []

    public init() {}
}

extension CADistributionSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case includeEnrollmentCA = "include_enrollment_ca", includeSystemCA = "include_system_ca"
        case managedCAs = "managed_cas"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        includeEnrollmentCA = try container.decode(.includeEnrollmentCA, default: true)
        includeSystemCA = try container.decode(.includeSystemCA, default: false)
        managedCAs = try container.decode(.managedCAs, default: [])
    }
}

extension ServerKeyGenerationSettings.Key {
    /// The key kind to generate; a 400 naming the field when it is not one Shedu makes.
    public func spec() throws -> KeySpec {
        guard let algorithm = KeyAlgorithm(name: type) else {
            throw SheduError.badRequest("settings.server_keygen_settings.key.type '\(type)' is not one of \(KeyAlgorithm.allNames)")
        }
        do {
            return try KeySpec(algorithm: algorithm, bits: bits)
        } catch let error as PKIError {
            throw SheduError.badRequest("settings.server_keygen_settings.key.bits: \(error.description)")
        }
    }
}
