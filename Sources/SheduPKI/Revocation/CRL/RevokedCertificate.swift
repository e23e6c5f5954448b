import Foundation
import X509

/// One entry of a CRL: which certificate, since when, and why.
public struct RevokedCertificate: Hashable, Sendable {
    public var serialNumber: Certificate.SerialNumber
    public var revocationDate: Date
    public var reason: CRLReason

    public init(serialNumber: Certificate.SerialNumber, revocationDate: Date, reason: CRLReason = .unspecified) {
        self.serialNumber = serialNumber
        self.revocationDate = revocationDate
        self.reason = reason
    }
}
