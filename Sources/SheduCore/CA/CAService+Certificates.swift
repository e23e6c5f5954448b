import Foundation
import SheduPKI
import X509

extension CAService {
    /// Signs a CSR with an ACTIVE CA (the profile: inline, `profile_id`, or the CA's default).
    /// The certificate is durable before this returns.
    public func sign(caID: String, _ request: SignCertificateRequest) async throws -> CertificateRecord {
        let context = try await activeIssuer(caID)
        let profile = try await resolveProfile(
            inline: request.profile, id: request.profileID, caDefault: context.ca.profileID, caID: caID, inlineField: "profile")
        if profile.signAsCA { try await requireRoomForSubordinate(of: caID) }
        let now = clock.now()
        let policy = profile.policy(now: now)
        let issuer = issuerMetadata(context.ca)
        return try await withFreshSerial { _ in
            // Checked and signed on the request's own task: it runs on the cooperative pool, not on
            // an event loop, and the database writer has a thread of its own.
            let certificate = try Self.build(
                try Self.verifiedCSR(request.csr), policy: policy, issuer: context.issuer, now: now)
            let record = try CertificateRecord(certificate: certificate, type: .importedWithoutKey, issuer: issuer, creationDate: now)
            try await store.insertCertificate(
                record, newKey: nil, requireActiveCA: caID, events: [issuanceEvent(record, caID: caID, at: now)])
            return record
        }
    }

