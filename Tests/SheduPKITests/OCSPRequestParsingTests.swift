import Foundation
import SwiftASN1
import Testing
import X509

@testable import SheduPKI

@Suite("OCSP request parsing: what is accepted, what is refused, and no crash on garbage")
struct OCSPRequestParsingTests {
    /// An OCSPRequest written field by field, so each can be made wrong.
    private struct RequestParts {
        var version: Int?
        var requestorName: GeneralName?
        var hashOID: ASN1ObjectIdentifier = OCSPHashAlgorithm.sha1.oid
        var nullParameters = true
        var nameHash: [UInt8] = Array(repeating: 0x11, count: 20)
        var keyHash: [UInt8] = Array(repeating: 0x22, count: 20)
        var serial: [UInt8] = [0x01, 0x02, 0x03]
        var negativeSerial = false
        var certIDCount = 1
        var nonce: [UInt8]? = [0x04, 0x10] + Array(repeating: 0xAB, count: 16)
        var signed = false
        var otherExtensions: [Certificate.Extension] = []
        var singleRequestExtensions: [Certificate.Extension] = []

        func der() throws -> [UInt8] {
            var serializer = DER.Serializer()
            try serializer.appendConstructedNode(identifier: .sequence) { request in
                try request.appendConstructedNode(identifier: .sequence) { tbs in
                    if let version {
                        try tbs.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { try $0.serialize(version) }
                    }
                    if let requestorName {
                        try tbs.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { try $0.serialize(requestorName) }
                    }
                    try tbs.appendConstructedNode(identifier: .sequence) { list in
                        for _ in 0..<certIDCount {
                            try list.appendConstructedNode(identifier: .sequence) { single in
                                try single.appendConstructedNode(identifier: .sequence) { certID in
                                    try certID.appendConstructedNode(identifier: .sequence) { algorithm in
                                        try algorithm.serialize(hashOID)
                                        if nullParameters { try algorithm.serialize(ASN1Null()) }
                                    }
                                    try certID.serialize(ASN1OctetString(contentBytes: nameHash[...]))
                                    try certID.serialize(ASN1OctetString(contentBytes: keyHash[...]))
                                    if negativeSerial {
                                        try certID.serialize(-128)
                                    } else {
                                        try certID.serialize(serial[...])
                                    }
                                }
                                if !singleRequestExtensions.isEmpty {
                                    try single.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) {
                                        try $0.serializeSequenceOf(singleRequestExtensions)
                                    }
                                }
                            }
                        }
                    }
                    let nonceExtension = nonce.map {
                        Certificate.Extension(oid: [1, 3, 6, 1, 5, 5, 7, 48, 1, 2], critical: false, value: $0[...])
                    }
                    let extensions = (nonceExtension.map { [$0] } ?? []) + otherExtensions
                    if !extensions.isEmpty {
                        try tbs.serialize(explicitlyTaggedWithTagNumber: 2, tagClass: .contextSpecific) {
                            try $0.serializeSequenceOf(extensions)
                        }
                    }
                }
                if signed {
                    try request.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { signature in
                        try signature.appendConstructedNode(identifier: .sequence) { fields in
                            try fields.serialize(SignatureAlgorithmIdentifier.ed25519)
                            try fields.serialize(ASN1BitString(bytes: Array(repeating: 0, count: 64)[...]))
                        }
                    }
                }
            }
            return serializer.serializedBytes
        }
    }

    @Test func aWellFormedRequestGivesItsFields() throws {
        var parts = RequestParts()
        parts.version = 0
        parts.requestorName = .directoryName(try DistinguishedName { CommonName("client") })
        parts.certIDCount = 3
        parts.signed = true
        let request = try OCSPRequest(derEncoded: parts.der())
        #expect(request.certIDs.count == 3)
        #expect(request.certIDs[0].hashAlgorithm == .sha1)
        #expect(request.certIDs[0].issuerNameHash == parts.nameHash)
        #expect(request.certIDs[0].issuerKeyHash == parts.keyHash)
        #expect(request.certIDs[0].serialNumber == Certificate.SerialNumber(bytes: [0x01, 0x02, 0x03]))
        #expect(request.nonce == parts.nonce)
        #expect(request.requestorName == parts.requestorName)
        #expect(request.isSigned)
    }

    @Test(arguments: OCSPHashAlgorithm.allCases)
    func everyHashAlgorithmIsReadWithOrWithoutNullParameters(algorithm: OCSPHashAlgorithm) throws {
        for nullParameters in [true, false] {
            var parts = RequestParts()
            parts.hashOID = algorithm.oid
            parts.nullParameters = nullParameters
            parts.nameHash = Array(repeating: 1, count: algorithm.digestLength)
            parts.keyHash = Array(repeating: 2, count: algorithm.digestLength)
            parts.nonce = nil
            let request = try OCSPRequest(derEncoded: parts.der())
            #expect(request.certIDs[0].hashAlgorithm == algorithm)
            #expect(request.nonce == nil)
            // The CertID keeps its own bytes, parameters as sent.
            #expect(try OCSPCertID(derEncoded: request.certIDs[0].derBytes).derBytes == request.certIDs[0].derBytes)
        }
    }

    @Test func issuerHashesAreOverTheNameDERAndTheKeyBits() throws {
        let ca = try TestCA(KeySpec(storedAlgorithm: .ecdsa, bits: 256))
        let hashes = try OCSPIssuerHashes(issuer: ca.certificate, hashAlgorithm: .sha256)
        guard case .p256(let key) = ca.key else {
            Issue.record("a P-256 CA has a P-256 key")
            return
        }
        // The subjectPublicKey of a P-256 key is its uncompressed point.
        #expect(hashes.keyHash == OCSPHashAlgorithm.sha256.hash(key.publicKey.x963Representation))
        var name = DER.Serializer()
        try name.serialize(ca.certificate.subject)
        #expect(hashes.nameHash == OCSPHashAlgorithm.sha256.hash(name.serializedBytes))
        #expect(try OCSPIssuerHashes(issuer: ca.certificate, hashAlgorithm: .sha1).keyHash.count == 20)
    }

    /// RFC 6960 §4.4: an extension the responder does not know is ignored unless it is critical;
    /// a critical acceptable-responses extension is understood (every response is basic).
    @Test func unknownExtensionsAreIgnoredUnlessCritical() throws {
        var parts = RequestParts()
        parts.otherExtensions = [
            Certificate.Extension(oid: [1, 3, 6, 1, 5, 5, 7, 48, 1, 8], critical: false, value: [0x30, 0x00]),
            Certificate.Extension(oid: [1, 3, 6, 1, 5, 5, 7, 48, 1, 4], critical: true, value: [0x30, 0x0B, 0x06, 0x09, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01]),
        ]
        parts.singleRequestExtensions = [
            Certificate.Extension(oid: [1, 3, 6, 1, 5, 5, 7, 48, 1, 7], critical: false, value: [0x30, 0x00])
        ]
        let request = try OCSPRequest(derEncoded: parts.der())
        #expect(request.nonce == parts.nonce)
        #expect(request.certIDs.count == 1)
    }

    @Test func malformedRequestsAreRefusedWithANamedReason() throws {
        var unsupportedHash = RequestParts()
        unsupportedHash.hashOID = [1, 2, 840, 113_549, 2, 5]  // MD5
        var wrongVersion = RequestParts()
        wrongVersion.version = 1
        var noCertificate = RequestParts()
        noCertificate.certIDCount = 0
        var shortHash = RequestParts()
        shortHash.nameHash = [1, 2, 3]
        var negativeSerial = RequestParts()
        negativeSerial.negativeSerial = true
        let unknownCritical = Certificate.Extension(oid: [1, 3, 6, 1, 5, 5, 7, 48, 1, 8], critical: true, value: [0x30, 0x00])
        var criticalRequestExtension = RequestParts()
        criticalRequestExtension.otherExtensions = [unknownCritical]
        var criticalSingleExtension = RequestParts()
        criticalSingleExtension.singleRequestExtensions = [unknownCritical]
        let cases: [(RequestParts, String)] = [
            (criticalRequestExtension, "OCSP request has a critical extension 1.3.6.1.5.5.7.48.1.8 that Shedu does not understand"),
            (criticalSingleExtension, "OCSP single request has a critical extension 1.3.6.1.5.5.7.48.1.8"),
            (unsupportedHash, "unsupported hash algorithm 1.2.840.113549.2.5"),
            (wrongVersion, "version 2"),
            (noCertificate, "asks about no certificate"),
            (shortHash, "are not 20 bytes long"),
            (negativeSerial, "malformed"),
        ]
        for (parts, reason) in cases {
            do {
                _ = try OCSPRequest(derEncoded: parts.der())
                Issue.record("accepted a request that should fail with \(reason)")
            } catch let error as PKIError {
                #expect(error.description.contains(reason), "\(error)")
            }
        }
    }

    @Test func randomBytesNeverCrashTheParser() throws {
        var generator = SplitMix64(state: 0x5EED)
        var accepted = 0
        for round in 0..<20_000 {
            let count = Int.random(in: 0...200, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Start most inputs like a SEQUENCE, so the parser gets past the first byte.
            if round % 4 != 0, !bytes.isEmpty { bytes[0] = 0x30 }
            if (try? OCSPRequest(derEncoded: bytes)) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
    }

    @Test func truncatedAndCorruptedRequestsNeverCrashTheParser() throws {
        var parts = RequestParts()
        parts.requestorName = .uniformResourceIdentifier("https://client.example")
        parts.certIDCount = 2
        parts.signed = true
        let der = try parts.der()
        #expect(throws: Never.self) { try OCSPRequest(derEncoded: der) }
        for length in 0..<der.count {
            #expect(throws: PKIError.self) { try OCSPRequest(derEncoded: Array(der.prefix(length))) }
        }
        #expect(throws: PKIError.self) { try OCSPRequest(derEncoded: der + [0x00]) }
        var generator = SplitMix64(state: 42)
        for index in der.indices {
            for _ in 0..<8 {
                var corrupted = der
                corrupted[index] = UInt8.random(in: 0...255, using: &generator)
                // Either parsed or refused with a PKIError: anything else (or a trap) fails.
                do {
                    _ = try OCSPRequest(derEncoded: corrupted)
                } catch is PKIError {
                }
            }
        }
    }

    @Test func deeplyNestedInputIsRefused() throws {
        var bytes: [UInt8] = [0x05, 0x00]
        for _ in 0..<200 {
            var serializer = DER.Serializer()
            serializer.appendConstructedNode(identifier: .sequence) { $0.serializeRawBytes(bytes) }
            bytes = serializer.serializedBytes
        }
        #expect(throws: PKIError.self) { try OCSPRequest(derEncoded: bytes) }
    }
}
