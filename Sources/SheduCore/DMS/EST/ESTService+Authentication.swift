import Foundation
import SheduPKI
import Synchronization
import X509

extension ESTService {
    /// Authenticates an EST request as `settings` says: a client certificate that chains to one of
    /// `anchors` (CA ids) and is not revoked, and/or the DMS's webhook. Returns the validated
    /// chain when a certificate was checked.
    @discardableResult
    func authenticate(
        _ settings: ESTAuthenticationSettings, anchors: [String], dms: DMS, csr: [UInt8], deviceID: String,
        request: ESTRequest, allowExpired: Bool? = nil
    ) async throws -> [Certificate]? {
        var chain: [Certificate]?
        if settings.authMode.checksClientCertificate {
            chain = try await verifyClientCertificate(
                request.clientChain, anchors: anchors, settings: settings.clientCertificate, dms: dms,
                allowExpired: allowExpired ?? settings.clientCertificate.allowExpired)
        }
        if settings.authMode.callsWebhook {
            try await askWebhook(settings.externalWebhook, dms: dms, csr: csr, deviceID: deviceID, request: request)
        }
        return chain
    }

    /// The presented chain, verified against the DMS's CAs, then checked for revocation.
    func verifyClientCertificate(
        _ presented: [Certificate], anchors anchorIDs: [String], settings: ClientCertificateSettings, dms: DMS,
        allowExpired: Bool
    ) async throws -> [Certificate] {
        guard !presented.isEmpty else {
            throw SheduError.unauthorized("DMS '\(dms.id)' requires a client certificate (auth mode CLIENT_CERTIFICATE)")
        }
        var anchors: [Certificate] = []
        for id in Set(anchorIDs) {
            if let certificate = try await ca.caCertificate(id: id) { anchors.append(certificate) }
        }
        let chain: [Certificate]
        do {
            chain = try await verifiedChains.verify(
                presented: presented, anchors: anchors, usableLength: settings.chainLevelValidation, at: clock.now(),
                allowExpiredLeaf: allowExpired)
        } catch let error as PKIError {
            throw SheduError.unauthorized(error.description)
        }
        try await checkRevocation(of: chain)
        return chain
    }

    /// Shedu's own status for the certificates it knows; for the others, their CRL and OCSP
    /// responder (a check that cannot be made counts as not revoked, as in Lamassu).
    func checkRevocation(of chain: [Certificate]) async throws {
        for (index, certificate) in chain.enumerated() {
            let serial = certificate.serialNumber.hexString
            if let known = try await ca.knownCertificate(serialNumber: serial), known.der == certificate.derBytes {
                if known.status == .revoked {
                    throw SheduError.unauthorized(
                        "the client certificate chain includes certificate \(serial) ('\(known.commonName)'), which is REVOKED (\(known.revocationReason.rawValue))")
                }
                continue
            }
            guard index + 1 < chain.count else { continue }
            let issuer = chain[index + 1]
            var revoked = try await isRevokedByCRL(certificate, issuer: issuer)
            if !revoked { revoked = try await isRevokedByOCSP(certificate, issuer: issuer) }
            if revoked {
                throw SheduError.unauthorized(
                    "the client certificate \(serial) ('\(Subject(certificate.subject).commonName)') is revoked by its issuer")
            }
        }
    }

    func isRevokedByCRL(_ certificate: Certificate, issuer: Certificate) async throws -> Bool {
        for uri in CRLDistributionPointsExtension.uris(in: certificate.extensions) where isExternal(uri) {
            guard let crl = await crls.crl(at: uri, issuer: issuer, now: clock.now(), http: http) else { continue }
            return crl.entries.contains { $0.serialNumber == certificate.serialNumber }
        }
        return false
    }

    func isRevokedByOCSP(_ certificate: Certificate, issuer: Certificate) async throws -> Bool {
        guard let access = try? certificate.extensions.authorityInformationAccess,
            access.contains(where: {
                if $0.method == .ocspServer, case .uniformResourceIdentifier(let uri) = $0.location { return isExternal(uri) }
                return false
            })
        else { return false }
        var verifier = Verifier(rootCertificates: CertificateStore([issuer])) {
            ValidatedChainPolicy([certificate, issuer])
            OCSPVerifierPolicy(failureMode: .soft, requester: OCSPOverHTTP(http: http, ownURL: publicURL))
        }
        switch await verifier.validate(leaf: certificate, intermediates: CertificateStore()) {
        case .validCertificate: return false
        case .couldNotValidate(let failures):
            return failures.contains { "\($0.policyFailureReason)".localizedCaseInsensitiveContains("revoked") }
        }
    }

    /// Whether a URL is another system's (Shedu's own certificates are checked by their status here).
    func isExternal(_ uri: String) -> Bool {
        (uri.hasPrefix("http://") || uri.hasPrefix("https://")) && !uri.hasPrefix(publicURL)
    }

