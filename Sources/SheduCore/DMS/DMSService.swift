import Foundation
import SheduPKI

/// DMS records (API.md §5): create, read, update and delete, with settings that must name CAs
/// and profiles that exist.
public struct DMSService: Sendable {
    let store: any DMSStore
    let ca: CAService
    let profiles: IssuanceProfileService
    let clock: any WallClock

    public init(store: any DMSStore, ca: CAService, profiles: IssuanceProfileService, clock: any WallClock) {
        self.store = store
        self.ca = ca
        self.profiles = profiles
        self.clock = clock
    }

    public static func notFound(_ id: String) -> SheduError { .notFound("DMS '\(id)' not found") }

    public func create(_ request: DMSRequest) async throws -> DMS {
        guard let id = request.id, !id.isEmpty else {
            throw SheduError.badRequest("id is required")
        }
        try Self.validateID(id)
        try Self.checkName(request.name)
        let dms = DMS(
            id: id, name: request.name ?? id, metadata: request.metadata ?? [:], creationDate: clock.now(),
            settings: request.settings ?? DMSSettings())
        try await validate(dms.settings)
        try await store.insert(dms, events: [try event("dms.create", dms)])
        return dms
    }

    public func dms(id: String) async throws -> DMS {
        guard let dms = try await store.dms(id: id) else { throw Self.notFound(id) }
        return dms
    }

    public func list(_ query: ListQuery) async throws -> Page<DMS> {
        try await store.list(query)
    }

    /// `PUT /dms/{id}`: a full replacement, as Lamassu's; the id and creation time stay. What the
    /// body leaves out takes the value a new DMS would have (name = id, no metadata, settings
    /// checked as at creation), so the body is the whole DMS.
    public func replace(id: String, _ request: DMSRequest) async throws -> DMS {
        if let bodyID = request.id, !bodyID.isEmpty, bodyID != id {
            throw SheduError.badRequest("id '\(bodyID)' in the body differs from '\(id)' in the path")
        }
        try Self.checkName(request.name)
        let settings = request.settings ?? DMSSettings()
        try await validate(settings)
        let now = clock.now()
        let updated = try await store.update(id: id, now: now) { dms in
            let previous = dms
            dms.name = request.name ?? id
            dms.metadata = request.metadata ?? [:]
            dms.settings = settings
            return [try DomainEvent(type: "dms.update", service: "dmsmanager", subject: "dms/\(id)", time: now, previous: previous, updated: dms)]
        }
        guard let updated else { throw Self.notFound(id) }
        return updated
    }

    public func updateMetadata(id: String, _ update: MetadataUpdate) async throws -> DMS {
        let now = clock.now()
        let updated = try await store.update(id: id, now: now) { dms in
            let previous = dms
            dms.metadata = try update.apply(to: dms.metadata)
            return [
                try DomainEvent(
                    type: "dms.metadata.update", service: "dmsmanager", subject: "dms/\(id)", time: now, previous: previous,
                    updated: dms)
            ]
        }
        guard let updated else { throw Self.notFound(id) }
        return updated
    }

    public func delete(id: String) async throws {
        let dms = try await dms(id: id)
        guard try await store.delete(id: id, events: [try event("dms.delete", dms)]) else { throw Self.notFound(id) }
    }

    public func count(filters: [Filter]) async throws -> Int {
        try await store.count(filters: filters)
    }

