import Foundation
import Logging
import SheduPKI
import X509

extension VAService {
    /// Answers a DER OCSP request (RFC 6960): a response signed by the issuing CA, or the error
    /// status that says why not. It never throws: bad input is malformedRequest, a CertID of a CA
    /// Shedu cannot sign for is unauthorized, and a failure behind it internalError or tryLater.
    public func ocspResponse(for requestDER: [UInt8], logger: Logger) async -> OCSPReply {
        guard let request = try? OCSPRequest(derEncoded: requestDER), request.hasAcceptableNonce,
            request.certIDs.count <= Self.maximumCertIDs
        else { return .malformedRequest }
        do {
            guard let plan = SigningPlan(request, directory: try await directory()) else { return .unauthorized }
            if request.nonce == nil, request.certIDs.count == 1 {
                return try await presignedResponse(for: request.certIDs[0], plan: plan)
            }
            return try await signedResponse(to: request, plan: plan)
        } catch let error as SheduError where error.kind == .unavailable {
            logger.error("OCSP answer deferred: the store is unavailable", metadata: ["error": "\(error.message)"])
            return .tryLater
        } catch {
            logger.error("OCSP answer failed", metadata: ["error": "\(error)"])
            return .internalError
        }
    }

    /// The answer that needs neither a signature nor the store, for the fast path: a fresh
    /// pre-signed response, or an error status. Nil when the request must go to
    /// ``ocspResponse(for:logger:)``.
    ///
    /// A request seen before is found by its bytes (`key`); only a new one is decoded (`decode`,
    /// nil when it is not base64 or the like) and parsed.
    public func cachedOCSPResponse(key: OCSPRequestKey, decode: () -> [UInt8]?) -> OCSPReply? {
        let now = clock.now()
        if let reply = responses.response(to: key, now: now) { return reply }
        guard let der = decode(), let request = try? OCSPRequest(derEncoded: der) else { return .malformedRequest }
        guard request.nonce == nil, request.certIDs.count == 1 else { return nil }
        let certID = request.certIDs[0]
        if let reply = responses.response(for: certID, now: now, remembering: key) { return reply }
        if let directory = loadedDirectory, !directory.authorities(matching: certID).contains(where: \.canSign) {
            return .unauthorized
        }
        return nil
    }

    /// Which CA signs the answer to a request, and which CAs each CertID names.
    struct SigningPlan {
        var signer: IssuerDirectory.Authority
        /// For each CertID, the ids of the CAs its issuer hashes match.
        var issuers: [Set<String>]

        /// Nil when a CertID names no CA that Shedu can sign for, or the CertIDs name CAs of
        /// different keys (one response has one signature).
        init?(_ request: OCSPRequest, directory: IssuerDirectory) {
            var signer: IssuerDirectory.Authority?
            var issuers: [Set<String>] = []
            for certID in request.certIDs {
                let matching = directory.authorities(matching: certID)
                guard let candidate = matching.first(where: \.canSign) else { return nil }
                if let signer, signer.subjectKeyID != candidate.subjectKeyID { return nil }
                signer = signer ?? candidate
                issuers.append(Set(matching.map(\.id)))
            }
            guard let signer else { return nil }
            self.signer = signer
            self.issuers = issuers
        }
    }

    /// What to say of a certificate, and whether it is one the CA asked about issued.
    static func answer(_ state: CertificateState?, issuers: Set<String>) -> (status: OCSPCertStatus, issued: Bool) {
        guard let state, issuers.contains(state.issuerCAID) else { return (.unknown, false) }
        switch state.status {
        case .active:
            return (.good, true)
        case .revoked:
            return (.revoked(time: state.revocationTime ?? .distantPast, reason: state.revocationReason.crlReason), true)
        case .expired, .inactive:
            return (.unknown, true)
        }
    }

    /// The instant at whole seconds, as GeneralizedTime keeps it.
    func signingTime() -> Date {
        Date(timeIntervalSince1970: clock.now().timeIntervalSince1970.rounded(.down))
    }

    /// A request for one certificate without a nonce: the kept response, or one signed now and
    /// kept (for a certificate the CA issued) until half-way to its nextUpdate.
    private func presignedResponse(for certID: OCSPCertID, plan: SigningPlan) async throws -> OCSPReply {
        if let reply = responses.response(for: certID, now: clock.now()) { return reply }
        let generation = responses.generation
        let state = try await store.certificateStates(serialNumbers: [certID.serialNumber.hexString]).first
        let (status, issued) = Self.answer(state, issuers: plan.issuers[0])
        let key = try await signingKey(of: plan.signer)
        let signedAt = signingTime()
        let nextUpdate = signedAt.addingTimeInterval(Self.ocspValidity)
        let der = try OCSPResponder(certificate: plan.signer.certificate, key: key).response(
            [OCSPSingleResponse(certID: certID, status: status, thisUpdate: signedAt, nextUpdate: nextUpdate)],
            producedAt: signedAt)
        let reply = OCSPReply(signed: der, producedAt: signedAt, nextUpdate: nextUpdate, cacheable: issued)
        if issued {
            responses.insert(
                .init(reply: reply, refreshAt: signedAt.addingTimeInterval(Self.ocspValidity / 2)), for: certID,
                ifGeneration: generation)
        }
        return reply
    }

    /// A request with a nonce or several certificates: signed for it alone, the nonce echoed.
    private func signedResponse(to request: OCSPRequest, plan: SigningPlan) async throws -> OCSPReply {
        let serials = Array(Set(request.certIDs.map(\.serialNumber.hexString)))
        let states = Dictionary(
            try await store.certificateStates(serialNumbers: serials).map { ($0.serialNumber, $0) },
            uniquingKeysWith: { first, _ in first })
        let key = try await signingKey(of: plan.signer)
        let signedAt = signingTime()
        let nextUpdate = signedAt.addingTimeInterval(Self.ocspValidity)
        let answers = zip(request.certIDs, plan.issuers).map { certID, issuers in
            OCSPSingleResponse(
                certID: certID, status: Self.answer(states[certID.serialNumber.hexString], issuers: issuers).status,
                thisUpdate: signedAt, nextUpdate: nextUpdate)
        }
        let der = try OCSPResponder(certificate: plan.signer.certificate, key: key).response(
            answers, nonce: request.echoedNonce, producedAt: signedAt)
        return OCSPReply(signed: der, producedAt: signedAt, nextUpdate: nextUpdate, cacheable: false)
    }
}