    /// What a CSR in any of the API's encodings asks to certify, once its signature verifies (400
    /// malformed, 422 forged).
    static func verifiedCSR(_ text: String) throws -> CertificateBuilder.Subject {
        let csr: CertificateSigningRequest
        let subject: CertificateBuilder.Subject
        do {
            let der = try CertificateSigningRequest.der(apiText: text)
            csr = try CertificateSigningRequest(apiDER: der)
            subject = try CertificateBuilder.Subject(csr: csr, der: der)
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
        guard csr.hasValidSignature else {
            throw SheduError.unprocessable("the CSR's signature does not verify with the key it carries")
        }
        return subject
    }

    /// A certificate signed by an ACTIVE CA but not stored yet, for a caller that stores it in its
    /// own transaction (EST enrollment binds it to its device in the same one). Profile precedence
    /// as in ``sign(caID:_:)``.
    public func prepareCertificate(
        caID: String, for subject: CertificateBuilder.Subject, profile inline: IssuanceProfile?, profileID: String?
    ) async throws -> NewCertificate {
        let context = try await activeIssuer(caID)
        let profile = try await resolveProfile(
            inline: inline, id: profileID, caDefault: context.ca.profileID, caID: caID, inlineField: nil)
        if profile.signAsCA { try await requireRoomForSubordinate(of: caID) }
        let now = clock.now()
        let certificate = try build(subject, policy: profile.policy(now: now), issuer: context.issuer, now: now)
        let record = try CertificateRecord(
            certificate: certificate, type: .importedWithoutKey, issuer: issuerMetadata(context.ca), creationDate: now)
        return NewCertificate(record: record, requireActiveCA: caID, events: [issuanceEvent(record, caID: caID, at: now)])
    }

    /// The issuance profile a CA applies with these choices (inline, then `profileID`, then its default).
    public func issuanceProfile(caID: String, inline: IssuanceProfile?, profileID: String?) async throws -> IssuanceProfile {
        try await resolveProfile(
            inline: inline, id: profileID, caDefault: try await ca(id: caID).profileID, caID: caID, inlineField: nil)
    }

    /// A CA and every CA above it, up to its root.
    public func chain(of caID: String) async throws -> [CertificateAuthority] {
        var chain = [try await ca(id: caID)]
        while let parentID = chain.last?.parentID, chain.count < 32, let parent = try await store.ca(id: parentID) {
            chain.append(parent)
        }
        return chain
    }

    /// A key made in the KMS and a certificate for it, signed by an ACTIVE CA (server-side key generation).
    public func createCertificate(_ request: CreateCertificateRequest) async throws -> CertificateRecord {
        let context = try await activeIssuer(request.caID)
        var profile = try await resolveProfile(
            inline: request.issuanceProfile, id: request.issuanceProfileID, caDefault: context.ca.profileID,
            caID: request.caID, inlineField: "issuance_profile")
        if request.issuanceProfile != nil {
            // There is no request to honor usages from.
            profile.honorKeyUsage = false
            profile.honorExtendedKeyUsages = false
        }
        if profile.signAsCA { try await requireRoomForSubordinate(of: request.caID) }
        let name: DistinguishedName
        do {
            name = try request.subject.distinguishedName()
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
        let (key, newKey) = try await certifiedKey(request.keySpec, commonName: request.subject.commonName)
        let publicKey: Certificate.PublicKey
        if let newKey {
            publicKey = try kms.signingKeyOf(newKey).publicKey
        } else {
            publicKey = try await kms.signingKey(keyID: key.id).publicKey
        }
        let now = clock.now()
        let policy = profile.policy(now: now)
        return try await withFreshSerial { serial in
            let certificate = try build(
                .init(name: name, publicKey: publicKey), policy: policy, issuer: context.issuer, serialNumber: serial, now: now)
            var record = try CertificateRecord(
                certificate: certificate, type: .managed, engineID: key.engineID, keyID: key.id,
                issuer: issuerMetadata(context.ca), creationDate: now)
            record.metadata = request.metadata ?? [:]
            try await store.insertCertificate(
                record, newKey: newKey, requireActiveCA: request.caID,
                events: [try event("certificate.create", certificate: record)])
            return record
        }
    }

    /// The key `POST /certificates` certifies: one the KMS holds (`key_identifier`), or a new one
    /// made for it, not stored yet (`newKey`).
    private func certifiedKey(
        _ spec: CreateCertificateRequest.KeySpecification, commonName: String
    ) async throws -> (key: KMSKey, newKey: StoredKey?) {
        if let identifier = spec.keyIdentifier, !identifier.isEmpty {
            let key = try await kms.key(identifier)
            try Self.refuseNewKeySpec(type: spec.type, bits: spec.bits, besides: key, field: "key_spec", idField: "key_identifier")
            // Checked again by the store in the transaction that adds the certificate.
            if let holder = try await store.caID(usingKey: key.id) { throw Self.keyOfCA(key.id, holder: holder) }
            return (key, nil)
        }
        guard let type = spec.type, !type.isEmpty else {
            throw SheduError.badRequest("key_spec needs type (and bits) for a new key, or key_identifier for a key the KMS holds")
        }
        guard let algorithm = KeyAlgorithm(name: type) else {
            throw SheduError.badRequest("key_spec.type '\(type)' is not one of \(KeyAlgorithm.allNames)")
        }
        let keySpec: KeySpec
        do {
            keySpec = try KeySpec(algorithm: algorithm, bits: spec.bits ?? (algorithm == .rsa ? 2048 : 256))
        } catch let error as PKIError {
            throw SheduError.badRequest("key_spec.bits: \(error.description)")
        }
        let prepared = try kms.prepareKey(spec: keySpec, name: "Key for certificate CN=\(commonName)", engineID: spec.engineID)
        return (prepared.key, prepared)
    }

    public static func keyOfCA(_ keyID: String, holder: String) -> SheduError {
        .badRequest("key_spec.key_identifier: key '\(keyID)' is the key of CA '\(holder)', which certifies that CA only")
    }

    /// Adds a certificate issued elsewhere (or by a Shedu CA, recognized by its signature).
    public func importCertificate(_ request: ImportCertificateRequest) async throws -> CertificateRecord {
        let certificate: Certificate
        do {
            certificate = try Certificate(apiText: request.certificate, field: "certificate")
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
        let now = clock.now()
        let issuer = try await findIssuer(of: certificate)
        var record = try CertificateRecord(
            certificate: certificate, status: certificate.notValidAfter <= now ? .expired : .active,
            type: .importedWithoutKey, issuer: issuer.map(issuerMetadata) ?? .unknown, creationDate: now)
        record.metadata = request.metadata ?? [:]
        do {
            return try await store.importCertificate(record, at: now) { stored in
                [try DomainEvent(type: "certificate.import", service: "ca", subject: "certificate/\(stored.serialNumber)", time: now, object: stored)]
            }
        } catch is SerialNumberTaken {
            throw SheduError.conflict("certificate \(record.serialNumber) already exists")
        }
    }

    /// - Parameter caID: the CA that must have issued it (`/cas/{id}/certificates/{sn}`).
    public func certificate(serialNumber: String, issuedBy caID: String? = nil) async throws -> CertificateRecord {
        if let caID { _ = try await ca(id: caID) }
        guard let record = try await store.certificate(serialNumber: Self.normalizedSerial(serialNumber)) else {
            throw SheduError.notFound("certificate '\(serialNumber)' not found")
        }
        if let caID, record.issuer.id != caID {
            throw SheduError.notFound("certificate '\(serialNumber)' was not issued by CA '\(caID)'")
        }
        return record
    }

    public func listCertificates(_ query: ListQuery, scope: CertificateScope = .all) async throws -> Page<CertificateRecord> {
        if case .issuedBy(let caID) = scope { _ = try await ca(id: caID) }
        return try await store.listCertificates(query, scope: scope)
    }

    /// Changes a certificate's status (revoke with a reason, hold and release, ACTIVE ↔ INACTIVE).
    /// For a CA's current certificate this is the CA's status change, cascade included.
    public func updateCertificateStatus(serialNumber: String, _ change: StatusChange) async throws -> CertificateRecord {
        let current = try await certificate(serialNumber: serialNumber)
        if let caID = current.caID, let ca = try await store.ca(id: caID), ca.certificate.serialNumber == current.serialNumber {
            return try await updateCAStatus(id: caID, change).certificate
        }
        let now = clock.now()
        let updated = try await store.updateCertificate(
            serialNumber: current.serialNumber, now: now, statusChange(change, at: now, onlyIfRevocable: false))
        guard let updated else { throw SheduError.notFound("certificate '\(serialNumber)' not found") }
        return updated
    }

    /// The rule of a status change of one certificate, for the store to apply inside its
    /// transaction: checked against API.md §2, recorded as a `certificate.status.update` event.
    /// With `onlyIfRevocable`, a certificate revoked for good or expired (marked or not yet) is
    /// left as it is (a superseded identity that was revoked already); one on hold is revoked for
    /// good too, or a release of the hold would bring back an identity that was replaced or
    /// decommissioned.
    public func statusChange(_ change: StatusChange, at now: Date, onlyIfRevocable: Bool)
        -> @Sendable (inout CertificateRecord) throws -> [DomainEvent]
    {
        { record in
            let held = record.status == .revoked && record.revocationReason == .certificateHold
            if onlyIfRevocable, (record.status != .active && record.status != .inactive && !held) || record.info.notAfter <= now {
                return []
            }
            let previous = record
            let transition = try change.transition(
                from: record.status, reason: record.revocationReason, subject: "certificate \(record.serialNumber)")
            guard transition != .none else { return [] }
            record.apply(transition, at: now)
            return [
                try DomainEvent(
                    type: "certificate.status.update", service: "ca", subject: "certificate/\(record.serialNumber)",
                    time: now, previous: previous, updated: record)
            ]
        }
    }

    /// A metadata change of one certificate, for the store to apply inside its transaction.
    public func metadataChange(at now: Date, _ update: @escaping @Sendable (inout [String: JSONValue]) throws -> Void)
        -> @Sendable (inout CertificateRecord) throws -> [DomainEvent]
    {
        { record in
            let previous = record
            try update(&record.metadata)
            guard record.metadata != previous.metadata else { return [] }
            return [
                try DomainEvent(
                    type: "certificate.metadata.update", service: "ca", subject: "certificate/\(record.serialNumber)",
                    time: now, previous: previous, updated: record)
            ]
        }
    }

    public func updateCertificateMetadata(serialNumber: String, _ update: MetadataUpdate) async throws -> CertificateRecord {
        let now = clock.now()
        let updated = try await store.updateCertificate(
            serialNumber: Self.normalizedSerial(serialNumber), now: now,
            metadataChange(at: now) { metadata in metadata = try update.apply(to: metadata) })
        guard let updated else { throw SheduError.notFound("certificate '\(serialNumber)' not found") }
        return updated
    }

    /// Deletes a certificate whose issuing CA no longer exists.
    public func deleteCertificate(serialNumber: String) async throws {
        let record = try await certificate(serialNumber: serialNumber)
        guard try await store.deleteCertificate(
            serialNumber: record.serialNumber, events: [try event("certificate.delete", certificate: record)])
        else {
            throw SheduError.notFound("certificate '\(serialNumber)' not found")
        }
    }

    public func stats(caFilters: [Filter] = [], certificateFilters: [Filter] = []) async throws -> CAStats {
        var stats = try await store.stats(caFilters: caFilters, certificateFilters: certificateFilters)
        // Every configured engine is counted, with none too, as Lamassu lists them.
        for engine in kms.engineInfos { stats.caEngines[engine.id, default: 0] += 0 }
        return stats
    }

    public func statuses(issuedBy caID: String, filters: [Filter] = []) async throws -> StatusCounts {
        _ = try await ca(id: caID)
        return try await store.certificateStatuses(issuedBy: caID, filters: filters)
    }

    /// Marks everything whose validity ended EXPIRED; returns how many changed.
    @discardableResult
    public func expire() async throws -> Int {
        let now = clock.now()
        var total = 0
        while true {
            let changed = try await store.expireCertificates(before: now, limit: 1000)
            total += changed
            if changed < 1000 { break }
        }
        if total > 0 { invalidate() }
        return total
    }

    func issuerMetadata(_ ca: CertificateAuthority) -> CertificateRecord.IssuerMetadata {
        .init(serialNumber: ca.certificate.serialNumber, id: ca.id, level: ca.level)
    }

    /// The issuance event carries a reference, not the object: it costs nothing on the signing path,
    /// and the object is read when the event is delivered.
    func issuanceEvent(_ record: CertificateRecord, caID: String, at time: Date) -> DomainEvent {
        DomainEvent(
            type: "ca.sign.certificate", service: "ca", subject: "certificate/\(record.serialNumber)", time: time,
            data: ["serial_number": .string(record.serialNumber), "issuer_ca_id": .string(caID)])
    }

    /// Serial numbers as stored: lowercase hex without separators or leading zero bytes.
    public static func normalizedSerial(_ text: String) -> String {
        if isStoredSerialForm(text.utf8) { return text }  // as every serial Shedu itself hands on
        let compact = text.lowercased().filter { $0 != ":" && $0 != "-" }
        return Certificate.SerialNumber(hexString: compact)?.hexString ?? compact
    }

    /// Lowercase hex of even length, at most 20 bytes, with no leading zero byte (but `"00"`).
    private static func isStoredSerialForm(_ utf8: String.UTF8View) -> Bool {
        guard utf8.count % 2 == 0, (2...40).contains(utf8.count) else { return false }
        guard utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return false }
        return utf8.count == 2 || !utf8.starts(with: "00".utf8)
    }
}
