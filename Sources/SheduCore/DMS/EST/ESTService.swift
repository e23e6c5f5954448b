import Foundation
import SheduPKI
import X509

/// Enrollment over Secure Transport (RFC 7030) with the rules of API.md §5: a device proves who
/// it is as its DMS says, sends a CSR, and leaves with its identity bound — the certificate is
/// issued, the device created if the DMS allows it, and the identity bound in one transaction.
public struct ESTService: Sendable {
    let dms: DMSService
    let devices: DeviceService
    let ca: CAService
    let http: any OutboundHTTP
    let clock: any WallClock
    /// Shedu's own TLS CA, distributed when a DMS sets `include_system_ca`.
    let systemCertificates: [Certificate]
    /// Certificates whose CRL or OCSP URL starts here are Shedu's: checked by their status here.
    let publicURL: String
    let crls: CRLCache
    let verifiedChains: VerifiedChainCache
    let webhookTokens: ClientCredentialsTokens

    public init(
        dms: DMSService, devices: DeviceService, ca: CAService, http: any OutboundHTTP, clock: any WallClock,
        systemCertificates: [Certificate], publicURL: String
    ) {
        self.dms = dms
        self.devices = devices
        self.ca = ca
        self.http = http
        self.clock = clock
        self.systemCertificates = systemCertificates
        self.publicURL = publicURL
        crls = CRLCache()
        verifiedChains = VerifiedChainCache()
        webhookTokens = ClientCredentialsTokens()
    }

    // MARK: Distribution

    /// `/cacerts`: the enrollment CA's chain up to its root, the DMS's managed CAs, and Shedu's
    /// TLS CA, as `ca_distribution_settings` says. A revoked or expired CA is no trust anchor to
    /// hand a device, and is left out.
    public func caCertificates(dmsID: String) async throws -> [Certificate] {
        let settings = try await dms.dms(id: dmsID).settings
        var authorities: [CertificateAuthority] = []
        if settings.caDistribution.includeEnrollmentCA {
            authorities += try await ca.chain(of: settings.enrollment.enrollmentCA)
        }
        for id in settings.caDistribution.managedCAs {
            authorities.append(try await ca.ca(id: id))
        }
        let live = authorities.filter { ![.revoked, .expired].contains($0.certificate.status) }
        var certificates = try live.map { try $0.certificate.certificate() }
        if settings.caDistribution.includeSystemCA { certificates += systemCertificates }
        var seen = Set<[UInt8]>()
        certificates = certificates.filter { seen.insert($0.derBytes).inserted }
        guard !certificates.isEmpty else {
            if authorities.isEmpty {
                throw SheduError.notFound("DMS '\(dmsID)' distributes no CA certificates (see its ca_distribution_settings)")
            }
            let left = authorities.map { "'\($0.id)' (\($0.certificate.status.rawValue))" }.joined(separator: ", ")
            throw SheduError.notFound("DMS '\(dmsID)' has no CA certificate to distribute: its CAs are revoked or expired: \(left)")
        }
        return certificates
    }

    /// A DMS with no issuance profile, on a CA without a default one, cannot issue: a device can
    /// change nothing about that (it cannot "pass profile_id"), so the answer names the DMS's
    /// settings as the conflict to resolve.
    static func namingTheDMS<T>(_ dmsID: String, caID: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SheduError where error == CAService.noProfile(caID: caID) {
            throw SheduError.conflict(
                "DMS '\(dmsID)' cannot issue: it names no issuance profile (settings.issuance_profile_id) and its enrollment CA '\(caID)' has no default one")
        }
    }

