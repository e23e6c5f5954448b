import Foundation
import SwiftASN1
import X509

/// Builds and signs certificates as an issuance policy says (RFC 5280 clean: random positive
/// 16-byte serials, SKI = SHA-256 of the key, AKI = the issuer's SKI, key usage critical,
/// BasicConstraints critical, CRL distribution point and OCSP URL of the issuer).
public enum CertificateBuilder {
    /// What is being certified.
    public struct Subject: Sendable {
        public var name: DistinguishedName
        public var publicKey: Certificate.PublicKey
        /// Extensions the requester asked for (a CSR's extension request).
        public var requestedExtensions: Certificate.Extensions?
        /// The subject key identifier: a reissued CA keeps its own, a request's is hashed from its
        /// own encoding; nil derives it from the key.
        public var keyIdentifier: [UInt8]?
        /// The name to write byte for byte, whatever the profile says (a reissued CA's: what it
        /// issued names it by those bytes).
        public var keepsName = false
        /// The path length constraint to write on a CA certificate (a reissued CA keeps its own).
        public var maxPathLength: Int?

        public init(name: DistinguishedName, publicKey: Certificate.PublicKey, requestedExtensions: Certificate.Extensions? = nil) {
            self.name = name
            self.publicKey = publicKey
            self.requestedExtensions = requestedExtensions
        }

        /// What the request `csr`, whose DER is `der`, asks to certify.
        public init(csr: CertificateSigningRequest, der: [UInt8]) throws {
            self.init(name: csr.subject, publicKey: csr.publicKey, requestedExtensions: try csr.requestedExtensions())
            keyIdentifier = csr.keyIdentifier(der: der)
        }
    }

    /// 99991231235959Z: GeneralizedTime has four digits for the year.
    static let latestNotAfter = Date(timeIntervalSince1970: 253_402_300_799)

    /// How far back `notBefore` is set, for devices whose clocks run a little late.
    public static let backdating: TimeInterval = 60