    /// Asks the DMS's webhook whether this enrollment may go on; anything but a 2xx answer with
    /// `{"authorized": true}` in time refuses it (fail closed).
    func askWebhook(
        _ webhook: ExternalWebhookSettings, dms: DMS, csr: [UInt8], deviceID: String, request: ESTRequest
    ) async throws {
        let csrPEM = PEMText.pem(derCertificate: csr, discriminator: "CERTIFICATE REQUEST")
        let body: JSONValue = [
            "csr": .string(Data(csrPEM.utf8).base64EncodedString()), "aps": .string(dms.id), "device_cn": .string(deviceID),
            "http_request": ["headers": .object(request.headers.mapValues { .string($0) }), "url": .string(request.url)],
        ]
        let name = webhook.name.isEmpty ? webhook.url : webhook.name
        var headers = [("Content-Type", "application/json")]
        var tls = OutboundTLS(verifiesServerCertificate: webhook.verifiesServerCertificate)
        let response: OutboundHTTPResponse
        do {
            switch try webhook.callAuthentication() {
            case .none:
                break
            case .apiKey(let header, let key):
                headers.append((header, key))
            case .mutualTLS(let certificateFile, let keyFile):
                guard let certificate = FileManager.default.contents(atPath: certificateFile),
                    let key = FileManager.default.contents(atPath: keyFile)
                else {
                    throw SheduError.forbidden(
                        "the enrollment webhook '\(name)': its client certificate or key file cannot be read; enrollment refused")
                }
                tls.clientCertificatePEM = String(decoding: certificate, as: UTF8.self)
                tls.clientKeyPEM = String(decoding: key, as: UTF8.self)
            case .clientCredentials(let wellKnownURL, let clientID, let clientSecret):
                let token = try await webhookTokens.token(
                    wellKnownURL: wellKnownURL, clientID: clientID, clientSecret: clientSecret, http: http,
                    tls: OutboundTLS(verifiesServerCertificate: tls.verifiesServerCertificate), timeout: webhook.callTimeout,
                    now: clock.now())
                headers.append(("Authorization", "Bearer \(token)"))
            }
            response = try await http.send(
                method: webhook.method, url: webhook.url, headers: headers, body: Array(body.jsonText().utf8),
                timeout: webhook.callTimeout, tls: tls)
        } catch let error as SheduError {
            throw error
        } catch OutboundHTTPFailure.timedOut {
            throw SheduError.forbidden("the enrollment webhook '\(name)' did not answer in time (\(webhook.callTimeout)); enrollment refused")
        } catch OutboundHTTPFailure.failed(let reason) {
            throw SheduError.forbidden("the enrollment webhook '\(name)' could not be reached (\(reason)); enrollment refused")
        } catch let failure as ClientCredentialsTokens.Failure {
            throw SheduError.forbidden("the enrollment webhook '\(name)' needs a token: \(failure.reason); enrollment refused")
        } catch let problem as ExternalWebhookSettings.SettingProblem {
            throw SheduError.forbidden("the enrollment webhook '\(name)': \(problem.field) \(problem.problem); enrollment refused")
        } catch {
            throw SheduError.forbidden("the enrollment webhook '\(name)' could not be called (\(error)); enrollment refused")
        }
        guard (200..<300).contains(response.status) else {
            throw SheduError.forbidden("the enrollment webhook '\(name)' answered HTTP \(response.status); enrollment refused")
        }
        let answer = try? JSONValue.parse(String(decoding: response.body, as: UTF8.self), field: "webhook response")
        guard answer?["authorized"]?.boolValue == true else {
            throw SheduError.forbidden("the enrollment webhook '\(name)' did not authorize device '\(deviceID)'")
        }
    }
}

/// Asks external OCSP responders over HTTP for swift-certificates' OCSP policy.
struct OCSPOverHTTP: OCSPRequester {
    let http: any OutboundHTTP
    let ownURL: String

    func query(request: [UInt8], uri: String) async -> OCSPRequesterQueryResult {
        guard !uri.hasPrefix(ownURL) else { return .nonTerminalError(SheduError.badRequest("Shedu's own responder")) }
        do {
            let response = try await http.send(
                method: "POST", url: uri, headers: [("Content-Type", "application/ocsp-request")], body: request,
                timeout: .seconds(5))
            guard response.status == 200 else { return .nonTerminalError(SheduError.unavailable("OCSP HTTP \(response.status)")) }
            return .response(response.body)
        } catch {
            return .nonTerminalError(error)
        }
    }
}

/// CRLs of other systems, fetched when first needed and kept until they are due for renewal
/// (at most ten minutes), verified against their issuer.
final class CRLCache: Sendable {
    private let entries = Mutex<[String: (crl: CertificateRevocationList, until: Date)]>([:])

    func crl(at uri: String, issuer: Certificate, now: Date, http: any OutboundHTTP) async -> CertificateRevocationList? {
        if let cached = entries.withLock({ $0[uri] }), cached.until > now { return cached.crl }
        guard let response = try? await http.send(method: "GET", url: uri, headers: [], body: nil, timeout: .seconds(5)),
            response.status == 200, let crl = try? CertificateRevocationList(derEncoded: response.body), crl.isSigned(by: issuer)
        else { return nil }
        let until = min(crl.nextUpdate ?? now, now.addingTimeInterval(600))
        entries.withLock { $0[uri] = (crl, until) }
        return crl
    }
}
