import Foundation
import SheduPKI
import X509

extension CAService {
    /// Creates a root CA (no `parent_id`) or a subordinate signed by its ACTIVE parent.
    public func createCA(_ request: CreateCARequest) async throws -> CertificateAuthority {
        let id = try Self.checkedID(request.id)
        guard !request.subject.commonName.isEmpty else {
            throw SheduError.badRequest("subject.common_name is required")
        }
        if try await store.ca(id: id) != nil { throw SheduError.conflict("CA '\(id)' already exists") }
        try requireAdminToCreate(id, metadata: request.metadata)
        if let profileID = request.profileID, !profileID.isEmpty { _ = try await profiles.profile(id: profileID) }

        // The CA certificate's own profile: inline, by id, or the default made from ca_expiration.
        let caProfile: IssuanceProfile
        if let inline = request.caIssuanceProfile {
            try inline.checkRules(field: "ca_issuance_profile")
            caProfile = inline
        } else if let profileID = request.caIssuanceProfileID, !profileID.isEmpty {
            caProfile = try await profiles.profile(id: profileID)
        } else {
            guard let validity = request.caExpiration else {
                throw SheduError.badRequest("ca_expiration is required (or a CA issuance profile with a validity)")
            }
            caProfile = .defaultCA(validity: validity)
        }
        guard caProfile.signAsCA else {
            throw SheduError.badRequest("the CA issuance profile must have sign_as_ca true")
        }

        // The key: an existing KMS key, or a new one.
        var newKey: StoredKey?
        let signingKey: SigningKey
        let keyID: String
        let engineID: String
        if let existing = request.keyMetadata?.keyID, !existing.isEmpty {
            let key = try await kms.key(existing)
            try Self.refuseNewKeySpec(
                type: request.keyMetadata?.type, bits: request.keyMetadata?.bits, besides: key, field: "key_metadata", idField: "key_id")
            try await refuseSharedKey(key.id)
            signingKey = try await kms.signingKey(keyID: key.id)
            keyID = key.id
            engineID = key.engineID
        } else {
            let typeName = request.keyMetadata?.type ?? "ECDSA"
            guard let algorithm = KeyAlgorithm(name: typeName) else {
                throw SheduError.badRequest("key_metadata.type '\(typeName)' is not one of \(KeyAlgorithm.allNames)")
            }
            let spec: KeySpec
            do {
                spec = try KeySpec(algorithm: algorithm, bits: request.keyMetadata?.bits ?? (algorithm == .rsa ? 3072 : 256))
            } catch let error as PKIError {
                throw SheduError.badRequest("key_metadata.bits: \(error.description)")
            }
            let prepared = try kms.prepareKey(spec: spec, name: "Key for CA CN=\(request.subject.commonName)", engineID: request.engineID)
            newKey = prepared
            signingKey = try kms.signingKeyOf(prepared)
            keyID = prepared.key.id
            engineID = prepared.key.engineID
        }

        let now = clock.now()
        let name: DistinguishedName
        do {
            name = try request.subject.distinguishedName()
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
        let subject = CertificateBuilder.Subject(name: name, publicKey: signingKey.publicKey)
        var parent: IssuerContext?
        if let parentID = request.parentID, !parentID.isEmpty {
            parent = try await activeIssuer(parentID)
            try await requireRoomForSubordinate(of: parentID)
        }
        let ca = try await withFreshSerial { serial in
            let certificate = try build(
                subject, policy: caProfile.policy(now: now), issuer: parent?.issuer, selfSigningKey: signingKey,
                serialNumber: serial, now: now)
            let record = try CertificateRecord(
                certificate: certificate, type: .managed, engineID: engineID, keyID: keyID, caID: id,
                issuer: parent.map {
                    .init(serialNumber: $0.ca.certificate.serialNumber, id: $0.ca.id, level: $0.ca.level)
                } ?? .init(serialNumber: certificate.serialNumber.hexString, id: id, level: 0),
                creationDate: now)
            let ca = CertificateAuthority(
                id: id, certificate: record, metadata: request.metadata ?? [:], creationDate: now,
                level: parent.map { $0.ca.level + 1 } ?? 0, profileID: request.profileID, parentID: parent?.ca.id,
                keyID: keyID)
            try await store.insertCA(
                ca, newKey: newKey, requireActiveParent: parent?.ca.id, reparent: [],
                adopt: try await adoptableCertificates(issuedBy: certificate, caID: id, newKey: newKey != nil),
                events: [try event("ca.create", ca: ca)])
            return ca
        }
        return ca
    }

    /// Certificates whose issuing CA was deleted and that `certificate` signed: a CA made again
    /// with the same key (a re-import) takes them back, so its CRL and OCSP answers cover them.
    /// - Parameter newKey: the key was made for this CA, so nothing can have been signed with it.
    func adoptableCertificates(issuedBy certificate: Certificate, caID: String, newKey: Bool = false) async throws -> [String] {
        let keyIdentifier = Hex.encode(certificate.subjectKeyIdentifierBytes ?? certificate.publicKey.keyIdentifier)
        return try await store.orphanCertificates(authorityKeyID: newKey ? nil : keyIdentifier, caID: caID).compactMap { orphan in
            guard let issued = try? Certificate(derEncoded: orphan.der), issued.issuer == certificate.subject,
                certificate.publicKey.isValidSignature(issued.signature, for: issued)
            else { return nil }
            return orphan.serialNumber
        }
    }

    /// Imports a CA certificate, with or without its key. Its parent is found among Shedu's CAs
    /// (issuer name, authority key id, signature), and CAs it issued become its children.
    public func importCA(_ request: ImportCARequest) async throws -> CertificateAuthority {
        let id = try Self.checkedID(request.id)
        let certificate: Certificate
        do {
            certificate = try Certificate(apiText: request.ca, field: "ca")
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
        guard certificate.isCertificateAuthority else {
            throw SheduError.badRequest("ca is not a CA certificate (its BasicConstraints do not say CA:TRUE)")
        }
        // Lamassu's chain above the CA. Its parent is found among Shedu's own CAs, by name, key
        // and signature, so the chain is only read; but what cannot be one is refused, not ignored.
        for (index, text) in (request.caChain ?? []).enumerated() {
            let field = "ca_chain[\(index)]"
            do {
                guard try Certificate(apiText: text, field: field).isCertificateAuthority else {
                    throw SheduError.badRequest("\(field) is not a CA certificate (its BasicConstraints do not say CA:TRUE)")
                }
            } catch let error as PKIError {
                throw SheduError.badRequest(error.description)
            }
        }
        if try await store.ca(id: id) != nil { throw SheduError.conflict("CA '\(id)' already exists") }
        try requireAdminToCreate(id, metadata: nil)
        if let profileID = request.profileID, !profileID.isEmpty { _ = try await profiles.profile(id: profileID) }

        var newKey: StoredKey?
        var keyID: String?
        var engineID = ""
        var type = CertificateType.importedWithoutKey
        let keyIdentifier = certificate.publicKey.keyIdentifierHex
        if let privateKey = request.privateKey, !privateKey.isEmpty {
            let pem = privateKey.contains("-----BEGIN")
                ? privateKey : String(decoding: Data(base64Encoded: privateKey.filter { !$0.isWhitespace }) ?? Data(), as: UTF8.self)
            let prepared = try kms.prepareImport(pem: pem, name: "Key for CA \(Subject(certificate.subject).commonName)", engineID: request.engineID)
            guard prepared.key.id == keyIdentifier else {
                throw SheduError.badRequest("private_key does not belong to the certificate in ca")
            }
            let alreadyKnown = (try? await kms.key(prepared.key.id)) != nil
            newKey = alreadyKnown ? nil : prepared
            keyID = prepared.key.id
            engineID = prepared.key.engineID
            type = .importedWithKey
        } else if let existing = try? await kms.key(keyIdentifier), existing.hasPrivateKey {
            keyID = existing.id
            engineID = existing.engineID
            type = .importedWithKey
        }

        if let keyID { try await refuseSharedKey(keyID) }

        let now = clock.now()
        let parent = certificate.isSelfSigned ? nil : try await findIssuer(of: certificate)
        let issuerMetadata: CertificateRecord.IssuerMetadata =
            certificate.isSelfSigned
            ? .init(serialNumber: certificate.serialNumber.hexString, id: id, level: 0)
            : parent.map { .init(serialNumber: $0.certificate.serialNumber, id: $0.id, level: $0.level) } ?? .unknown
        let record = try CertificateRecord(
            certificate: certificate, status: certificate.notValidAfter <= now ? .expired : .active, type: type,
            engineID: engineID, keyID: keyID, caID: id, issuer: issuerMetadata, creationDate: now)
        let ca = CertificateAuthority(
            id: id, certificate: record, creationDate: now, level: parent.map { $0.level + 1 } ?? 0,
            profileID: request.profileID, parentID: parent?.id, keyID: keyID)

        // CAs this one issued, already known, become its children: those with no parent, or with
        // a parent that was deleted (a CA imported again after its delete takes its children back).
        var children: [String] = []
        for candidate in try await store.casCertified(byAuthorityKeyID: record.info.subjectKeyID) {
            if let parentID = candidate.parentID, try await store.ca(id: parentID) != nil { continue }
            if let child = try? candidate.certificate.certificate(), child.issuer == certificate.subject,
                certificate.publicKey.isValidSignature(child.signature, for: child), !child.isSelfSigned
            {
                children.append(candidate.id)
            }
        }
        do {
            try await store.insertCA(
                ca, newKey: newKey, requireActiveParent: nil, reparent: children,
                adopt: try await adoptableCertificates(issuedBy: certificate, caID: id), events: [try event("ca.import", ca: ca)])
        } catch is SerialNumberTaken {
            throw SheduError.conflict(
                "a certificate with serial number \(record.serialNumber) is already in Shedu (another CA's, or another certificate with that serial)")
        }
        invalidate()
        // As stored: a certificate Shedu held already keeps its status.
        return try await self.ca(id: id)
    }

    /// Refuses a type or size given with an existing key's id that are not that key's: they ask
    /// for a new key too. Empty values are what a client that writes every field sends for
    /// "none"; the key's own type and size are what one that echoes them sends.
    static func refuseNewKeySpec(type: String?, bits: Int?, besides key: KMSKey, field: String, idField: String) throws {
        let type = type ?? "", bits = bits ?? 0
        guard !type.isEmpty && KeyAlgorithm(name: type) != key.algorithm || bits != 0 && bits != key.size else { return }
        throw SheduError.badRequest(
            "\(field): type and bits describe a new key, \(idField) an existing one (\(key.algorithm.rawValue) \(key.size)); give one or the other")
    }

    /// One key, one CA: two CAs with the same key would share a key identifier, so one CRL address
    /// and one AKI for two issuers, and deleting either would take the other's key.
    /// Checked before signing, and again by the store in the transaction that adds the CA.
    func refuseSharedKey(_ keyID: String) async throws {
        if let holder = try await store.caID(usingKey: keyID) { throw Self.keyTaken(keyID, by: holder) }
    }

    public static func keyTaken(_ keyID: String, by holder: String) -> SheduError {
        .conflict("key '\(keyID)' is already the key of CA '\(holder)'; reissue that CA for a new certificate with the same key")
    }

    /// The Shedu CA that issued `certificate`: same name, same key id, and its key verifies the signature.
    func findIssuer(of certificate: Certificate) async throws -> CertificateAuthority? {
        let authorityKeyID = certificate.authorityKeyIdentifierBytes.map { Hex.encode($0) }
        let candidates = try await store.caCandidates(
            subjectKeyID: authorityKeyID, commonName: Subject(certificate.issuer).commonName)
        return candidates.first { candidate in
            guard let issuer = try? candidate.certificate.certificate() else { return false }
            return issuer.subject == certificate.issuer && issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
        }
    }

    /// Changes a CA's status. Revoking it revokes every CA and certificate below it
    /// (CessationOfOperation), in one transaction; a hold (CertificateHold) holds them instead,
    /// and releasing the CA releases what its hold held.
    public func updateCAStatus(id: String, _ change: StatusChange) async throws -> CertificateAuthority {
        let ca = try await ca(id: id)
        let transition = try change.transition(
            from: ca.status, reason: ca.certificate.revocationReason, subject: "CA '\(id)'")
        guard transition != .none else { return ca }
        let now = clock.now()
        var updated = ca
        updated.certificate.apply(transition, at: now)
        try await store.changeCAStatus(
            id: id, transition: transition, at: now,
            events: [try DomainEvent(type: "ca.status.update", service: "ca", subject: "ca/\(id)", time: now, previous: ca, updated: updated)])
        invalidate()
        return try await self.ca(id: id)
    }

    /// Sets the default issuance profile of what the CA signs.
    public func setCAProfile(id: String, profileID: String) async throws -> CertificateAuthority {
        guard !profileID.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SheduError.badRequest("profile_id must name an issuance profile")
        }
        _ = try await profiles.profile(id: profileID)
        let now = clock.now()
        let updated = try await store.updateCA(id: id) { ca in
            let previous = ca
            ca.profileID = profileID
            return [try DomainEvent(type: "ca.profile.update", service: "ca", subject: "ca/\(ca.id)", time: now, previous: previous, updated: ca)]
        }
        guard let updated else { throw notFound(ca: id) }
        invalidate()
        return updated
    }

    public func updateCAMetadata(id: String, _ update: MetadataUpdate) async throws -> CertificateAuthority {
        let now = clock.now()
        let role = Caller.role
        let updated = try await store.updateCA(id: id) { [self] ca in
            let previous = ca
            ca.metadata = try update.apply(to: ca.metadata)
            if isAPIClientCA(ca) != isAPIClientCA(previous) { try Self.requireAdmin(toDesignateAPIClientCA: id, role: role) }
            return [try DomainEvent(type: "ca.metadata.update", service: "ca", subject: "ca/\(ca.id)", time: now, previous: previous, updated: ca)]
        }
        guard let updated else { throw notFound(ca: id) }
        invalidate()
        return updated
    }

    /// A new certificate for the CA: same key, same subject and id, signed by its parent (or itself).
    public func reissueCA(id: String, _ request: ReissueCARequest) async throws -> CertificateAuthority {
        let context = try await issuerContext(id)
        let ca = context.ca
        guard ca.status == .active || ca.status == .inactive else {
            throw SheduError.conflict("CA '\(id)' is \(ca.status.rawValue) and cannot be reissued")
        }
        // As once the expiry monitor has marked it: its validity is over, whoever would sign.
        guard ca.certificate.info.notAfter > clock.now() else {
            throw SheduError.conflict(
                "CA '\(id)' expired at \(RFC3339.format(ca.certificate.info.notAfter)) and cannot be reissued")
        }
        let old = try ca.certificate.certificate()
        var profile: IssuanceProfile
        if let inline = request.profile {
            try inline.checkRules(field: "profile")
            profile = inline
        } else if let profileID = request.profileID, !profileID.isEmpty {
            profile = try await profiles.profile(id: profileID)
        } else {
            // The same lifetime as the certificate it replaces.
            let lifetime = old.notValidAfter.timeIntervalSince(old.notValidBefore)
            profile = .defaultCA(validity: .duration(TimeDuration(milliseconds: Int64(lifetime * 1000))))
            profile.keyUsage = ca.certificate.info.keyUsage
        }
        guard profile.signAsCA || request.profile == nil && (request.profileID ?? "").isEmpty else {
            throw SheduError.badRequest("the CA issuance profile must have sign_as_ca true")
        }
        profile.signAsCA = true
        var parent: IssuerContext?
        if let parentID = ca.parentID {
            parent = try await activeIssuer(parentID)
        } else if !old.isSelfSigned {
            throw SheduError.conflict(
                "CA '\(id)' was issued by a CA that Shedu does not hold ('\(Subject(old.issuer).commonName)'); only its issuer can give it a new certificate")
        }
        let now = clock.now()
        // The same key identifier: certificates the CA issued name it (AKI), and its CRL is found by it.
        var subject = CertificateBuilder.Subject(name: old.subject, publicKey: old.publicKey)
        subject.keyIdentifier = old.subjectKeyIdentifierBytes
        // The subject, to the byte, is the CA's identity: what it issued names it as issuer, and
        // its CRL too. Its path length constraint stays with it.
        subject.keepsName = true
        if case .isCertificateAuthority(let maxPathLength) = try? old.extensions.basicConstraints {
            subject.maxPathLength = maxPathLength
        }
        return try await withFreshSerial { serial in
            let certificate = try build(
                subject, policy: profile.policy(now: now), issuer: parent?.issuer, selfSigningKey: context.issuer.key,
                serialNumber: serial, now: now)
            // The CA's status stays: an INACTIVE CA is given a certificate, not its signing back.
            var record = try CertificateRecord(
                certificate: certificate, status: ca.status, type: ca.certificate.type, engineID: ca.certificate.engineID,
                keyID: ca.keyID, caID: id,
                issuer: parent.map { .init(serialNumber: $0.ca.certificate.serialNumber, id: $0.ca.id, level: $0.ca.level) }
                    ?? ca.certificate.issuer,
                creationDate: now)
            if parent == nil { record.issuer.serialNumber = record.serialNumber }
            record.metadata = [
                "lamassu.io/ca/reissued-from": .string(ca.certificate.serialNumber),
                "lamassu.io/ca/reissue-reason": "certificate-reissuance",
            ]
            var updated = ca
            updated.certificate = record
            try await store.replaceCACertificate(
                id: id, with: record, requireActiveParent: parent?.ca.id,
                events: [try DomainEvent(type: "ca.reissue", service: "ca", subject: "ca/\(id)", time: now, previous: ca, updated: updated)])
            invalidate()
            return updated
        }
    }

    /// Deletes a CA that can no longer sign (REVOKED or EXPIRED) or never could (imported without
    /// key). Its certificates stay, and so does history; what it certified that is still live is
    /// revoked (CessationOfOperation), and its key is deleted.
    public func deleteCA(id: String) async throws {
        let ca = try await ca(id: id)
        guard ca.status == .revoked || ca.status == .expired || ca.certificate.type == .importedWithoutKey else {
            throw SheduError.conflict("CA '\(id)' is \(ca.status.rawValue); revoke it before deleting it")
        }
        try await store.deleteCA(id: id, deleteKey: ca.keyID != nil, at: clock.now(), events: [try event("ca.delete", ca: ca)])
        if let keyID = ca.keyID { kms.forget(keyID: keyID) }
        invalidate()
    }

    /// Signs a message with the CA's key (`/cas/{id}/signature/sign`).
    public func signWithCA(id: String, _ request: CASignatureRequest) async throws -> Data {
        let ca = try await ca(id: id)
        guard let keyID = ca.keyID else { throw SheduError.conflict("CA '\(id)' has no private key in Shedu") }
        // What a revoked, held or expired CA signs could pass for its word: as for certificates.
        if let refusal = Self.signingRefusal(ca, at: clock.now()) { throw refusal }
        try await requireAdminForAPICredentials(of: id)
        return try await kms.sign(keyID, request.kmsRequest)
    }

    public func verifyWithCA(id: String, _ request: CASignatureRequest) async throws -> Bool {
        let ca = try await ca(id: id)
        let publicKey = try ca.certificate.certificate().publicKey
        guard let signatureText = request.signature, !signatureText.isEmpty else {
            throw SheduError.badRequest("signature is required: base64 of the signature to verify")
        }
        guard let signature = Data(base64Encoded: signatureText) else {
            throw SheduError.badRequest("signature must be base64")
        }
        let (scheme, input) = try request.kmsRequest.decoded()
        do {
            return try publicKey.isValidSignature(signature, for: input, scheme: scheme)
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
    }

    static func checkedID(_ id: String?) throws -> String {
        guard let id, !id.isEmpty else { return RandomUUID.lowercased() }
        // `GET /cas/cn/{cn}`, `POST /cas/import`.
        try ResourceID.check(id, maximumLength: 128, spaces: .refused, routeSegments: ["cn", "import"])
        // "-" stands for an issuer Shedu does not hold (Lamassu's placeholder): no CA may be it.
        guard id != CertificateRecord.IssuerMetadata.unknown.id else {
            throw SheduError.badRequest("id '-' is reserved: it names an unknown issuer")
        }
        return id
    }
}

extension CertificateRecord {
    /// The record after a status transition at `time`.
    mutating func apply(_ transition: StatusChange.Transition, at time: Date, heldBy: String? = nil) {
        switch transition {
        case .none: break
        case .setStatus(let status):
            self.status = status
        case .revoke(let reason):
            status = .revoked
            revocationReason = reason
            revocationTimestamp = time
            heldByCA = reason == .certificateHold ? heldBy : nil
        case .release:
            status = info.notAfter <= time ? .expired : .active
            revocationTimestamp = nil
            revocationReason = .unspecified
            heldByCA = nil
        }
    }
}
