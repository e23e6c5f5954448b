import Foundation
import SheduPKI

extension IssuanceProfile {
    /// The profile's rules for a certificate issued at `now`.
    public func policy(now: Date) -> IssuancePolicy {
        IssuancePolicy(
            notAfter: validity.notAfter(from: now), signAsCA: signAsCA, honorKeyUsage: honorKeyUsage, keyUsage: keyUsage,
            honorExtendedKeyUsages: honorExtendedKeyUsages, extendedKeyUsages: extendedKeyUsages, honorSubject: honorSubject,
            subject: subject, honorExtensions: honorExtensions,
            keyPolicy: KeyPolicy(
                enabled: cryptoEnforcement.enabled, allowRSA: cryptoEnforcement.allowRSAKeys,
                rsaSizes: cryptoEnforcement.allowedRSAKeySizes, allowECDSA: cryptoEnforcement.allowECDSAKeys,
                ecdsaSizes: cryptoEnforcement.allowedECDSAKeySizes, allowEd25519: cryptoEnforcement.allowEd25519Keys))
    }

    /// The profile a CA certificate gets when none is named: the CA's validity, a CA that signs
    /// certificates and CRLs, its subject as requested.
    public static func defaultCA(validity: Validity) -> IssuanceProfile {
        IssuanceProfile(
            name: "default CA profile", validity: validity, signAsCA: true, keyUsage: [.certSign, .crlSign],
            extendedKeyUsages: [])
    }
}
