import Foundation
import SheduPKI

/// A reusable template for what a CA signs: validity, which parts of a CSR to honor, key usages,
/// and which keys are accepted (API.md §2).
public struct IssuanceProfile: Sendable, Hashable {
    public var id: String
    public var name: String
    public var description: String
    public var validity: Validity
    public var signAsCA: Bool
    public var honorKeyUsage: Bool
    public var keyUsage: [KeyUsageName]
    public var honorExtendedKeyUsages: Bool
    public var extendedKeyUsages: [ExtendedKeyUsageName]
    public var honorSubject: Bool
    public var subject: Subject
    public var honorExtensions: Bool
    public var cryptoEnforcement: CryptoEnforcement

    public init(
        id: String = "", name: String = "", description: String = "", validity: Validity, signAsCA: Bool = false,
        honorKeyUsage: Bool = false, keyUsage: [KeyUsageName] = [.digitalSignature],
        honorExtendedKeyUsages: Bool = false, extendedKeyUsages: [ExtendedKeyUsageName] = [.clientAuth],
        honorSubject: Bool = true, subject: Subject = Subject(), honorExtensions: Bool = true,
        cryptoEnforcement: CryptoEnforcement = CryptoEnforcement()
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.validity = validity
        self.signAsCA = signAsCA
        self.honorKeyUsage = honorKeyUsage
        self.keyUsage = keyUsage
        self.honorExtendedKeyUsages = honorExtendedKeyUsages
        self.extendedKeyUsages = extendedKeyUsages
        self.honorSubject = honorSubject
        self.subject = subject
        self.honorExtensions = honorExtensions
        self.cryptoEnforcement = cryptoEnforcement
    }

    /// Which keys a profile accepts; checked only when `enabled`.
    public struct CryptoEnforcement: Sendable, Hashable, Codable {
        public var enabled: Bool
        public var allowRSAKeys: Bool
        public var allowedRSAKeySizes: [Int]
        public var allowECDSAKeys: Bool
        public var allowedECDSAKeySizes: [Int]
        public var allowEd25519Keys: Bool

        enum CodingKeys: String, CodingKey {
            case enabled
            case allowRSAKeys = "allow_rsa_keys"
            case allowedRSAKeySizes = "allowed_rsa_key_sizes"
            case allowECDSAKeys = "allow_ecdsa_keys"
            case allowedECDSAKeySizes = "allowed_ecdsa_key_sizes"
            case allowEd25519Keys = "allow_ed25519_keys"
        }

        public init(
            enabled: Bool = false, allowRSAKeys: Bool = true, allowedRSAKeySizes: [Int] = [2048, 3072, 4096],
            allowECDSAKeys: Bool = true, allowedECDSAKeySizes: [Int] = [256, 384, 521], allowEd25519Keys: Bool = true
        ) {
            self.enabled = enabled
            self.allowRSAKeys = allowRSAKeys
            self.allowedRSAKeySizes = allowedRSAKeySizes
            self.allowECDSAKeys = allowECDSAKeys
            self.allowedECDSAKeySizes = allowedECDSAKeySizes
            self.allowEd25519Keys = allowEd25519Keys
        }

        public init(from decoder: any Decoder) throws {
            let defaults = CryptoEnforcement()
            let container = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? defaults.enabled
            allowRSAKeys = try container.decodeIfPresent(Bool.self, forKey: .allowRSAKeys) ?? defaults.allowRSAKeys
            allowedRSAKeySizes =
                try container.decodeIfPresent([Int].self, forKey: .allowedRSAKeySizes) ?? defaults.allowedRSAKeySizes
            allowECDSAKeys = try container.decodeIfPresent(Bool.self, forKey: .allowECDSAKeys) ?? defaults.allowECDSAKeys
            allowedECDSAKeySizes =
                try container.decodeIfPresent([Int].self, forKey: .allowedECDSAKeySizes)
                ?? defaults.allowedECDSAKeySizes
            allowEd25519Keys =
                try container.decodeIfPresent(Bool.self, forKey: .allowEd25519Keys) ?? defaults.allowEd25519Keys
        }
    }
}

extension IssuanceProfile {
    /// The rules a profile given through the API must follow, checked where it comes in (`field`
    /// names it, as "profile" or "" for a stored one) and not when stored ones are read back: a
    /// subject that fits RFC 5280's bounds, and key sizes Shedu certifies.
    public func checkRules(field: String) throws {
        let prefix = field.isEmpty ? "" : field + "."
        do {
            _ = try subject.checkedDistinguishedName()
        } catch let error as PKIError {
            throw SheduError.badRequest("\(prefix)subject: \(error.description)")
        }
        if keyUsage.contains(.encipherOnly), keyUsage.contains(.decipherOnly) {
            throw SheduError.badRequest("\(prefix)key_usage: EncipherOnly and DecipherOnly exclude each other (RFC 5280 §4.2.1.3)")
        }
        let enforcement = cryptoEnforcement
        for (name, sizes, allowed, supported) in [
            ("rsa", enforcement.allowedRSAKeySizes, enforcement.allowRSAKeys, KeyAlgorithm.rsa.supportedSizes),
            ("ecdsa", enforcement.allowedECDSAKeySizes, enforcement.allowECDSAKeys, KeyAlgorithm.ecdsa.supportedSizes),
        ] {
            let member = "\(prefix)crypto_enforcement.allowed_\(name)_key_sizes"
            if let size = sizes.first(where: { !supported.contains($0) }) {
                throw SheduError.badRequest("\(member): \(size) is not one of \(supported.map(String.init).joined(separator: ", "))")
            }
            if enforcement.enabled, allowed, sizes.isEmpty {
                throw SheduError.badRequest(
                    "\(member) is empty; set \(prefix)crypto_enforcement.allow_\(name)_keys false to refuse those keys")
            }
        }
    }
}

