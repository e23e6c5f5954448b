import Foundation
import SwiftASN1
import X509

/// Writes and signs X.509 v2 CRLs (RFC 5280 §5) for one CA.
///
/// A CRL names the CA certificate's subject as issuer and carries, as crlExtensions, the
/// authority key identifier (the CA's subject key identifier) and the CRL number. It carries no
/// issuing distribution point: it is complete for every certificate of the CA (RFC 5280 §5.2.5,
/// §6.3.3), whatever CRL address that certificate names. With one, relying parties (openssl among
/// them) put certificates naming another address out of its scope: imported ones, and those
/// issued before `--public-url` changed. Entries carry a reasonCode unless the reason is
/// unspecified (RFC 5280 §5.3.1 recommends leaving it out then).
///
/// What depends only on the CA is encoded once, in ``init(issuer:)``; each CRL then costs one
/// pass over its entries and one signature.
public struct CRLEncoder: Sendable {
    /// The CA certificate whose CRLs this encoder writes.
    public let issuer: Certificate
    private let issuerNameDER: [UInt8]
    private let authorityKeyIdentifier: Certificate.Extension

    public init(issuer: Certificate) throws {
        self.issuer = issuer
        var name = DER.Serializer()
        try name.serialize(issuer.subject)
        issuerNameDER = name.serializedBytes
        let keyIdentifier = issuer.subjectKeyIdentifierBytes ?? issuer.publicKey.keyIdentifier
        authorityKeyIdentifier = try AuthorityKeyIdentifier(keyIdentifier: ArraySlice(keyIdentifier))
            .makeCertificateExtension()
    }

    /// Encodes and signs a CRL with the CA's key: the DER `CertificateList`.
    ///
    /// `revoked` may be empty (the revokedCertificates field is then left out) and is written
    /// in the order given.
    public func sign(
        number: CRLNumber, thisUpdate: Date, nextUpdate: Date, revoked: [RevokedCertificate], key: SigningKey
    ) throws -> [UInt8] {
        guard key.publicKey == issuer.publicKey else {
            throw PKIError.invalidInput("the key that would sign the CRL is not the key of its CA certificate")
        }
        let algorithm = key.signatureAlgorithmIdentifier
        let toBeSigned = try toBeSigned(
            number: number, thisUpdate: thisUpdate, nextUpdate: nextUpdate, revoked: revoked,
            signatureAlgorithm: algorithm)
        return try Self.certificateList(
            checkedToBeSigned: toBeSigned, signatureAlgorithm: algorithm, signature: key.signToBeSigned(toBeSigned))
    }

    /// The DER `TBSCertList` of a CRL, for a key that signs elsewhere (see
    /// ``certificateList(toBeSigned:signatureAlgorithm:signature:)``).
    public func toBeSigned(
        number: CRLNumber, thisUpdate: Date, nextUpdate: Date, revoked: [RevokedCertificate],
        signatureAlgorithm: SignatureAlgorithmIdentifier
    ) throws -> [UInt8] {
        guard nextUpdate > thisUpdate else {
            throw PKIError.invalidInput("the CRL's nextUpdate (\(nextUpdate)) is not after its thisUpdate (\(thisUpdate))")
        }
        let extensions = [
            authorityKeyIdentifier,
            Certificate.Extension(oid: .Revocation.cRLNumber, critical: false, value: try Self.der(of: number)[...]),
        ]

        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { tbs in
            try tbs.serialize(1)  // version v2
            try tbs.serialize(signatureAlgorithm)
            tbs.serializeRawBytes(issuerNameDER)
            try tbs.serialize(X509Time(thisUpdate))
            try tbs.serialize(X509Time(nextUpdate))
            if !revoked.isEmpty {
                try tbs.appendConstructedNode(identifier: .sequence) { entries in
                    for entry in revoked {
                        try Self.append(entry, to: &entries)
                    }
                }
            }
            try tbs.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { tagged in
                try tagged.serializeSequenceOf(extensions)
            }
        }
        return serializer.serializedBytes
    }

    /// The DER `CertificateList` of a `TBSCertList` and its signature.
    public func certificateList(
        toBeSigned: [UInt8], signatureAlgorithm: SignatureAlgorithmIdentifier, signature: [UInt8]
    ) throws -> [UInt8] {
        guard (try? DER.parse(toBeSigned))?.identifier == .sequence else {
            throw PKIError.invalidInput("the CRL's to-be-signed bytes are not one DER SEQUENCE")
        }
        return try Self.certificateList(
            checkedToBeSigned: toBeSigned, signatureAlgorithm: signatureAlgorithm, signature: signature)
    }

    private static func certificateList(
        checkedToBeSigned toBeSigned: [UInt8], signatureAlgorithm: SignatureAlgorithmIdentifier, signature: [UInt8]
    ) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { list in
            try list.appendSignedFields(toBeSigned: toBeSigned, algorithm: signatureAlgorithm, signature: signature)
        }
        return serializer.serializedBytes
    }

    /// `SEQUENCE { userCertificate, revocationDate, crlEntryExtensions OPTIONAL }`.
    private static func append(_ entry: RevokedCertificate, to entries: inout DER.Serializer) throws {
        try entries.appendConstructedNode(identifier: .sequence) { fields in
            try fields.serialize(entry.serialNumber.bytes)
            try fields.serialize(X509Time(entry.revocationDate))
            if let extensions = entryExtensionsByReason[entry.reason.rawValue] {
                fields.serializeRawBytes(extensions)
            }
        }
    }

    /// The crlEntryExtensions of each reason, encoded once: a non-critical reasonCode, or
    /// nothing for ``CRLReason/unspecified``.
    private static let entryExtensionsByReason: [[UInt8]?] = {
        var table = [[UInt8]?](repeating: nil, count: 11)
        for reason in CRLReason.allCases where reason != .unspecified {
            // Encoding an enumerated value and an extension cannot fail.
            let code = Certificate.Extension(oid: .Revocation.reasonCode, critical: false, value: try! der(of: reason)[...])
            var serializer = DER.Serializer()
            try! serializer.serializeSequenceOf([code])
            table[reason.rawValue] = serializer.serializedBytes
        }
        return table
    }()

    private static func der(of value: some DERSerializable) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        return serializer.serializedBytes
    }
}
