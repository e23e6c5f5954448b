import SwiftASN1
import X509

/// The CertID of an OCSP request or response (RFC 6960 §4.1.1): which certificate of which CA.
///
/// A CertID keeps the DER it was read from, and a response echoes that DER unchanged, so that
/// the client finds the answer to exactly what it asked.
public struct OCSPCertID: Hashable, Sendable {
    public private(set) var hashAlgorithm: OCSPHashAlgorithm
    public private(set) var issuerNameHash: [UInt8]
    public private(set) var issuerKeyHash: [UInt8]
    public private(set) var serialNumber: Certificate.SerialNumber
    /// The DER of the whole CertID, as received or as built.
    public private(set) var derBytes: [UInt8]

    /// The CertID of a certificate of `issuer`'s (the hash algorithm with NULL parameters, as
    /// openssl writes it), for responses signed before anyone asks.
    public init(issuer: OCSPIssuerHashes, serialNumber: Certificate.SerialNumber) throws {
        hashAlgorithm = issuer.hashAlgorithm
        issuerNameHash = issuer.nameHash
        issuerKeyHash = issuer.keyHash
        self.serialNumber = serialNumber
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { certID in
            try certID.appendConstructedNode(identifier: .sequence) { algorithm in
                try algorithm.serialize(issuer.hashAlgorithm.oid)
                try algorithm.serialize(ASN1Null())
            }
            try certID.serialize(ASN1OctetString(contentBytes: issuer.nameHash[...]))
            try certID.serialize(ASN1OctetString(contentBytes: issuer.keyHash[...]))
            try certID.serialize(serialNumber.bytes)
        }
        derBytes = serializer.serializedBytes
    }

    /// The CertID of a certificate of `issuer` with the hashes computed for `hashAlgorithm`.
    public init(issuer: Certificate, hashAlgorithm: OCSPHashAlgorithm, serialNumber: Certificate.SerialNumber) throws {
        try self.init(issuer: OCSPIssuerHashes(issuer: issuer, hashAlgorithm: hashAlgorithm), serialNumber: serialNumber)
    }
}

extension OCSPCertID: DERParseable, DERSerializable {
    /// Reads `SEQUENCE { hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber }`; the hash
    /// algorithm may have NULL or absent parameters, the hashes must have its length.
    public init(derEncoded rootNode: ASN1Node) throws {
        self = try DER.sequence(rootNode, identifier: .sequence) { fields in
            guard let algorithmNode = fields.next() else {
                throw PKIError.invalidInput("the OCSP CertID has no hash algorithm")
            }
            let oid = try DER.sequence(algorithmNode, identifier: .sequence) { algorithm in
                let oid = try ASN1ObjectIdentifier(derEncoded: &algorithm)
                if let parameters = algorithm.next() {
                    _ = try ASN1Null(derEncoded: parameters)
                }
                return oid
            }
            guard let hashAlgorithm = OCSPHashAlgorithm(oid: oid) else {
                throw PKIError.invalidInput("the OCSP CertID uses the unsupported hash algorithm \(oid)")
            }
            let nameHash = try ASN1OctetString(derEncoded: &fields).bytes
            let keyHash = try ASN1OctetString(derEncoded: &fields).bytes
            guard nameHash.count == hashAlgorithm.digestLength, keyHash.count == hashAlgorithm.digestLength else {
                throw PKIError.invalidInput(
                    "the OCSP CertID's hashes are not \(hashAlgorithm.digestLength) bytes long, as \(hashAlgorithm.rawValue) hashes are")
            }
            let serial = try ArraySlice<UInt8>(derEncoded: &fields)
            return OCSPCertID(
                hashAlgorithm: hashAlgorithm, issuerNameHash: Array(nameHash), issuerKeyHash: Array(keyHash),
                serialNumber: Certificate.SerialNumber(bytes: serial), derBytes: Array(rootNode.encodedBytes))
        }
    }

    /// Writes the CertID's DER exactly as it was received or built.
    public func serialize(into coder: inout DER.Serializer) throws {
        coder.serializeRawBytes(derBytes)
    }

    private init(
        hashAlgorithm: OCSPHashAlgorithm, issuerNameHash: [UInt8], issuerKeyHash: [UInt8],
        serialNumber: Certificate.SerialNumber, derBytes: [UInt8]
    ) {
        self.hashAlgorithm = hashAlgorithm
        self.issuerNameHash = issuerNameHash
        self.issuerKeyHash = issuerKeyHash
        self.serialNumber = serialNumber
        self.derBytes = derBytes
    }
}
