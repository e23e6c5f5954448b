import Crypto
import Foundation
import SwiftASN1
import X509

/// Signs OCSP responses (RFC 6960 §4.2) as one responder: a CA itself, or a delegated OCSP
/// signing certificate the CA issued (then pass it in `includedCertificates`, so that clients
/// can check it).
///
/// Responses name the responder by key (SHA-1 of its public key) and use GeneralizedTime
/// throughout. Two uses:
/// - pre-signed: ``response(_:nonce:producedAt:)`` with one ``OCSPSingleResponse`` built from
///   ``OCSPCertID/init(issuer:serialNumber:)`` and no nonce gives a complete DER response that can
///   be cached and served to every request without a nonce for that certificate until its
///   nextUpdate (clients compare CertIDs by algorithm, hashes and serial, not by bytes);
/// - on demand: the same call with the request's ``OCSPRequest/certIDs`` (echoed as sent) and
///   its ``OCSPRequest/nonce``.
public struct OCSPResponder: Sendable {
    /// The certificate of the key that signs: the CA's, or a delegated responder's.
    public let certificate: Certificate
    public let key: SigningKey
    /// The certificates sent in the certs field (a delegated responder's certificate).
    public let includedCertificates: [Certificate]
    /// The responderID byKey: SHA-1 of the responder's subjectPublicKey BIT STRING contents.
    public let responderKeyHash: [UInt8]

    public init(certificate: Certificate, key: SigningKey, includedCertificates: [Certificate] = []) throws {
        guard key.publicKey == certificate.publicKey else {
            throw PKIError.invalidInput("the OCSP responder's key is not the key of its certificate")
        }
        self.certificate = certificate
        self.key = key
        self.includedCertificates = includedCertificates
        responderKeyHash = Array(Insecure.SHA1.hash(data: certificate.publicKey.subjectPublicKeyInfoBytes))
    }

    /// A complete, signed, successful DER `OCSPResponse` with `responses` (at least one) and,
    /// when given, the request's nonce extension value echoed unchanged.
    public func response(_ responses: [OCSPSingleResponse], nonce: [UInt8]? = nil, producedAt: Date) throws -> [UInt8] {
        guard !responses.isEmpty else {
            throw PKIError.invalidInput("an OCSP response must answer about at least one certificate")
        }
        let responseData = try self.responseData(responses, nonce: nonce, producedAt: producedAt)
        let algorithm = key.signatureAlgorithmIdentifier
        let signature = try key.signToBeSigned(responseData)

        var basic = DER.Serializer()
        // BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
        try basic.appendConstructedNode(identifier: .sequence) { fields in
            try fields.appendSignedFields(toBeSigned: responseData, algorithm: algorithm, signature: signature)
            if !includedCertificates.isEmpty {
                try fields.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { certs in
                    try certs.serializeSequenceOf(includedCertificates)
                }
            }
        }
        return try Self.ocspResponse(status: .successful, basicResponse: basic.serializedBytes)
    }

    /// The DER `OCSPResponse` of an error status: just the status, unsigned (RFC 6960 §2.3).
    public static func errorResponse(_ status: OCSPResponseStatus) throws -> [UInt8] {
        guard status != .successful else {
            throw PKIError.invalidInput("a successful OCSP response needs a signed body")
        }
        return try ocspResponse(status: status, basicResponse: nil)
    }

    /// `ResponseData ::= SEQUENCE { version [0] DEFAULT v1 (left out), responderID, producedAt,
    /// responses SEQUENCE OF SingleResponse, responseExtensions [1] EXPLICIT Extensions OPTIONAL }`.
    private func responseData(_ responses: [OCSPSingleResponse], nonce: [UInt8]?, producedAt: Date) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { data in
            // ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }, explicitly tagged.
            try data.serialize(
                ASN1OctetString(contentBytes: responderKeyHash[...]), explicitlyTaggedWithTagNumber: 2,
                tagClass: .contextSpecific)
            try data.serialize(GeneralizedTime(producedAt))
            try data.serializeSequenceOf(responses)
            if let nonce {
                let nonceExtension = Certificate.Extension(oid: .Revocation.ocspNonce, critical: false, value: nonce[...])
                try data.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { extensions in
                    try extensions.serializeSequenceOf([nonceExtension])
                }
            }
        }
        return serializer.serializedBytes
    }

    /// `OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT
    /// SEQUENCE { responseType id-pkix-ocsp-basic, response OCTET STRING } OPTIONAL }`.
    private static func ocspResponse(status: OCSPResponseStatus, basicResponse: [UInt8]?) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { response in
            try status.rawValue.serialize(into: &response, withIdentifier: .enumerated)
            if let basicResponse {
                try response.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { tagged in
                    try tagged.appendConstructedNode(identifier: .sequence) { bytes in
                        try bytes.serialize(ASN1ObjectIdentifier.Revocation.ocspBasicResponse)
                        try bytes.serialize(ASN1OctetString(contentBytes: basicResponse[...]))
                    }
                }
            }
        }
        return serializer.serializedBytes
    }
}