    /// Settings are checked before they are stored: every CA and profile they name exists, the
    /// windows are ordered, and a webhook mode has a URL.
    func validate(_ settings: DMSSettings) async throws {
        if settings.enrollment.enrollmentCA.isEmpty {
            throw SheduError.badRequest("settings.enrollment_settings.enrollment_ca is required")
        }
        // Where each CA id was first named, by list: a list that names a CA twice is a mistake.
        var named: [Substring: [String: String]] = [:]
        for (field, id) in settings.referencedCAs {
            let list = field.split(separator: "[").first ?? Substring(field)
            if let earlier = named[list]?[id] {
                throw SheduError.badRequest("settings.\(field): CA '\(id)' is already named at settings.\(earlier)")
            }
            named[list, default: [:]][id] = field
            let authority: CertificateAuthority
            do {
                authority = try await ca.ca(id: id)
            } catch let error as SheduError where error.kind == .notFound {
                throw SheduError.badRequest("settings.\(field): CA '\(id)' does not exist")
            }
            if id == settings.enrollment.enrollmentCA { try Self.checkCanEnroll(with: authority) }
        }
        // Devices enrolling through it would get API credentials, with no caller to check then.
        try await ca.requireAdminForAPICredentials(of: settings.enrollment.enrollmentCA)
        try Device.checkTags(
            settings.enrollment.deviceProvisioningProfile.tags,
            field: "settings.enrollment_settings.device_provisioning_profile.tags")
        try settings.issuanceProfile?.checkRules(field: "settings.issuance_profile")
        if !settings.issuanceProfileID.isEmpty {
            do {
                _ = try await profiles.profile(id: settings.issuanceProfileID)
            } catch let error as SheduError where error.kind == .notFound {
                throw SheduError.badRequest("settings.issuance_profile_id: issuance profile '\(settings.issuanceProfileID)' does not exist")
            }
        }
        let windows = settings.reenrollment
        guard windows.criticalDelta <= windows.preventiveDelta else {
            throw SheduError.badRequest(
                "settings.reenrollment_settings.critical_delta (\(windows.criticalDelta)) must not be longer than preventive_delta (\(windows.preventiveDelta))")
        }
        for (name, authentication) in [("enrollment_settings", settings.enrollment.est), ("reenrollment_settings", settings.reenrollment.est)] {
            guard let authentication else { continue }
            if authentication.authMode.callsWebhook {
                let url = authentication.externalWebhook.url
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                    throw SheduError.badRequest(
                        "settings.\(name).est_rfc7030_settings.external_webhook_settings.url must be an http(s) URL for auth mode \(authentication.authMode.rawValue)")
                }
                guard ["POST", "PUT"].contains(authentication.externalWebhook.method) else {
                    throw SheduError.badRequest(
                        "settings.\(name).est_rfc7030_settings.external_webhook_settings.method must be POST or PUT")
                }
                let field = "settings.\(name).est_rfc7030_settings.external_webhook_settings"
                let callAuthentication: ExternalWebhookSettings.CallAuthentication
                do {
                    callAuthentication = try authentication.externalWebhook.callAuthentication()
                } catch {
                    throw SheduError.badRequest("\(field).\(error.field) \(error.problem)")
                }
                if let timeout = authentication.externalWebhook.config["call_timeout"], timeout != .null {
                    guard case .string(let text) = timeout, let duration = try? TimeDuration(parsing: text), duration > .zero else {
                        throw SheduError.badRequest("\(field).config.call_timeout must be a positive duration such as 10s, not \((try? DomainJSON.text(timeout)) ?? "that")")
                    }
                }
                if case .mutualTLS(let certificateFile, let keyFile) = callAuthentication {
                    for (name, path) in [("cert", certificateFile), ("key", keyFile)] where !FileManager.default.isReadableFile(atPath: path) {
                        throw SheduError.badRequest("\(field).config.mtls.\(name): no readable file at '\(path)' on the server")
                    }
                }
            }
            let chainLevel = authentication.clientCertificate.chainLevelValidation
            guard chainLevel >= -1 else {
                throw SheduError.badRequest(
                    "settings.\(name).est_rfc7030_settings.client_certificate_settings.chain_level_validation must be -1 (the whole chain) or the number of certificates to verify, not \(chainLevel)")
            }
            if authentication.authMode.checksClientCertificate, authentication.clientCertificate.validationCAs.isEmpty,
                name == "enrollment_settings"
            {
                throw SheduError.badRequest(
                    "settings.enrollment_settings.est_rfc7030_settings.client_certificate_settings.validation_cas must name at least one CA for auth mode \(authentication.authMode.rawValue)")
            }
        }
        // Checked even while disabled: turning it on later must not reveal a key it cannot make.
        let spec = try settings.serverKeyGeneration.key.spec()
        if settings.serverKeyGeneration.enabled {
            // The key the server makes must pass the profile that signs it, or every
            // /serverkeygen fails with a refusal the device cannot act on.
            let profile = try? await ca.issuanceProfile(
                caID: settings.enrollment.enrollmentCA, inline: settings.issuanceProfile,
                profileID: settings.issuanceProfileID.isEmpty ? nil : settings.issuanceProfileID)
            if let profile {
                do {
                    try profile.policy(now: clock.now()).keyPolicy.check(spec)
                } catch let error as PKIError {
                    throw SheduError.badRequest("settings.server_keygen_settings.key: \(error.description)")
                }
            }
        }
    }

    /// Refuses an enrollment CA that can never sign again (EXPIRED, REVOKED other than on hold)
    /// or never could (imported without its key): every enrollment through the DMS would fail.
    static func checkCanEnroll(with authority: CertificateAuthority) throws {
        let field = "settings.enrollment_settings.enrollment_ca"
        if authority.certificate.type == .importedWithoutKey {
            throw SheduError.badRequest("\(field): CA '\(authority.id)' was imported without its private key and cannot sign enrollments")
        }
        let onHold = authority.status == .revoked && authority.certificate.revocationReason == .certificateHold
        guard authority.status != .expired, authority.status != .revoked || onHold else {
            throw SheduError.badRequest("\(field): CA '\(authority.id)' is \(authority.status.rawValue) and will sign nothing again; name an ACTIVE CA")
        }
    }

    /// Refuses an empty name; a body without one names the DMS after its id.
    static func checkName(_ name: String?) throws {
        if let name { try IndexedText.check(name, field: "name") }
        guard let name, name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
        throw SheduError.badRequest("name must not be empty; leave it out to name the DMS after its id")
    }

    static func validateID(_ id: String) throws {
        // `POST /dms/bind-identity`.
        try ResourceID.check(id, maximumLength: 128, spaces: .refused, routeSegments: ["bind-identity"])
    }

    func event(_ type: String, _ dms: DMS) throws -> DomainEvent {
        try DomainEvent(type: type, service: "dmsmanager", subject: "dms/\(dms.id)", time: clock.now(), object: dms)
    }
}