extension IssuanceProfile: Codable {
    enum CodingKeys: String, CodingKey {
        case id, name, description, validity
        case signAsCA = "sign_as_ca"
        case honorKeyUsage = "honor_key_usage"
        case keyUsage = "key_usage"
        case honorExtendedKeyUsages = "honor_extended_key_usages"
        case extendedKeyUsages = "extended_key_usages"
        case honorSubject = "honor_subject"
        case subject
        case honorExtensions = "honor_extensions"
        case cryptoEnforcement = "crypto_enforcement"
    }

    /// Absent members take the defaults of `init`; key usages accept a list or a single name,
    /// case-insensitively, and an unknown name is an error that names it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let path = decoder.codingPath.map(\.stringValue).filter { !$0.isEmpty }
        let prefix = path.isEmpty ? "" : path.joined(separator: ".") + "."
        guard container.contains(.validity) else {
            throw SheduError.badRequest("\(prefix)validity is required")
        }
        self.init(validity: try container.decode(Validity.self, forKey: .validity))
        id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        description = try container.decodeIfPresent(String.self, forKey: .description) ?? ""
        signAsCA = try container.decodeIfPresent(Bool.self, forKey: .signAsCA) ?? signAsCA
        honorKeyUsage = try container.decodeIfPresent(Bool.self, forKey: .honorKeyUsage) ?? honorKeyUsage
        honorExtendedKeyUsages =
            try container.decodeIfPresent(Bool.self, forKey: .honorExtendedKeyUsages) ?? honorExtendedKeyUsages
        honorSubject = try container.decodeIfPresent(Bool.self, forKey: .honorSubject) ?? honorSubject
        honorExtensions = try container.decodeIfPresent(Bool.self, forKey: .honorExtensions) ?? honorExtensions
        subject = try container.decodeIfPresent(Subject.self, forKey: .subject) ?? subject
        cryptoEnforcement =
            try container.decodeIfPresent(CryptoEnforcement.self, forKey: .cryptoEnforcement) ?? cryptoEnforcement
        keyUsage = try Self.decodeNames(KeyUsageName.self, container, .keyUsage, prefix: prefix)
            ?? (signAsCA ? [.certSign, .crlSign] : keyUsage)
        extendedKeyUsages = try Self.decodeNames(ExtendedKeyUsageName.self, container, .extendedKeyUsages, prefix: prefix)
            ?? (signAsCA ? [] : extendedKeyUsages)
    }

    /// A list of names, or a single name; nil when absent.
    private static func decodeNames<Name: NamedCase>(
        _ type: Name.Type, _ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, prefix: String
    ) throws -> [Name]? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        let names: [String]
        if let single = try? container.decode(String.self, forKey: key) {
            names = [single]
        } else {
            names = try container.decode([String].self, forKey: key)
        }
        return try names.map { name in
            guard let value = Name(name: name) else {
                throw SheduError.badRequest("\(prefix)\(key.stringValue) '\(name)' is not one of \(Name.allNames)")
            }
            return value
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(validity, forKey: .validity)
        try container.encode(signAsCA, forKey: .signAsCA)
        try container.encode(honorKeyUsage, forKey: .honorKeyUsage)
        try container.encode(keyUsage, forKey: .keyUsage)
        try container.encode(honorExtendedKeyUsages, forKey: .honorExtendedKeyUsages)
        try container.encode(extendedKeyUsages, forKey: .extendedKeyUsages)
        try container.encode(honorSubject, forKey: .honorSubject)
        try container.encode(subject, forKey: .subject)
        try container.encode(honorExtensions, forKey: .honorExtensions)
        try container.encode(cryptoEnforcement, forKey: .cryptoEnforcement)
    }

    /// The fields lists of profiles filter and sort on.
    public static let fields = FieldSet(
        [FieldDefinition("id", .string), FieldDefinition("name", .string)], defaultSort: "id")
}

/// Where issuance profiles are kept.
public protocol IssuanceProfileStore: Sendable {
    /// Adds a profile; a profile with the same id is a conflict.
    func insert(_ profile: IssuanceProfile) async throws
    /// Replaces a profile; false when there is none with its id.
    func update(_ profile: IssuanceProfile) async throws -> Bool
    func profile(id: String) async throws -> IssuanceProfile?
    /// Removes a profile; false when there was none.
    func delete(id: String) async throws -> Bool
    func list(_ query: ListQuery) async throws -> Page<IssuanceProfile>
}
