import SwiftASN1
import X509

/// An OCSP request (RFC 6960 §4.1) as the VA reads it: the certificates asked about and the nonce.
///
/// A request signature (optionalSignature) is noted but not checked: Shedu's responder does not
/// require signed requests.
public struct OCSPRequest: Hashable, Sendable {
    /// The CertIDs of the requestList, in order (at least one).
    public var certIDs: [OCSPCertID]
    /// The value (extnValue) of the nonce extension (RFC 8954), as sent: normally the DER of an
    /// OCTET STRING holding the nonce. A response echoes it unchanged.
    public var nonce: [UInt8]?
    public var requestorName: GeneralName?
    /// Whether the request carried an optionalSignature.
    public var isSigned: Bool

    public init(certIDs: [OCSPCertID], nonce: [UInt8]? = nil, requestorName: GeneralName? = nil, isSigned: Bool = false) {
        self.certIDs = certIDs
        self.nonce = nonce
        self.requestorName = requestorName
        self.isSigned = isSigned
    }

    /// Parses a DER `OCSPRequest`; throws ``PKIError/invalidInput(_:)`` naming what is wrong (the
    /// VA answers malformedRequest then).
    public init(derEncoded bytes: [UInt8]) throws {
        do {
            self = try DER.sequence(DER.parse(bytes), identifier: .sequence) { fields in
                guard let tbsNode = fields.next() else { throw PKIError.invalidInput("the OCSP request is empty") }
                var request = try Self.parseTBSRequest(tbsNode)
                request.isSigned =
                    try DER.optionalExplicitlyTagged(&fields, tagNumber: 0, tagClass: .contextSpecific) { $0 } != nil
                return request
            }
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.invalidInput("the OCSP request is malformed: \(error)")
        }
    }

    /// `TBSRequest ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, requestorName [1] EXPLICIT
    /// GeneralName OPTIONAL, requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT OPTIONAL }`.
    private static func parseTBSRequest(_ node: ASN1Node) throws -> OCSPRequest {
        try DER.sequence(node, identifier: .sequence) { fields in
            let version = try DER.optionalExplicitlyTagged(&fields, tagNumber: 0, tagClass: .contextSpecific) {
                try Int(derEncoded: $0)
            }
            if let version, version != 0 {
                throw PKIError.invalidInput("the OCSP request has version \(version + 1); only version 1 exists")
            }
            let requestorName = try DER.optionalExplicitlyTagged(&fields, tagNumber: 1, tagClass: .contextSpecific) {
                try GeneralName(derEncoded: $0)
            }
            guard let listNode = fields.next() else {
                throw PKIError.invalidInput("the OCSP request has no requestList")
            }
            let certIDs = try parseRequestList(listNode)
            let extensions = try DER.optionalExplicitlyTagged(&fields, tagNumber: 2, tagClass: .contextSpecific) {
                try Certificate.Extensions(DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: $0))
            }
            try refuseUnknownCriticalExtensions(extensions, understood: understoodRequestExtensions, of: "request")
            let nonce = extensions?[oid: .Revocation.ocspNonce].map { Array($0.value) }
            return OCSPRequest(certIDs: certIDs, nonce: nonce, requestorName: requestorName)
        }
    }

    /// The nonce is echoed; every response is of the basic type, the one the acceptable-responses
    /// extension may name.
    private static let understoodRequestExtensions: Set<ASN1ObjectIdentifier> = [
        .Revocation.ocspNonce, .Revocation.ocspAcceptableResponses,
    ]

    /// RFC 6960 §4.4: unrecognized extensions are ignored unless they are critical.
    private static func refuseUnknownCriticalExtensions(
        _ extensions: Certificate.Extensions?, understood: Set<ASN1ObjectIdentifier>, of part: String
    ) throws {
        guard let unknown = extensions?.first(where: { $0.critical && !understood.contains($0.oid) }) else { return }
        throw PKIError.invalidInput("the OCSP \(part) has a critical extension \(unknown.oid) that Shedu does not understand")
    }

    /// `SEQUENCE OF Request`, `Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT OPTIONAL }`.
    private static func parseRequestList(_ node: ASN1Node) throws -> [OCSPCertID] {
        guard node.identifier == .sequence, case .constructed(let requests) = node.content else {
            throw PKIError.invalidInput("the OCSP request's requestList is not a SEQUENCE")
        }
        let certIDs = try requests.map { request in
            try DER.sequence(request, identifier: .sequence) { fields in
                let certID = try OCSPCertID(derEncoded: &fields)
                let extensions = try DER.optionalExplicitlyTagged(&fields, tagNumber: 0, tagClass: .contextSpecific) {
                    try Certificate.Extensions(DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: $0))
                }
                try refuseUnknownCriticalExtensions(extensions, understood: [], of: "single request")
                return certID
            }
        }
        guard !certIDs.isEmpty else {
            throw PKIError.invalidInput("the OCSP request asks about no certificate")
        }
        return certIDs
    }
}
