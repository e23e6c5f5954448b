import Foundation
import SwiftASN1

/// The answer about one certificate in an OCSP response (RFC 6960 §4.2.1 `SingleResponse`).
public struct OCSPSingleResponse: Hashable, Sendable {
    /// The CertID as the client sent it (or as built for a pre-signed response).
    public var certID: OCSPCertID
    public var status: OCSPCertStatus
    /// When the status was known to be correct.
    public var thisUpdate: Date
    /// When newer information will be available; nil when it always is.
    public var nextUpdate: Date?

    public init(certID: OCSPCertID, status: OCSPCertStatus, thisUpdate: Date, nextUpdate: Date?) {
        self.certID = certID
        self.status = status
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
    }
}

extension OCSPSingleResponse: DERSerializable {
    /// `SEQUENCE { certID, certStatus, thisUpdate GeneralizedTime, nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL }`
    /// with `CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }`.
    public func serialize(into coder: inout DER.Serializer) throws {
        if let nextUpdate, nextUpdate < thisUpdate {
            throw PKIError.invalidInput("the OCSP nextUpdate (\(nextUpdate)) is before its thisUpdate (\(thisUpdate))")
        }
        try coder.appendConstructedNode(identifier: .sequence) { single in
            try single.serialize(certID)
            switch status {
            case .good:
                ASN1Null().serialize(into: &single, withIdentifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific))
            case .revoked(let time, let reason):
                // RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
                try single.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) {
                    info in
                    try info.serialize(GeneralizedTime(time))
                    if reason != .unspecified {
                        try info.serialize(reason, explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
                    }
                }
            case .unknown:
                ASN1Null().serialize(into: &single, withIdentifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific))
            }
            try single.serialize(GeneralizedTime(thisUpdate))
            if let nextUpdate {
                try single.serialize(GeneralizedTime(nextUpdate), explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
            }
        }
    }
}
