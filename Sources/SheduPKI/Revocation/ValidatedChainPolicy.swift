import SwiftASN1
import X509

/// A verifier policy for a chain already validated by Shedu (signatures, validity, the critical
/// extensions it reads), run beside swift-certificates' OCSP policy: the `Verifier` drops a chain
/// whose critical extensions no policy claims before any policy sees it, and a bootstrap
/// certificate with a critical key usage never had its OCSP responder asked.
public struct ValidatedChainPolicy: VerifierPolicy {
    public let verifyingCriticalExtensions: [ASN1ObjectIdentifier]

    public init(_ chain: [Certificate]) {
        var critical: [ASN1ObjectIdentifier] = []
        for certificate in chain {
            for certificateExtension in certificate.extensions where certificateExtension.critical && !critical.contains(certificateExtension.oid) {
                critical.append(certificateExtension.oid)
            }
        }
        verifyingCriticalExtensions = critical
    }

    public func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        .meetsPolicy
    }
}