    /// `/csrattrs`: what the enrollment profile wants in a CSR; nil when it accepts anything.
    public func csrAttributes(dmsID: String) async throws -> [UInt8]? {
        let settings = try await dms.dms(id: dmsID).settings
        let caID = settings.enrollment.enrollmentCA
        let profile = try await Self.namingTheDMS(dmsID, caID: caID) {
            try await ca.issuanceProfile(
                caID: caID, inline: settings.issuanceProfile,
                profileID: settings.issuanceProfileID.isEmpty ? nil : settings.issuanceProfileID)
        }
        let keyPolicy = profile.policy(now: clock.now()).keyPolicy
        guard keyPolicy.enabled else { return nil }
        let caCertificate = try await ca.ca(id: caID).certificate.certificate()
        let algorithm = KeySpec(of: caCertificate.publicKey).map(SignatureAlgorithmIdentifier.init(for:))
        do {
            return try CSRAttributes.encode(for: keyPolicy, caSignatureAlgorithm: algorithm)
        } catch let error as PKIError {
            throw SheduError.internal("CSR attributes of DMS '\(dmsID)': \(error.description)")
        }
    }

    // MARK: Enrollment

    /// `/simpleenroll`: authenticate, check the CSR, then issue and bind the device's identity.
    public func enroll(dmsID: String, csr der: [UInt8], request: ESTRequest) async throws -> CertificateRecord {
        let dms = try await dms.dms(id: dmsID)
        let csr = try Self.parseCSR(der)
        let deviceID = try Self.deviceID(of: csr)
        let authentication = dms.settings.enrollment.est
        try await authenticate(
            authentication, anchors: authentication.clientCertificate.validationCAs, dms: dms, csr: der, deviceID: deviceID,
            request: request)
        try checkSignature(csr, dms: dms)
        return try await issueAndBind(dms: dms, subject: .init(csr: csr, der: der), deviceID: deviceID, renewing: nil)
    }

