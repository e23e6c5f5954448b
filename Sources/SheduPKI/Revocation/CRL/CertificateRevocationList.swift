import Foundation
import SwiftASN1
import X509

/// An X.509 CRL read from DER: what a relying party, the VA and the tests need of it.
///
/// Reads v1 and v2 CRLs; reasons other than the RFC 5280 codes and malformed entries are errors.
public struct CertificateRevocationList: Sendable, Hashable {
    public var issuer: DistinguishedName
    public var thisUpdate: Date
    public var nextUpdate: Date?
    /// The cRLNumber extension, if the CRL has one.
    public var number: CRLNumber?
    /// The key identifier of the authorityKeyIdentifier extension, if any.
    public var authorityKeyIdentifier: [UInt8]?
    /// The full-name URIs of the issuingDistributionPoint extension, if any.
    public var distributionPointURIs: [String]
    public var entries: [RevokedCertificate]
    public var signatureAlgorithm: SignatureAlgorithmIdentifier
    /// The DER `TBSCertList` exactly as signed.
    public var toBeSignedBytes: [UInt8]
    public var signature: [UInt8]

    /// Parses a DER `CertificateList`; throws ``PKIError/invalidInput(_:)`` naming what is wrong.
    public init(derEncoded bytes: [UInt8]) throws {
        do {
            self = try Self.parse(DER.parse(bytes))
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.invalidInput("the CRL is malformed: \(error)")
        }
    }

    /// Whether `issuer`'s key verifies the CRL's signature.
    public func isSigned(by issuer: Certificate) -> Bool {
        issuer.publicKey.isValidSignature(signature, overToBeSigned: toBeSignedBytes, algorithm: signatureAlgorithm)
    }

    private init(
        issuer: DistinguishedName, thisUpdate: Date, nextUpdate: Date?, extensions: Certificate.Extensions,
        entries: [RevokedCertificate], signatureAlgorithm: SignatureAlgorithmIdentifier, toBeSignedBytes: [UInt8],
        signature: [UInt8]
    ) throws {
        self.issuer = issuer
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.entries = entries
        self.signatureAlgorithm = signatureAlgorithm
        self.toBeSignedBytes = toBeSignedBytes
        self.signature = signature
        number = try extensions[oid: .Revocation.cRLNumber].map { try CRLNumber(derEncoded: $0.value) }
        authorityKeyIdentifier = try extensions.authorityKeyIdentifier?.keyIdentifier.map(Array.init)
        if let point = extensions[oid: .Revocation.issuingDistributionPoint] {
            distributionPointURIs = try Self.fullNameURIs(ofIssuingDistributionPoint: point.value)
        } else {
            distributionPointURIs = []
        }
    }

    private static func parse(_ root: ASN1Node) throws -> CertificateRevocationList {
        try DER.sequence(root, identifier: .sequence) { fields in
            guard let tbsNode = fields.next() else { throw PKIError.invalidInput("the CRL has no TBSCertList") }
            let outerAlgorithm = try SignatureAlgorithmIdentifier(derEncoded: &fields)
            let signature = try ASN1BitString(derEncoded: &fields)
            guard signature.paddingBits == 0 else {
                throw PKIError.invalidInput("the CRL's signature is not a whole number of bytes")
            }
            return try DER.sequence(tbsNode, identifier: .sequence) { tbs in
                let version = try DER.optionalImplicitlyTagged(&tbs, tag: .integer) as Int? ?? 0
                guard version == 0 || version == 1 else {
                    throw PKIError.invalidInput("the CRL has version \(version + 1), not 1 or 2")
                }
                let innerAlgorithm = try SignatureAlgorithmIdentifier(derEncoded: &tbs)
                guard innerAlgorithm == outerAlgorithm else {
                    throw PKIError.invalidInput("the CRL names two different signature algorithms")
                }
                guard let issuerNode = tbs.next() else { throw PKIError.invalidInput("the CRL has no issuer") }
                let issuer = try DistinguishedName(derEncoded: issuerNode)
                let thisUpdate = try X509Time(derEncoded: &tbs).date
                var next = tbs.next()
                var nextUpdate: Date?
                if let node = next, [UTCTime.defaultIdentifier, GeneralizedTime.defaultIdentifier].contains(node.identifier) {
                    nextUpdate = try X509Time(derEncoded: node).date
                    next = tbs.next()
                }
                var entries: [RevokedCertificate] = []
                if let node = next, node.identifier == .sequence {
                    entries = try parseEntries(node)
                    next = tbs.next()
                }
                var extensions = Certificate.Extensions()
                if let node = next {
                    extensions = try DER.explicitlyTagged(node, tagNumber: 0, tagClass: .contextSpecific) { list in
                        try Certificate.Extensions(DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: list))
                    }
                }
                return try CertificateRevocationList(
                    issuer: issuer, thisUpdate: thisUpdate, nextUpdate: nextUpdate, extensions: extensions,
                    entries: entries, signatureAlgorithm: outerAlgorithm, toBeSignedBytes: Array(tbsNode.encodedBytes),
                    signature: Array(signature.bytes))
            }
        }
    }

    private static func parseEntries(_ node: ASN1Node) throws -> [RevokedCertificate] {
        guard case .constructed(let children) = node.content else {
            throw PKIError.invalidInput("the CRL's revokedCertificates is not a SEQUENCE")
        }
        var entries: [RevokedCertificate] = []
        for child in children {
            entries.append(
                try DER.sequence(child, identifier: .sequence) { fields in
                    let serial = try ArraySlice<UInt8>(derEncoded: &fields)
                    let date = try X509Time(derEncoded: &fields).date
                    var reason = CRLReason.unspecified
                    if let extensionsNode = fields.next() {
                        let extensions = try DER.sequence(
                            of: Certificate.Extension.self, identifier: .sequence, rootNode: extensionsNode)
                        if let code = extensions.first(where: { $0.oid == .Revocation.reasonCode }) {
                            reason = try CRLReason(derEncoded: code.value)
                        }
                    }
                    return RevokedCertificate(
                        serialNumber: Certificate.SerialNumber(bytes: serial), revocationDate: date, reason: reason)
                })
        }
        return entries
    }

    /// The URIs of `distributionPoint [0] { fullName [0] GeneralNames }`; the other fields are not read.
    private static func fullNameURIs(ofIssuingDistributionPoint value: ArraySlice<UInt8>) throws -> [String] {
        let point = try DER.parse(value)
        guard case .constructed(let fields) = point.content, point.identifier == .sequence else {
            throw PKIError.invalidInput("the CRL's issuingDistributionPoint is not a SEQUENCE")
        }
        var uris: [String] = []
        let contextZero = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        for field in fields where field.identifier == contextZero {
            guard case .constructed(let names) = field.content else { continue }
            for fullName in names where fullName.identifier == contextZero {
                guard case .constructed(let generalNames) = fullName.content else { continue }
                for name in generalNames {
                    if case .uniformResourceIdentifier(let uri) = try GeneralName(derEncoded: name) {
                        uris.append(uri)
                    }
                }
            }
        }
        return uris
    }
}
