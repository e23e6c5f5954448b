import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import SheduPKI

@Suite("PKI basics: hex, serials, key ids, names")
struct PKIBasicsTests {
    /// IP addresses of subject alternative names as shown in a certificate's info.
    @Test func ipAddressesReadAsText() {
        #expect(CertificateInfo.ipText([192, 168, 0, 7]) == "192.168.0.7")
        #expect(CertificateInfo.ipText(Array(repeating: 0, count: 15) + [1]) == "::1")
        #expect(CertificateInfo.ipText([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [0x42]) == "2001:db8::42")
        #expect(CertificateInfo.ipText([1, 2, 3]) == "010203", "neither IPv4 nor IPv6: hex")
    }

    /// A PKCS#10 request with a key Shedu does not sign for says so, instead of "not a PKCS#10
    /// certificate request"; what is not a request at all still says that.
    @Test func csrsWithKeysSheduDoesNotSignForSaySo() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let compressedKey = try runCommand(
            "/bin/sh", ["-c", "\(opensslPath) ecparam -name prime256v1 -genkey -noout | \(opensslPath) ec -conv_form compressed -out compressed.pem"],
            in: folder)
        #expect(compressedKey.status == 0, "\(compressedKey)")
        for (name, arguments, kind) in [
            ("rsa1024", ["-newkey", "rsa:1024"], "its public key (RSA of 1024 bits) is not one Shedu signs for"),
            ("p224", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-224"],
             "its public key (algorithm 1.2.840.10045.2.1, curve 1.3.132.0.33) is not one Shedu signs for"),
            // A key Shedu certifies, signed with PSS: the message names the signature, not the key.
            ("pss", ["-newkey", "rsa:2048", "-sigopt", "rsa_padding_mode:pss"],
             "it is signed with RSASSA-PSS, which Shedu does not verify"),
            // A P-256 key is one Shedu certifies: an ECDSA signature over SHA-1 is what it refuses.
            ("ecdsa-sha1", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha1"],
             "it is signed with ECDSA with SHA-1, which Shedu does not verify"),
            // Signed with ECDSA and SHA-256, which Shedu verifies: the key's compressed point is what it does not read.
            ("compressed", ["-key", "compressed.pem"],
             "its public key (algorithm 1.2.840.10045.2.1, curve 1.2.840.10045.3.1.7) does not decode"),
        ] {
            let made = try runCommand(
                opensslPath, ["req", "-new", "-nodes", "-keyout", "/dev/null", "-subj", "/CN=\(name)", "-outform", "DER", "-out", "\(name).der"] + arguments,
                in: folder)
            #expect(made.status == 0, "\(made)")
            let der = try folder.read("\(name).der")
            let error = #expect(throws: PKIError.self) { try CertificateSigningRequest(apiText: Data(der).base64EncodedString()) }
            #expect(error?.description.contains("csr: \(kind)") == true, "\(String(describing: error))")
        }
        let notARequest = #expect(throws: PKIError.self) { try CertificateSigningRequest(apiText: Data("hello".utf8).base64EncodedString()) }
        #expect(notARequest?.description.contains("csr is not a PKCS#10 certificate request") == true)
    }

    /// An EC private key is read on the curve it names, with the public key it carries: swift-crypto
    /// alone read a secp256k1 or brainpool PKCS#8 key as a P-256 or P-384 key (another public
    /// key), and took a SEC1 key whose public part is another key's.
    @Test func ecPrivateKeysAreReadOnTheirOwnCurveWithTheirOwnPublicKey() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        func pem(_ command: String) throws -> String {
            let made = try runCommand("/bin/sh", ["-c", command], in: folder)
            #expect(made.status == 0, "\(made)")
            return made.output
        }
        for (curve, oid) in [("secp256k1", "1.3.132.0.10"), ("brainpoolP256r1", "1.3.36.3.3.2.8.1.1.7"), ("brainpoolP384r1", "1.3.36.3.3.2.8.1.1.11")] {
            let key = try pem("\(opensslPath) genpkey -algorithm EC -pkeyopt ec_paramgen_curve:\(curve)")
            let error = #expect(throws: PKIError.self) { try SigningKey(pemEncoded: key) }
            #expect(error?.description == "private_key is an EC key on curve \(oid); Shedu uses P-256, P-384 and P-521")
        }
        for curve in ["P-256", "P-384", "P-521"] {
            let pkcs8 = try pem("\(opensslPath) genpkey -algorithm EC -pkeyopt ec_paramgen_curve:\(curve) | tee key.pem")
            let sec1 = try pem("\(opensslPath) ec -in key.pem 2>/dev/null")
            let expected = try pem("\(opensslPath) pkey -in key.pem -pubout")
            for text in [pkcs8, sec1] {
                #expect(try SigningKey(pemEncoded: text).publicKey == Certificate.PublicKey(pemEncoded: expected))
            }
        }
        // A SEC1 key with another key's public point (the last 65 bytes of a P-256 key's DER).
        let first = try pem("\(opensslPath) ecparam -name prime256v1 -genkey -noout | \(opensslPath) ec -outform DER 2>/dev/null | base64 -w0")
        let second = try pem("\(opensslPath) ecparam -name prime256v1 -genkey -noout | \(opensslPath) ec -outform DER 2>/dev/null | base64 -w0")
        let mixed = try #require(Data(base64Encoded: first)).dropLast(65) + (try #require(Data(base64Encoded: second))).suffix(65)
        let mixedPEM = PEMDocument(type: "EC PRIVATE KEY", derBytes: Array(mixed)).pemString
        let error = #expect(throws: PKIError.self) { try SigningKey(pemEncoded: mixedPEM) }
        #expect(error?.description == "private_key carries a public key that is not its private key's")
    }

    @Test func hexRoundTrips() {
        #expect(Hex.encode([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Hex.decode("000FA0ff") == [0x00, 0x0f, 0xa0, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test func randomSerialsArePositiveSixteenBytesAndDistinct() {
        var seen = Set<String>()
        for _ in 0..<2000 {
            let serial = Certificate.SerialNumber.generate()
            let bytes = Array(serial.bytes)
            #expect(bytes.count == 16)
            #expect(bytes[0] >= 1 && bytes[0] <= 0x7f)
            #expect(serial.hexString.count == 32)
            seen.insert(serial.hexString)
        }
        #expect(seen.count == 2000)
    }

    @Test func publicRandomBytesDoNotRepeatAcrossPoolRefills() {
        // 20-byte draws through five refills of the 4 KB pool, the last draw of each pool cut short.
        var draws = Set<[UInt8]>()
        var ones = 0
        for _ in 0..<1_000 {
            var draw = [UInt8](repeating: 0, count: 20)
            draw.withUnsafeMutableBytes { PublicRandom.fill($0) }
            draws.insert(draw)
            ones += draw.reduce(0) { $0 + $1.nonzeroBitCount }
        }
        #expect(draws.count == 1_000)
        #expect((75_000...85_000).contains(ones), "\(ones) of 160,000 bits set")
    }

    @Test func serialsIssuedLaterSortAfterEarlierOnes() {
        let now = Date(timeIntervalSince1970: 1_796_205_600)
        let first = Certificate.SerialNumber.generate(at: now)
        let sameInstant = Certificate.SerialNumber.generate(at: now)
        let later = Certificate.SerialNumber.generate(at: now.addingTimeInterval(0.002))
        // The time prefix is shared, the 80 random bits are not.
        #expect(first.hexString.prefix(12) == sameInstant.hexString.prefix(12))
        #expect(first.hexString.dropFirst(12) != sameInstant.hexString.dropFirst(12))
        #expect(first.hexString.prefix(12) == String(1_796_205_600_000, radix: 16).leftPadded(to: 12))
        #expect(later.hexString > first.hexString && later.hexString > sameInstant.hexString)
    }

    @Test func serialHexDropsSignPaddingAndParsesBack() throws {
        #expect(Certificate.SerialNumber(bytes: [0x00, 0x80, 0x01]).hexString == "8001")
        #expect(Certificate.SerialNumber(bytes: [0x00]).hexString == "00")
        let parsed = try #require(Certificate.SerialNumber(hexString: "1a2b3c4d5e6f"))
        #expect(parsed.hexString == "1a2b3c4d5e6f")
        #expect(Certificate.SerialNumber(hexString: "abc")?.hexString == "0abc")
        #expect(Certificate.SerialNumber(hexString: "xyz") == nil)
        #expect(Certificate.SerialNumber(hexString: String(repeating: "ab", count: 21)) == nil)
    }

    @Test func keyIdentifierIsSHA256OfTheSubjectPublicKeyInfo() throws {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        #expect(publicKey.spkiDER == Array(key.publicKey.derRepresentation))
        #expect(publicKey.keyIdentifier == Array(SHA256.hash(data: key.publicKey.derRepresentation)))
        #expect(publicKey.keyIdentifierHex.count == 64)
    }

    /// A request's key id, hashed from the request's own encoding of its key where that is the
    /// certificate's (EC keys), is the id of the key itself, for every kind of key.
    @Test(arguments: [(KeyAlgorithm.ecdsa, 256), (.ecdsa, 384), (.ecdsa, 521), (.rsa, 2048), (.ed25519, 256)])
    func requestKeyIdentifierIsTheKeys(algorithm: KeyAlgorithm, bits: Int) throws {
        let key = try SigningKey.generate(KeySpec(algorithm: algorithm, bits: bits))
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("device-1") }, privateKey: key.certificateKey,
            attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: key.spec.certificateSignatureAlgorithm)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        let der = serializer.serializedBytes
        #expect(request.keyIdentifier(der: der) == key.publicKey.keyIdentifier)
        let keyInfo = CertificateSigningRequest.certifiedKeyInfo(in: der, of: request.publicKey)
        #expect((keyInfo != nil) == (algorithm == .ecdsa))
        if let keyInfo { #expect(Array(keyInfo) == key.publicKey.spkiDER) }
    }

    @Test func subjectRoundTripsThroughAnX509Name() throws {
        let subject = Subject(
            commonName: "device-001", organization: "Acme Corp", organizationUnit: "Sensors", country: "ES",
            state: "Gipuzkoa", locality: "Arrasate")
        let name = try subject.distinguishedName()
        #expect(Subject(name) == subject)
        #expect(name.description == "CN=device-001,OU=Sensors,O=Acme Corp,L=Arrasate,ST=Gipuzkoa,C=ES")
        #expect(try Subject(commonName: "only").distinguishedName().description == "CN=only")
        #expect(throws: PKIError.self) { try Subject(commonName: "x", country: "Spain").distinguishedName() }
    }

    /// Names read as the certificate holds them, as Lamassu shows them: RFC 4514's escapes are
    /// for a whole name written on one line, not for a field of its own.
    @Test func nameFieldsReadAsTheCertificateHoldsThem() throws {
        func value<S: DERImplicitlyTaggable>(_ string: S) throws -> RelativeDistinguishedName.Attribute.Value {
            .init(asn1Any: try ASN1Any(erasing: string))
        }
        let name = try DistinguishedName([
            RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, utf8String: "dev, one+\\x")),
            RelativeDistinguishedName(.init(type: .RDNAttributeType.organizationName, printableString: "Acme, Inc.")),
            RelativeDistinguishedName(.init(type: .RDNAttributeType.organizationalUnitName, utf8String: "#lab ")),
            RelativeDistinguishedName(
                .init(type: .RDNAttributeType.localityName, value: try value(ASN1BMPString(contentBytes: [0x00, 0x4d, 0x00, 0xfc, 0x6c, 0x34])))),
            RelativeDistinguishedName(
                .init(type: .RDNAttributeType.stateOrProvinceName, value: try value(ASN1TeletexString(contentBytes: [0x43, 0x61, 0x66, 0xe9])))),
            RelativeDistinguishedName(
                .init(type: .RDNAttributeType.countryName, value: try value(ASN1UniversalString(contentBytes: [0, 0, 0, 0x45, 0, 0, 0, 0x53])))),
        ])
        let subject = Subject(name)
        #expect(subject.commonName == "dev, one+\\x")
        #expect(subject.organization == "Acme, Inc.")
        #expect(subject.organizationUnit == "#lab ")
        #expect(subject.locality == "M\u{FC}\u{6C34}", "BMPString: UTF-16")
        #expect(subject.state == "Caf\u{E9}", "TeletexString: Latin-1")
        #expect(subject.country == "ES", "UniversalString: UTF-32")
        #expect(Subject.text(of: .init(asn1Any: try ASN1Any(erasing: ASN1Null()))) == "#0500", "no string: its DER in hex")
    }

    @Test func keyUsageNamesMapBothWays() {
        let usage = KeyUsageName.keyUsage([.digitalSignature, .certSign, .crlSign])
        #expect(usage.digitalSignature && usage.keyCertSign && usage.cRLSign && !usage.keyEncipherment)
        #expect(KeyUsageName.names(usage) == [.digitalSignature, .certSign, .crlSign])
        #expect(KeyUsageName(name: "crlsign") == .crlSign)
        #expect(ExtendedKeyUsageName(name: "clientauth")?.oid == [1, 3, 6, 1, 5, 5, 7, 3, 2])
        #expect(ExtendedKeyUsageName(oid: [1, 3, 6, 1, 5, 5, 7, 3, 1]) == .serverAuth)
    }

    @Test func localTLSMaterialChainsAndCoversItsNames() throws {
        let now = Date()
        let ca = try LocalTLSAuthority.makeCA(commonName: "test CA", now: now)
        let server = try LocalTLSAuthority.makeServerCertificate(
            dnsNames: ["localhost", "shedu.example"], ipAddresses: ["127.0.0.1", "::1"], caCertificatePEM: ca.certificatePEM,
            caPrivateKeyPEM: ca.privateKeyPEM, now: now)
        let root = try Certificate(pemEncoded: ca.certificatePEM)
        let leaf = try Certificate(pemEncoded: server.certificatePEM)
        #expect(root.publicKey.isValidSignature(leaf.signature, for: leaf))
        let covered = try LocalTLSAuthority.coveredNames(certificatePEM: server.certificatePEM)
        #expect(covered.dns == ["localhost", "shedu.example"])
        #expect(covered.ip == [[127, 0, 0, 1], Array(repeating: 0, count: 15) + [1]])
        #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}

@Suite("Issuance refuses names a relying party would read differently")
struct NULNameTests {
    /// "bank.example\0.evil.example" reads as "bank.example" to software that stops at the NUL
    /// (the null-prefix attack): in the subject or a subject alternative name, it is refused.
    @Test func namesWithANULAreRefused() throws {
        let now = Date()
        let root = try TestCA(.init(storedAlgorithm: .ecdsa, bits: 256), name: "Anchor", now: now)
        let key = try SigningKey.generate(.init(storedAlgorithm: .ecdsa, bits: 256))
        let policy = IssuancePolicy(notAfter: now.addingTimeInterval(86_400))
        func issue(commonName: String, dnsName: String?) throws -> Certificate {
            var extensions = Certificate.Extensions()
            if let dnsName { try extensions.append(Certificate.Extension(SubjectAlternativeNames([.dnsName(dnsName)]), critical: false)) }
            return try CertificateBuilder.issue(
                .init(name: try DistinguishedName { CommonName(commonName) }, publicKey: key.publicKey, requestedExtensions: extensions),
                policy: policy, issuer: root.issuer, now: now)
        }
        #expect(throws: PKIError.invalidInput("the subject's common name contains a NUL character")) {
            try issue(commonName: "bank.example\u{0}.evil.example", dnsName: nil)
        }
        #expect(throws: PKIError.invalidInput("the subject alternative name 'bank.example\\0.evil.example' contains a NUL character")) {
            try issue(commonName: "device", dnsName: "bank.example\u{0}.evil.example")
        }
        #expect(try issue(commonName: "device", dnsName: "device.example").subject.description.contains("device"))
    }

    /// A value that is not what its tag says was copied as it came, and the NUL check read its hex
    /// form: a PrintableString "good.example\0.evil" was signed, and openssl verified the chain.
    @Test func valuesThatAreNotTheirTagsStringAreRefused() throws {
        let now = Date()
        let root = try TestCA(.init(storedAlgorithm: .ecdsa, bits: 256), name: "Anchor", now: now)
        let key = try SigningKey.generate(.init(storedAlgorithm: .ecdsa, bits: 256))
        func value(tag: UInt8, _ content: [UInt8]) throws -> RelativeDistinguishedName.Attribute.Value {
            .init(asn1Any: try ASN1Any(derEncoded: DER.parse([tag, UInt8(content.count)] + content)))
        }
        func issue(_ relativeNames: [RelativeDistinguishedName], honorSubject: Bool = true) throws -> Certificate {
            try CertificateBuilder.issue(
                .init(name: DistinguishedName(relativeNames), publicKey: key.publicKey),
                policy: IssuancePolicy(notAfter: now.addingTimeInterval(86_400), honorSubject: honorSubject),
                issuer: root.issuer, now: now)
        }
        func commonName(_ value: RelativeDistinguishedName.Attribute.Value) -> [RelativeDistinguishedName] {
            [RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, value: value))]
        }
        let nulName = Array("good.example\u{0}.evil".utf8)
        for (tag, content, problem) in [
            (UInt8(0x13), nulName, "is not a valid PrintableString"),
            (0x13, Array("*.example".utf8), "is not a valid PrintableString"),
            (0x1A, nulName, "is not a valid VisibleString"),
            (0x16, [0x64, 0xE9], "is not a valid IA5String"),
            (0x1E, [0x00, 0x64, 0x00], "is not a valid BMPString"),
            (0x1C, [0x00, 0x11, 0x00, 0x00], "is not a valid UniversalString"),
            (0x04, nulName, "is not a string (RFC 5280 Appendix A.1)"),
            (0x02, [0x05], "is not a string (RFC 5280 Appendix A.1)"),
        ] {
            for honorSubject in [true, false] {
                let error = #expect(throws: PKIError.self) { try issue(commonName(try value(tag: tag, content)), honorSubject: honorSubject) }
                #expect(error?.description == "the subject's common name \(problem)", "tag \(tag), honor \(honorSubject)")
            }
        }
        let emptyRelativeName = #expect(throws: PKIError.self) {
            try issue([RelativeDistinguishedName([])] + commonName(.init(utf8String: "device")))
        }
        #expect(emptyRelativeName?.description == "the subject has a relative distinguished name with no attribute (RFC 5280 Appendix A.1)")
        // Strings that are valid for their type, and an attribute RFC 5280 does not type, pass.
        let teletex = try issue(commonName(try value(tag: 0x14, Array("device-t".utf8))))
        #expect(SheduPKI.Subject(teletex.subject).commonName == "device-t")
        let bmp = try issue(commonName(try value(tag: 0x1E, [0x00, 0x64, 0x00, 0x31])))
        #expect(SheduPKI.Subject(bmp.subject).commonName == "d1")
        let custom = try issue(
            commonName(.init(utf8String: "device")) + [RelativeDistinguishedName(.init(type: [1, 3, 6, 1, 4, 1, 99999, 1], value: try value(tag: 0x02, [0x05])))])
        #expect(custom.subject.count == 2)
    }

    /// Values outside RFC 5280's bounds do not decode for strict parsers (pkilint calls them
    /// FATAL): they are refused, counted in characters rather than bytes.
    @Test func namesOutsideRFC5280BoundsAreRefused() throws {
        let now = Date()
        let root = try TestCA(.init(storedAlgorithm: .ecdsa, bits: 256), name: "Anchor", now: now)
        let key = try SigningKey.generate(.init(storedAlgorithm: .ecdsa, bits: 256))
        func issue(_ name: DistinguishedName) throws -> Certificate {
            try CertificateBuilder.issue(
                .init(name: name, publicKey: key.publicKey), policy: IssuancePolicy(notAfter: now.addingTimeInterval(86_400)),
                issuer: root.issuer, now: now)
        }
        #expect(throws: PKIError.invalidInput("the subject's common name is 65 characters long; RFC 5280 allows 1 to 64")) {
            try issue(try DistinguishedName { CommonName(String(repeating: "a", count: 65)) })
        }
        #expect(throws: PKIError.invalidInput("the subject's common name is 0 characters long; RFC 5280 allows 1 to 64")) {
            try issue(try DistinguishedName { CommonName("") })
        }
        #expect(throws: PKIError.invalidInput("the subject's country is 5 characters long; RFC 5280 allows exactly 2")) {
            try issue(try DistinguishedName { CountryName("Spain"); CommonName("device") })
        }
        #expect(throws: PKIError.invalidInput("the subject's organizational unit is 0 characters long; RFC 5280 allows 1 to 64")) {
            try issue(try DistinguishedName { OrganizationalUnitName(""); CommonName("device") })
        }
        let wide = String(repeating: "é", count: 64)
        #expect(try issue(try DistinguishedName { CountryName("ES"); CommonName(wide) }).subject.description.contains(wide))
    }

    /// Subject alternative names copied from a request must have the syntax RFC 5280 §4.2.1.6
    /// asks of them, or relying parties cannot match them (pkilint reports each as an ERROR).
    @Test func alternativeNamesOutOfSyntaxAreRefused() throws {
        let now = Date()
        let root = try TestCA(.init(storedAlgorithm: .ecdsa, bits: 256), name: "Anchor", now: now)
        let key = try SigningKey.generate(.init(storedAlgorithm: .ecdsa, bits: 256))
        func issue(_ names: [GeneralName]) throws -> Certificate {
            var extensions = Certificate.Extensions()
            try extensions.append(Certificate.Extension(SubjectAlternativeNames(names), critical: false))
            return try CertificateBuilder.issue(
                .init(name: try DistinguishedName { CommonName("device") }, publicKey: key.publicKey, requestedExtensions: extensions),
                policy: IssuancePolicy(notAfter: now.addingTimeInterval(86_400), honorExtensions: true), issuer: root.issuer, now: now)
        }
        for (name, message) in [
            (GeneralName.dnsName("exa mple..com"), "'exa mple..com' is not a valid DNS name"),
            (.dnsName("*.*.example.com"), "'*.*.example.com' is not a valid DNS name"),
            (.dnsName(""), "'' is not a valid DNS name"),
            (.dnsName("-edge.example"), "'-edge.example' is not a valid DNS name"),
            (.dnsName(String(repeating: "a", count: 64) + ".example"), "is not a valid DNS name"),
            (.rfc822Name("not an email"), "'not an email' is not a valid e-mail address"),
            (.rfc822Name("ops@"), "'ops@' is not a valid e-mail address"),
            (.rfc822Name("a@b@example.com"), "'a@b@example.com' is not a valid e-mail address"),
            (.rfc822Name("ops..team@example.com"), "is not a valid e-mail address"),
            (.rfc822Name(".ops@example.com"), "is not a valid e-mail address"),
            (.rfc822Name("\"a\"b\"@example.com"), "is not a valid e-mail address"),
            (.uniformResourceIdentifier("no scheme here"), "'no scheme here' is not a valid URI"),
        ] {
            #expect(performing: { try issue([name]) }, throws: { error in
                guard case PKIError.invalidInput(let text) = error else { return false }
                return text.contains(message) && text.hasSuffix("(RFC 5280 §4.2.1.6)")
            })
        }
        let accepted = try issue([
            .dnsName("device-001"), .dnsName("*.devices.example"), .dnsName("gate_4.site.example"), .rfc822Name("ops@example.com"),
            .rfc822Name("ops.team+alerts@example.com"), .rfc822Name("\"night shift\"@example.com"),
            .uniformResourceIdentifier("spiffe://fleet.example/device/001"), .uniformResourceIdentifier("urn:uuid:2f1c0a52-1d2b-4bb5-9d0e-3e0f4f0f6a11"),
            .ipAddress(ASN1OctetString(contentBytes: [10, 0, 0, 1])),
        ])
        #expect(try accepted.extensions.subjectAlternativeNames?.count == 9)
    }
}