    /// `/serverkeygen`: as `/simpleenroll`, but for a key Shedu makes; the key goes back to the
    /// device and is not kept.
    public func serverKeyGeneration(dmsID: String, csr der: [UInt8], request: ESTRequest) async throws
        -> (key: SigningKey, certificate: CertificateRecord)
    {
        let dms = try await dms.dms(id: dmsID)
        guard dms.settings.serverKeyGeneration.enabled else {
            throw SheduError.forbidden("DMS '\(dms.id)' does not allow server-side key generation (server_keygen_settings.enabled)")
        }
        let spec = try dms.settings.serverKeyGeneration.key.spec()
        let csr = try Self.parseCSR(der)
        let deviceID = try Self.deviceID(of: csr)
        let authentication = dms.settings.enrollment.est
        try await authenticate(
            authentication, anchors: authentication.clientCertificate.validationCAs, dms: dms, csr: der, deviceID: deviceID,
            request: request)
        try checkSignature(csr, dms: dms)
        let key: SigningKey
        do {
            key = try SigningKey.generate(spec)
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
        let subject = CertificateBuilder.Subject(name: csr.subject, publicKey: key.publicKey, requestedExtensions: try csr.requestedExtensions())
        let record = try await issueAndBind(dms: dms, subject: subject, deviceID: deviceID, renewing: nil)
        return (key, record)
    }

    /// `/simplereenroll`: the device renews with its current certificate, inside the DMS's
    /// re-enrollment window, for the same subject. The caller is authenticated before anything
    /// about the device is looked at, as Lamassu does: otherwise a client without a certificate
    /// could learn which devices exist, which DMS holds each, and which are decommissioned.
    public func reenroll(dmsID: String, csr der: [UInt8], request: ESTRequest) async throws -> CertificateRecord {
        let dms = try await dms.dms(id: dmsID)
        let settings = dms.settings
        let csr = try Self.parseCSR(der)
        let deviceID = try Self.deviceID(of: csr)
        let authentication = settings.reenrollmentAuthentication
        // A renewal may be signed by the enrollment CA, by one it replaced (CA rotation), or by
        // the re-enrollment validation CAs.
        var anchors = [settings.enrollment.enrollmentCA] + settings.reenrollment.additionalValidationCAs
        if let own = settings.reenrollment.est { anchors += own.clientCertificate.validationCAs }
        let chain = try await authenticate(
            authentication, anchors: anchors, dms: dms, csr: der, deviceID: deviceID, request: request,
            allowExpired: settings.reenrollment.enableExpiredRenewal)
        // A device renews its own identity (Lamassu's authentication step): before any lookup, so
        // one device's certificate tells nothing about whether others exist or where.
        if let leaf = chain?.first, case let holder = Subject(leaf.subject).commonName, holder != deviceID {
            throw SheduError.forbidden(
                "the client certificate is device '\(holder)''s; it renews that device only, not '\(deviceID)' (the CSR's common name)")
        }
        guard let device = try await devices.store.device(id: deviceID), let currentSerial = device.activeSerialNumber else {
            throw SheduError.forbidden("device '\(deviceID)' has no identity to renew: enroll it first (simpleenroll)")
        }
        guard device.dmsOwner == dms.id else {
            throw SheduError.forbidden("device '\(deviceID)' is registered to DMS '\(device.dmsOwner)', not '\(dms.id)'")
        }
        guard device.status != .decommissioned else {
            throw SheduError.forbidden("device '\(deviceID)' is DECOMMISSIONED")
        }
        let current = try await ca.certificate(serialNumber: currentSerial)
        if let leaf = chain?.first, leaf.derBytes != current.der {
            throw SheduError.forbidden(
                "the client certificate (serial \(leaf.serialNumber.hexString)) is not device '\(deviceID)''s current certificate (\(currentSerial))")
        }
        guard current.status != .revoked else {
            throw SheduError.forbidden("device '\(deviceID)''s current certificate \(currentSerial) is REVOKED; it cannot be renewed")
        }
        let now = clock.now()
        let notAfter = current.info.notAfter
        if notAfter <= now, !settings.reenrollment.enableExpiredRenewal {
            throw SheduError.forbidden(
                "device '\(deviceID)''s certificate expired at \(RFC3339.format(notAfter)) and DMS '\(dms.id)' does not renew expired certificates (enable_expired_renewal)")
        }
        let opens = notAfter.addingTimeInterval(-settings.reenrollment.reenrollmentDelta.timeInterval)
        if now < opens {
            throw SheduError.forbidden(
                "re-enrollment of device '\(deviceID)' opens at \(RFC3339.format(opens)) (reenrollment_delta \(settings.reenrollment.reenrollmentDelta) before its certificate expires)")
        }
        try await checkRenewalKeepsNames(csr, of: try current.certificate(), dms: dms)
        try checkSignature(csr, dms: dms)
        return try await issueAndBind(dms: dms, subject: .init(csr: csr, der: der), deviceID: deviceID, renewing: currentSerial)
    }

    /// A renewal keeps the names of the certificate it renews (RFC 7030 §4.2.2), where the CA
    /// would copy them from the CSR: a device asks again for its own names, not for new ones.
    /// - The subject, when the profile honors it: the same attributes in the same order with the
    ///   same text, whatever string type (a client may write as PrintableString what the
    ///   certificate holds as UTF8String). A profile that writes the subject takes only the common
    ///   name from the CSR, which names the device and was matched to it already.
    /// - The subject alternative names, when the profile honors requested extensions: the same
    ///   names in any order, DNS names in any case.
    private func checkRenewalKeepsNames(_ csr: CertificateSigningRequest, of current: Certificate, dms: DMS) async throws {
        let settings = dms.settings
        let profile = try await ca.issuanceProfile(
            caID: settings.enrollment.enrollmentCA, inline: settings.issuanceProfile,
            profileID: settings.issuanceProfileID.isEmpty ? nil : settings.issuanceProfileID)
        if profile.honorSubject, csr.subject != current.subject, !csr.subject.hasSameText(as: current.subject) {
            throw SheduError.badRequest(
                "the CSR's subject '\(csr.subject)' differs from the current certificate's '\(current.subject)'; a renewal keeps its subject")
        }
        guard profile.honorExtensions else { return }
        let requested = try Self.alternativeNames(in: try Self.requestedExtensions(of: csr))
        let held = try Self.alternativeNames(in: current.extensions)
        guard requested.count == held.count, Set(requested.map(Self.comparable)) == Set(held.map(Self.comparable)) else {
            func text(_ names: [GeneralName]) -> String {
                names.isEmpty ? "none" : names.map { name in
                    switch name {
                    case .dnsName(let value): "DNS:\(value)"
                    case .rfc822Name(let value): "email:\(value)"
                    case .uniformResourceIdentifier(let value): "URI:\(value)"
                    case .ipAddress(let address): "IP:\(CertificateInfo.ipText(Array(address.bytes)))"
                    default: "\(name)"
                    }
                }.joined(separator: ", ")
            }
            throw SheduError.badRequest(
                "the CSR's subject alternative names (\(text(requested))) differ from the current certificate's (\(text(held))); a renewal keeps them (RFC 7030 §4.2.2)")
        }
    }

    /// A name as compared: DNS names are case-insensitive (RFC 4343).
    private static func comparable(_ name: GeneralName) -> GeneralName {
        if case .dnsName(let value) = name { return .dnsName(value.lowercased()) }
        return name
    }

    private static func alternativeNames(in extensions: Certificate.Extensions?) throws -> [GeneralName] {
        do {
            return Array(try extensions?.subjectAlternativeNames ?? SubjectAlternativeNames())
        } catch {
            throw SheduError.badRequest("the subject alternative names extension does not decode")
        }
    }

    /// Issues a certificate with the enrollment CA and binds it to the device, in one
    /// transaction: a refused enrollment leaves no device, certificate or slot behind.
    /// - Parameter currentSerial: for a renewal, the certificate the device authenticated with.
    func issueAndBind(dms: DMS, subject: CertificateBuilder.Subject, deviceID: String, renewing currentSerial: String?) async throws
        -> CertificateRecord
    {
        let settings = dms.settings
        let renewal = currentSerial != nil
        // The write reads the device and checks it as it is when written (``checkEnrollable(_:dms:renewing:)``),
        // creating it when the DMS provisions just in time; under pre-registration, a device that
        // is not there is refused before anything is signed.
        var creation: (device: Device, events: [DomainEvent])?
        if !renewal {
            if settings.enrollment.registrationMode == .jitp {
                if Device.routeSegments.contains(deviceID), try await devices.store.device(id: deviceID) == nil {
                    try ResourceID.check(deviceID, maximumLength: Device.maximumIDLength, spaces: .inside, field: "the CSR's common name", routeSegments: Device.routeSegments)
                }
                let profile = settings.enrollment.deviceProvisioningProfile
                let device = devices.newDevice(
                    id: deviceID, dmsID: dms.id, tags: profile.tags, metadata: profile.metadata, icon: profile.icon,
                    iconColor: profile.iconColor)
                creation = (device, [try devices.event("device.create", device)])
            } else if try await devices.store.device(id: deviceID) == nil {
                throw SheduError.forbidden(
                    "device '\(deviceID)' is not registered, and DMS '\(dms.id)' only enrolls registered devices (registration_mode PRE_REGISTRATION)")
            }
        }
        return try await issueAndBind(dms: dms, subject: subject, deviceID: deviceID, renewing: currentSerial, creation: creation)
    }

    /// Whether a device may take a new identity from this DMS now.
    /// - Parameter currentSerial: for a renewal, the certificate the device authenticated with.
    static func checkEnrollable(_ device: Device, dms: DMS, renewing currentSerial: String?) throws {
        let renewal = currentSerial != nil
        guard device.dmsOwner == dms.id else {
            throw SheduError.forbidden("device '\(device.id)' is registered to DMS '\(device.dmsOwner)', not '\(dms.id)'")
        }
        guard device.status != .decommissioned else {
            throw SheduError.forbidden("device '\(device.id)' is DECOMMISSIONED and cannot enroll again")
        }
        // Whatever became of the identity, as Lamassu: a revoked or expired one is not replaced
        // either, or a bootstrap certificate would undo a revocation (or enable_expired_renewal).
        if !renewal, device.status != .noIdentity, !dms.settings.enrollment.enableReplaceableEnrollment {
            let next = device.status.hasLiveIdentity ? "renew it with simplereenroll" : "its identity is \(device.status.rawValue)"
            throw SheduError.forbidden(
                "device '\(device.id)' already has an identity and DMS '\(dms.id)' does not replace it (enable_replaceable_enrollment); \(next)")
        }
        // Checked again as written: renewals sent at once with one certificate all passed the
        // checks made before, and each took a new identity; one made while the certificate was
        // revoked would renew it.
        if let currentSerial {
            guard device.activeSerialNumber == currentSerial else {
                throw SheduError.forbidden(
                    "the client certificate (serial \(currentSerial)) is no longer device '\(device.id)''s current certificate (\(device.activeSerialNumber ?? "none")): another renewal took its place")
            }
            guard device.status != .revoked else {
                throw SheduError.forbidden("device '\(device.id)''s current certificate \(currentSerial) is REVOKED; it cannot be renewed")
            }
        }
    }

    private func issueAndBind(
        dms: DMS, subject: CertificateBuilder.Subject, deviceID: String, renewing currentSerial: String?,
        creation: (device: Device, events: [DomainEvent])?
    ) async throws -> CertificateRecord {
        let settings = dms.settings
        let renewal = currentSerial != nil
        let supersede: RevocationReason? =
            renewal ? (settings.reenrollment.revokeOnReenrollment ? .superseded : nil) : .superseded
        let profileID = settings.issuanceProfileID.isEmpty ? nil : settings.issuanceProfileID
        return try await ca.withFreshSerial { _ in
            let prepared = try await Self.namingTheDMS(dms.id, caID: settings.enrollment.enrollmentCA) {
                try await ca.prepareCertificate(
                    caID: settings.enrollment.enrollmentCA, for: subject, profile: settings.issuanceProfile, profileID: profileID)
            }
            var certificate = prepared
            certificate.events.append(
                DomainEvent(
                    type: renewal ? "dms.reenroll" : "dms.enroll", service: "dmsmanager", subject: "device/\(deviceID)",
                    time: prepared.record.creationDate,
                    data: ["certificate": .string(prepared.record.serialNumber), "aps": .string(dms.id)]))
            let plan = try devices.binding(
                deviceID: deviceID, certificate: prepared.record, dms: dms, kind: renewal ? .renewal : .provisioning,
                supersede: supersede, refusingHeldIdentity: !renewal)
            _ = try await devices.store.write(
                id: deviceID, now: plan.now, newCertificate: certificate, createIfMissing: creation
            ) { device in
                try Self.checkEnrollable(device, dms: dms, renewing: currentSerial)
                return try plan.change(&device)
            }
            return prepared.record
        }
    }

    // MARK: Requests

    static func parseCSR(_ der: [UInt8]) throws -> CertificateSigningRequest {
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(derEncoded: der)
        } catch {
            throw SheduError.badRequest(
                CertificateSigningRequest.unsupportedKey(der).map { "the CSR is PKCS#10, but \($0)" }
                    ?? "the request body is not a PKCS#10 certificate request (base64 of its DER)")
        }
        _ = try requestedExtensions(of: csr)
        return csr
    }

    static func requestedExtensions(of csr: CertificateSigningRequest) throws -> Certificate.Extensions? {
        do {
            return try csr.requestedExtensions()
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
    }

    static func deviceID(of csr: CertificateSigningRequest) throws -> String {
        let commonName = Subject(csr.subject).commonName
        guard !commonName.isEmpty else {
            throw SheduError.badRequest("the CSR's subject has no common name (CN); it names the device")
        }
        // The same rule as registration: the id is a path segment of the inventory's API.
        guard Device.canBeID(commonName) else {
            throw SheduError.badRequest(
                "the CSR's common name '\(commonName)' cannot name a device: at most 256 characters, no '/' or control characters, no leading or trailing spaces, and not '.' or '..'")
        }
        return commonName
    }

    func checkSignature(_ csr: CertificateSigningRequest, dms: DMS) throws {
        guard dms.settings.enrollment.verifyCSRSignature, !csr.hasValidSignature else { return }
        throw SheduError.badRequest("the CSR's signature does not verify with the key it carries")
    }
}
