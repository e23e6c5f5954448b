import Foundation
import SheduPKI
import X509

extension VAService {
    /// The CRL of the CA with subject key identifier `caSKI`: the kept one, or a new one signed
    /// first when a status change, its refresh time or new options made the kept one stale.
    public func crl(caSKI: String) async throws -> PublishedCRL {
        try await publishedCRL(for: crlPublisher(caSKI))
    }

    /// The CRL to serve without waiting, for the fast path; nil when it must be signed first or
    /// the CA is not known yet (``crl(caSKI:)`` answers then).
    public func cachedCRL(caSKI: String) -> PublishedCRL? {
        guard let authority = loadedDirectory?.authority(subjectKeyID: caSKI), authority.canSign else { return nil }
        return publications.fresh(caID: authority.id, issuerKeyID: authority.subjectKeyID, now: clock.now())
    }

    /// The CA's role: its CRL options and latest CRL (issued first if it has none yet).
    public func role(caSKI: String) async throws -> VARole {
        let authority = try await crlPublisher(caSKI)
        let published = try await publishedCRL(for: authority)
        let stored = try await store.role(caSKI: authority.subjectKeyID)
        return VARole(
            caSKI: authority.subjectKeyID, options: stored?.options ?? .defaults, latestCRL: stored?.latestCRL ?? published.summary)
    }

    /// Changes the CA's CRL options; its next CRL (signed before this returns) follows them.
    public func updateRole(caSKI: String, _ update: CRLOptionsUpdate) async throws -> VARole {
        let authority = try await crlPublisher(caSKI)
        let previous = try await role(caSKI: authority.subjectKeyID)
        let options = try update.applied(to: previous.options, caSKI: authority.subjectKeyID)
        var updated = previous
        updated.options = options
        try await store.saveOptions(
            options, caSKI: authority.subjectKeyID,
            events: [
                try DomainEvent(
                    type: "va.role.update", service: "va", subject: "role/\(authority.subjectKeyID)", time: clock.now(),
                    previous: previous, updated: updated)
            ])
        publications.markOptionsChanged(caID: authority.id)
        return try await role(caSKI: authority.subjectKeyID)
    }

    /// Signs a new CRL for every CA whose refresh time came or whose CRL a change made stale (the
    /// background refresh); returns how many were signed.
    @discardableResult
    public func refreshCRLs() async throws -> Int {
        var refreshed = 0
        var failures: [String] = []
        let publishers = try await directory().crlPublishers
        for authority in publishers
        where publications.fresh(caID: authority.id, issuerKeyID: authority.subjectKeyID, now: clock.now()) == nil {
            do {
                _ = try await publishedCRL(for: authority)
                refreshed += 1
            } catch {
                // One CA's failure does not keep the others' CRLs from being refreshed.
                failures.append("CA '\(authority.id)': \(error)")
            }
        }
        if !failures.isEmpty {
            throw SheduError.internal(
                "\(failures.count) of \(publishers.count) CRLs not refreshed (the others were): \(failures.joined(separator: "; "))")
        }
        return refreshed
    }

    /// Serves, in place of a CRL this server keeps, a newer one another server signed and stored:
    /// a CA's CRL numbers only grow (RFC 5280 §5.2.3), also for a client that asks each server in
    /// turn. Run with the replica watcher; returns how many CRLs were taken.
    @discardableResult
    public func adoptNewerStoredCRLs() async throws -> Int {
        let stored = try await store.latestCRLNumbers()
        var adopted = 0
        for authority in try await directory().crlPublishers {
            guard let kept = publications.kept(caID: authority.id, issuerKeyID: authority.subjectKeyID),
                let number = stored[authority.subjectKeyID],
                number > kept.summary.number, let latest = try await store.latestCRL(caSKI: authority.subjectKeyID)
            else { continue }
            let crl = PublishedCRL(
                der: latest.crl.der, summary: latest.crl.summary,
                refreshAt: latest.crl.summary.thisUpdate.addingTimeInterval(latest.options.refreshInterval.timeInterval),
                issuerKeyID: authority.subjectKeyID, regenerateOnRevoke: latest.options.regenerateOnRevoke,
                builtFrom: kept.builtFrom)
            if publications.adopt(crl, caID: authority.id) { adopted += 1 }
        }
        return adopted
    }

    /// The CA that publishes the CRL of `caSKI`: 400 when it is not hex, 404 when no CA has it
    /// or Shedu lacks the CA's key.
    func crlPublisher(_ caSKI: String) async throws -> IssuerDirectory.Authority {
        let ski = caSKI.lowercased()
        guard !ski.isEmpty, Hex.decode(ski) != nil else {
            throw SheduError.badRequest("ca_ski '\(caSKI)' is not a subject key identifier in hex")
        }
        guard let authority = try await directory().authority(subjectKeyID: ski) else {
            throw SheduError.notFound("VA role '\(ski)' not found: no CA has that subject key identifier")
        }
        guard authority.canSign else {
            throw SheduError.notFound(
                "VA role '\(ski)' not found: CA '\(authority.id)' was imported without its private key, so Shedu cannot sign its CRL")
        }
        return authority
    }

    /// The kept CRL if it covers every change made before this call, else the next one signed
    /// (once for all concurrent callers).
    func publishedCRL(for authority: IssuerDirectory.Authority) async throws -> PublishedCRL {
        let wanted = publications.changes(caID: authority.id)
        while true {
            let step = publications.next(
                caID: authority.id, issuerKeyID: authority.subjectKeyID, wanted: wanted, now: clock.now()
            ) { covered in
                try await self.signCRL(authority, covering: covered)
            }
            switch step {
            case .ready(let crl): return crl
            case .wait(let generation): try await generation.value
            }
        }
    }

    /// Signs, stores and returns the CA's next CRL: every revoked certificate it issued.
    private func signCRL(_ authority: IssuerDirectory.Authority, covering changes: CRLPublications.Changes) async throws
        -> PublishedCRL
    {
        let key = try await signingKey(of: authority)
        let next = try await store.nextCRL(caSKI: authority.subjectKeyID, issuedBy: authority.id, defaults: .defaults)
        let (number, options, revoked) = (next.number, next.options, next.revoked)
        let thisUpdate = signingTime()
        let nextUpdate = thisUpdate.addingTimeInterval(options.validity.timeInterval)
        let der = try CRLEncoder(issuer: authority.certificate).sign(
            number: CRLNumber(number), thisUpdate: thisUpdate, nextUpdate: nextUpdate, revoked: revoked, key: key)
        let summary = CRLSummary(number: number, thisUpdate: thisUpdate, nextUpdate: nextUpdate)
        try await store.saveCRL(
            IssuedCRL(summary: summary, der: der), caSKI: authority.subjectKeyID,
            events: [
                DomainEvent(
                    type: "va.role.crl.create", service: "va", subject: "role/\(authority.subjectKeyID)", time: thisUpdate,
                    data: [
                        "ca_ski": .string(authority.subjectKeyID), "version": .string(String(number)),
                        "valid_from": .string(RFC3339.format(thisUpdate)), "valid_until": .string(RFC3339.format(nextUpdate)),
                        "entries": .int(Int64(revoked.count)),
                    ])
            ])
        return PublishedCRL(
            der: der, summary: summary, refreshAt: thisUpdate.addingTimeInterval(options.refreshInterval.timeInterval),
            issuerKeyID: authority.subjectKeyID, regenerateOnRevoke: options.regenerateOnRevoke, builtFrom: changes)
    }
}