    /// Issues a certificate signed by `issuer`, or self-signed by `selfSigningKey` when there is no issuer.
    public static func issue(
        _ subject: Subject, policy: IssuancePolicy, issuer: Issuer?, selfSigningKey: SigningKey? = nil,
        serialNumber: Certificate.SerialNumber = .generate(), now: Date
    ) throws -> Certificate {
        guard let spec = KeySpec(of: subject.publicKey) else {
            throw PKIError.invalidInput("the public key is of a kind Shedu does not certify")
        }
        try policy.keyPolicy.check(spec)

        var notBefore = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - backdating).rounded(.down))
        // Backdated, yet never before its issuer: a path is valid only where every certificate is.
        if let issuer, notBefore < issuer.certificate.notValidBefore { notBefore = issuer.certificate.notValidBefore }
        let notAfter = Date(timeIntervalSince1970: policy.notAfter.timeIntervalSince1970.rounded(.down))
        guard notAfter > now else {
            throw PKIError.invalidInput("the validity ends at \(text(notAfter)), which is not in the future")
        }
        guard notAfter <= latestNotAfter else {
            throw PKIError.invalidInput(
                "the validity would end at \(text(notAfter)), after 9999-12-31T23:59:59Z, the latest time a certificate can hold (RFC 5280 §4.1.2.5)")
        }
        if let issuer, notAfter > issuer.certificate.notValidAfter {
            throw PKIError.invalidInput(
                "the certificate would be valid until \(text(notAfter)), after its issuing CA (valid until \(text(issuer.certificate.notValidAfter)))")
        }

        let name = try subjectName(subject, policy: policy)
        let requested = policy.honorExtensions ? subject.requestedExtensions : nil
        let alternativeNames = requested?[oid: .X509ExtensionID.subjectAlternativeName]
        try checkNames(in: name, alternativeNames: alternativeNames)
        if name.isEmpty, alternativeNames == nil {
            throw PKIError.invalidInput("the certificate would have neither a subject nor a subject alternative name")
        }
        let keyUsage = try keyUsage(subject, policy: policy, spec: spec)
        let extendedKeyUsage = try extendedKeyUsages(subject, policy: policy)
        let subjectKeyIdentifier = subject.keyIdentifier ?? subject.publicKey.keyIdentifier

        let extensions = try Certificate.Extensions {
            Critical(
                policy.signAsCA ? BasicConstraints.isCertificateAuthority(maxPathLength: subject.maxPathLength) : .notCertificateAuthority)
            if let keyUsage { Critical(keyUsage) }
            if !extendedKeyUsage.isEmpty {
                let usages = try ExtendedKeyUsage(extendedKeyUsage.map { ExtendedKeyUsage.Usage(oid: $0) })
                // A time-stamping authority's usage must be critical (RFC 3161 §2.3), also beside
                // any usage (where RFC 5280 §4.2.1.12 would rather not; pkilint sides with RFC 3161).
                if extendedKeyUsage.contains(ExtendedKeyUsageName.timeStamping.oid) { Critical(usages) } else { usages }
            }
            SubjectKeyIdentifier(keyIdentifier: ArraySlice(subjectKeyIdentifier))
            if let issuer {
                issuer.authorityKeyIdentifierExtension
            } else {
                AuthorityKeyIdentifier(keyIdentifier: ArraySlice(subjectKeyIdentifier))
            }
            if let alternativeNames {
                // An empty subject makes the alternative names critical (RFC 5280 §4.2.1.6).
                Certificate.Extension(oid: alternativeNames.oid, critical: name.isEmpty, value: alternativeNames.value)
            }
            if let issuer { issuer.locationExtensions }
        }

        guard let signingKey = issuer?.key ?? selfSigningKey else {
            throw PKIError.invalidInput("no key to sign with")
        }
        return try Certificate(
            version: .v3, serialNumber: serialNumber, publicKey: subject.publicKey, notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: issuer?.certificate.subject ?? name, subject: name,
            signatureAlgorithm: signingKey.spec.certificateSignatureAlgorithm, extensions: extensions,
            issuerPrivateKey: signingKey.certificateKey)
    }

    /// A time as RFC 3339 in UTC, whole seconds; any year (`Date`'s own description gives up past
    /// the year 4000 or so).
    static func text(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0,
            parts.minute ?? 0, parts.second ?? 0)
    }

    /// `honor_subject` keeps the requested name; otherwise the profile's subject, with the
    /// requested common name when the profile names none.
    static func subjectName(_ subject: Subject, policy: IssuancePolicy) throws -> DistinguishedName {
        if subject.keepsName { return subject.name }
        try checkRequestedEncoding(of: subject.name)
        if policy.honorSubject { return try withRequiredStringTypes(subject.name) }
        var fields = policy.subject
        if fields.commonName.isEmpty { fields.commonName = SheduPKI.Subject(subject.name).commonName }
        return try fields.distinguishedName()
    }

    /// Attributes whose string type RFC 5280 fixes (Appendix A.1), and which a requester may
    /// have written as UTF8String: a country as UTF8String does not decode for strict parsers.
    static let printableAttributes: [ASN1ObjectIdentifier: String] = [
        .RDNAttributeType.countryName: "country", [2, 5, 4, 5]: "serial number", [2, 5, 4, 46]: "dnQualifier",
    ]

    /// The requested name with those attributes in their required string type (PrintableString,
    /// IA5String for an e-mail address); a value that type cannot hold is refused, naming it.
    static func withRequiredStringTypes(_ name: DistinguishedName) throws -> DistinguishedName {
        // Most requests name none of them (a device's CN and O): nothing to rebuild.
        guard name.contains(where: { $0.contains { printableAttributes[$0.type] != nil || $0.type == .RDNAttributeType.emailAddress } })
        else { return name }
        return try DistinguishedName(name.map { relativeName in
            try RelativeDistinguishedName(relativeName.map { attribute in
                let text = SheduPKI.Subject.text(of: attribute.value)
                if let field = printableAttributes[attribute.type] {
                    do {
                        return try .init(type: attribute.type, printableString: text)
                    } catch {
                        throw PKIError.invalidInput("the subject's \(field) '\(text)' is not a PrintableString (RFC 5280 Appendix A.1)")
                    }
                }
                if attribute.type == .RDNAttributeType.emailAddress {
                    do {
                        return try .init(type: attribute.type, ia5String: text)
                    } catch {
                        throw PKIError.invalidInput("the subject's email address '\(text)' is not an IA5String (RFC 5280 Appendix A.1)")
                    }
                }
                return attribute
            })
        })
    }

    /// RFC 5280's bounds on the name attributes it lists (Appendix A.1), in characters.
    static let attributeBounds: [ASN1ObjectIdentifier: (field: String, characters: ClosedRange<Int>)] = [
        .RDNAttributeType.commonName: ("common name", 1...64),
        .RDNAttributeType.countryName: ("country", 2...2),
        .RDNAttributeType.organizationName: ("organization", 1...64),
        .RDNAttributeType.organizationalUnitName: ("organizational unit", 1...64),
        .RDNAttributeType.localityName: ("locality", 1...128),
        .RDNAttributeType.stateOrProvinceName: ("state", 1...128),
        .RDNAttributeType.emailAddress: ("email address", 1...255),
        [2, 5, 4, 5]: ("serial number", 1...64),
        [2, 5, 4, 12]: ("title", 1...64),
        [2, 5, 4, 65]: ("pseudonym", 1...128),
    ]

    /// Refuses a requested name that relying parties would read otherwise than Shedu: a relative
    /// name with no attribute (RFC 5280: SIZE (1..MAX)), and values that are not what their tag
    /// says (``Subject/encodingProblem(of:mustBeString:)``). Such values used to be copied as they
    /// came, and the NUL check below saw only their hex form; the common name of one was also
    /// what a profile that writes the subject took from the request.
    static func checkRequestedEncoding(of name: DistinguishedName) throws {
        for relativeName in name {
            guard !relativeName.isEmpty else {
                throw PKIError.invalidInput("the subject has a relative distinguished name with no attribute (RFC 5280 Appendix A.1)")
            }
            for attribute in relativeName where String(attribute.value) == nil {
                let field = attributeBounds[attribute.type]?.field
                if let problem = SheduPKI.Subject.encodingProblem(of: attribute.value, mustBeString: field != nil) {
                    throw PKIError.invalidInput("the subject's \(field ?? "attribute \(attribute.type)") \(problem)")
                }
            }
        }
    }

    /// Refuses a name that relying parties would misread or reject: a value holding a NUL
    /// character reads as a shorter name to software that stops there ("bank.example\0.evil.example",
    /// the null-prefix attack), and one outside RFC 5280's bounds (a 65-character common name, a
    /// country that is not a two-letter code, an empty value) does not decode for strict parsers.
    static func checkNames(in name: DistinguishedName, alternativeNames: Certificate.Extension?) throws {
        for attribute in name.flatMap({ $0 }) {
            let text = SheduPKI.Subject.text(of: attribute.value)
            let bounds = attributeBounds[attribute.type]
            let field = bounds?.field ?? "attribute \(attribute.type)"
            if text.utf8.contains(0) {
                throw PKIError.invalidInput("the subject's \(field) contains a NUL character")
            }
            let length = text.unicodeScalars.count
            if let bounds, !bounds.characters.contains(length) {
                let allowed =
                    bounds.characters.count == 1
                    ? "exactly \(bounds.characters.lowerBound)" : "\(bounds.characters.lowerBound) to \(bounds.characters.upperBound)"
                throw PKIError.invalidInput(
                    "the subject's \(field) is \(length) characters long; RFC 5280 allows \(allowed)")
            } else if length == 0 {
                throw PKIError.invalidInput("the subject's \(field) is empty")
            }
        }
        guard let alternativeNames else { return }
        let names: SubjectAlternativeNames
        do {
            names = try SubjectAlternativeNames(alternativeNames)
        } catch {
            throw PKIError.invalidInput("the requested subject alternative names do not decode (RFC 5280 §4.2.1.6)")
        }
        guard !names.isEmpty else {
            throw PKIError.invalidInput("the requested subject alternative name extension names nothing")
        }
        for name in names {
            let (text, kind, valid): (String, String, Bool) =
                switch name {
                case .dnsName(let value): (value, "DNS name", GeneralNameSyntax.isDomainName(value, wildcard: true))
                case .rfc822Name(let value): (value, "e-mail address", GeneralNameSyntax.isMailbox(value))
                case .uniformResourceIdentifier(let value): (value, "URI", GeneralNameSyntax.isURI(value))
                case .ipAddress(let octets): ("\(octets.bytes.count) bytes", "IP address", [4, 16].contains(octets.bytes.count))
                default: ("", "", true)
                }
            if text.utf8.contains(0) {
                throw PKIError.invalidInput("the subject alternative name '\(text.replacingOccurrences(of: "\0", with: "\\0"))' contains a NUL character")
            }
            if !valid {
                throw PKIError.invalidInput("the subject alternative name '\(text)' is not a valid \(kind) (RFC 5280 §4.2.1.6)")
            }
        }
    }

    /// `honor_key_usage` keeps the requested usages (the profile's when none are requested); a CA
    /// certificate always may sign certificates and CRLs, and only a CA may sign certificates
    /// (RFC 5280 §4.2.1.9). Usages the key cannot have are dropped: encipherment for EC and
    /// Ed25519 keys (RFC 5480, RFC 8410), key agreement for RSA and Ed25519 keys, and
    /// encipherOnly / decipherOnly without key agreement, where they mean nothing. Nil when no
    /// usage is left: an end-entity certificate may go without the extension.
    static func keyUsage(_ subject: Subject, policy: IssuancePolicy, spec: KeySpec) throws -> KeyUsage? {
        var names = policy.keyUsage
        if policy.honorKeyUsage, let requested = try requestedExtension("key usage (RFC 5280 §4.2.1.3)", { try subject.requestedExtensions?.keyUsage }) {
            names = KeyUsageName.names(requested)
        }
        if policy.signAsCA { names += [.certSign, .crlSign] } else { names.removeAll { $0 == .certSign } }
        if spec.algorithm != .rsa { names.removeAll { [.keyEncipherment, .dataEncipherment].contains($0) } }
        if spec.algorithm != .ecdsa { names.removeAll { $0 == .keyAgreement } }
        if !names.contains(.keyAgreement) { names.removeAll { [.encipherOnly, .decipherOnly].contains($0) } }
        if names.contains(.encipherOnly), names.contains(.decipherOnly) {
            throw PKIError.invalidInput("key usages EncipherOnly and DecipherOnly exclude each other (RFC 5280 §4.2.1.3)")
        }
        return names.isEmpty ? nil : KeyUsageName.keyUsage(names)
    }

    /// The usages' OIDs: requested ones are copied as they are, those Shedu has no name for too
    /// (dropping every one of them left a certificate without the extension: one for any purpose).
    static func extendedKeyUsages(_ subject: Subject, policy: IssuancePolicy) throws -> [ASN1ObjectIdentifier] {
        guard policy.honorExtendedKeyUsages,
            let requested = try requestedExtension("extended key usage (RFC 5280 §4.2.1.12)", { try subject.requestedExtensions?.extendedKeyUsage })
        else {
            return policy.extendedKeyUsages.map(\.oid)
        }
        return requested.map { ASN1ObjectIdentifier($0) }
    }

    /// A requested extension, decoded; one that does not decode is the requester's mistake (a 400).
    private static func requestedExtension<Value>(_ name: String, _ decode: () throws -> Value?) throws -> Value? {
        do {
            return try decode()
        } catch {
            throw PKIError.invalidInput("the requested \(name) does not decode")
        }
    }
}
