import SwiftASN1
import X509

/// The certs-only CMS SignedData, "degenerate PKCS#7" (RFC 5652 §5, RFC 7030 §4.1.3): a bag
/// of certificates with no content and no signers, what EST's /cacerts and /simpleenroll return.
///
/// swift-certificates' CMS types are internal, and its `CMS.sign` always adds a signer.
public enum CMSCertificatesOnly {
    static let signedDataOID: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 2]
    static let dataOID: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 1]
    private static let contextZero = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)

    /// The DER `ContentInfo` of a SignedData holding `certificates` (at least one), in the
    /// sorted order DER requires of a SET OF.
    ///
    /// `ContentInfo { id-signedData, [0] EXPLICIT SignedData { version 1, digestAlgorithms {},
    /// encapContentInfo { id-data }, certificates [0] IMPLICIT SET OF Certificate, signerInfos {} } }`.
    public static func encode(_ certificates: [Certificate]) throws -> [UInt8] {
        try encode(derCertificates: certificates.map(\.derBytes))
    }

    /// ``encode(_:)`` from certificates already in DER (each one whole `Certificate`), as they are
    /// stored: nothing is parsed or encoded again.
    public static func encode(derCertificates certificates: [[UInt8]]) throws -> [UInt8] {
        guard !certificates.isEmpty else {
            throw PKIError.invalidInput("a certs-only PKCS#7 needs at least one certificate")
        }
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { contentInfo in
            try contentInfo.serialize(signedDataOID)
            try contentInfo.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { content in
                try content.appendConstructedNode(identifier: .sequence) { signedData in
                    try signedData.serialize(1)  // CMSVersion v1: no attribute certificates, no signers
                    signedData.appendConstructedNode(identifier: .set) { _ in }  // digestAlgorithms
                    try signedData.appendConstructedNode(identifier: .sequence) { encapsulated in
                        try encapsulated.serialize(dataOID)  // eContent absent
                    }
                    // SET OF in DER: the encodings in ascending order (X.690 11.6).
                    signedData.appendConstructedNode(identifier: contextZero) { set in
                        for der in certificates.sorted(by: { $0.lexicographicallyPrecedes($1) }) { set.serializeRawBytes(der) }
                    }
                    signedData.appendConstructedNode(identifier: .set) { _ in }  // signerInfos
                }
            }
        }
        return serializer.serializedBytes
    }

    /// The certificates of a DER CMS `ContentInfo` holding a SignedData (degenerate or not), in
    /// the order they appear; entries that are not X.509 certificates (attribute certificates)
    /// are skipped. Throws ``PKIError/invalidInput(_:)`` naming what is wrong.
    public static func certificates(fromDER bytes: [UInt8]) throws -> [Certificate] {
        do {
            return try DER.sequence(DER.parse(bytes), identifier: .sequence) { contentInfo in
                let contentType = try ASN1ObjectIdentifier(derEncoded: &contentInfo)
                guard contentType == signedDataOID else {
                    throw PKIError.invalidInput("the PKCS#7 content is \(contentType), not signed data")
                }
                return try DER.explicitlyTagged(&contentInfo, tagNumber: 0, tagClass: .contextSpecific) { content in
                    try DER.sequence(content, identifier: .sequence) { signedData in
                        _ = try Int(derEncoded: &signedData)  // version
                        guard signedData.next()?.identifier == .set else {
                            throw PKIError.invalidInput("the PKCS#7 signed data has no digestAlgorithms SET")
                        }
                        guard signedData.next()?.identifier == .sequence else {
                            throw PKIError.invalidInput("the PKCS#7 signed data has no encapContentInfo")
                        }
                        var certificates: [Certificate] = []
                        var next = signedData.next()
                        if let node = next, node.identifier == contextZero {
                            guard case .constructed(let choices) = node.content else {
                                throw PKIError.invalidInput("the PKCS#7 certificates field is not constructed")
                            }
                            for choice in choices where choice.identifier == .sequence {
                                certificates.append(try Certificate(derEncoded: choice))
                            }
                            next = signedData.next()
                        }
                        if let node = next, node.identifier == ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific) {
                            next = signedData.next()  // crls, not read
                        }
                        guard next?.identifier == .set else {
                            throw PKIError.invalidInput("the PKCS#7 signed data has no signerInfos SET")
                        }
                        return certificates
                    }
                }
            }
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.invalidInput("the PKCS#7 data is malformed: \(error)")
        }
    }
}
