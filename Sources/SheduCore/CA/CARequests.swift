import Foundation
import SheduPKI

/// `POST /cas` (API.md §2).
public struct CreateCARequest: Sendable, Decodable {
    public struct KeyMetadata: Sendable, Decodable {
        public var type: String?
        public var bits: Int?
        public var keyID: String?

        enum CodingKeys: String, CodingKey { case type, bits, keyID = "key_id" }
    }

    public var id: String?
    public var parentID: String?
    public var subject: Subject
    public var keyMetadata: KeyMetadata?
    public var caExpiration: Validity?
    public var profileID: String?
    public var engineID: String?
    public var metadata: [String: JSONValue]?
    public var caIssuanceProfileID: String?
    public var caIssuanceProfile: IssuanceProfile?

    enum CodingKeys: String, CodingKey {
        case id, parentID = "parent_id", subject, keyMetadata = "key_metadata", caExpiration = "ca_expiration"
        case profileID = "profile_id", engineID = "engine_id", metadata
        case caIssuanceProfileID = "ca_issuance_profile_id", caIssuanceProfile = "ca_issuance_profile"
    }
}

/// `POST /cas/import`.
public struct ImportCARequest: Sendable, Decodable {
    public var id: String?
    /// Base64 of the PEM certificate.
    public var ca: String
    /// Base64 of a PEM private key.
    public var privateKey: String?
    public var caChain: [String]?
    public var profileID: String?
    public var engineID: String?

    enum CodingKeys: String, CodingKey {
        case id, ca, privateKey = "private_key", caChain = "ca_chain", profileID = "profile_id", engineID = "engine_id"
    }
}

/// `POST /cas/{id}/reissue`.
public struct ReissueCARequest: Sendable, Decodable {
    public var profileID: String?
    public var profile: IssuanceProfile?

    public init(profileID: String? = nil, profile: IssuanceProfile? = nil) {
        self.profileID = profileID
        self.profile = profile
    }

    enum CodingKeys: String, CodingKey { case profileID = "profile_id", profile }
}

/// `POST /cas/{id}/certificates/sign` (and the seeds' `/cas/{id}/sign`).
public struct SignCertificateRequest: Sendable, Decodable {
    /// Base64 of a DER CSR (as the seeds send it), base64 of PEM, or PEM.
    public var csr: String
    public var profileID: String?
    public var profile: IssuanceProfile?

    public init(csr: String, profileID: String? = nil, profile: IssuanceProfile? = nil) {
        self.csr = csr
        self.profileID = profileID
        self.profile = profile
    }

    enum CodingKeys: String, CodingKey { case csr, profileID = "profile_id", profile }
}

/// `POST /certificates`: a key made by the KMS and a certificate for it.
public struct CreateCertificateRequest: Sendable, Decodable {
    /// A new key (`type`, `bits`, `engine_id`), or a key the KMS holds (`key_identifier`: its
    /// id, alias or `pkcs11:` URI), as Lamassu's.
    public struct KeySpecification: Sendable, Decodable {
        public var type: String?
        public var bits: Int?
        public var engineID: String?
        public var keyIdentifier: String?

        enum CodingKeys: String, CodingKey { case type, bits, engineID = "engine_id", keyIdentifier = "key_identifier" }
    }

    public var caID: String
    public var keySpec: KeySpecification
    public var subject: Subject
    public var issuanceProfileID: String?
    public var issuanceProfile: IssuanceProfile?
    public var metadata: [String: JSONValue]?

    enum CodingKeys: String, CodingKey {
        case caID = "ca_id", keySpec = "key_spec", subject, issuanceProfileID = "issuance_profile_id"
        case issuanceProfile = "issuance_profile", metadata
    }
}

/// `POST /certificates/import`.
public struct ImportCertificateRequest: Sendable, Decodable {
    public var certificate: String
    public var metadata: [String: JSONValue]?
}

/// `POST /cas/{id}/signature/sign|verify`: Lamassu names the scheme `signature_algorithm` here.
public struct CASignatureRequest: Sendable, Decodable {
    public var message: String
    public var messageType: String?
    public var signatureAlgorithm: String
    public var signature: String?

    enum CodingKeys: String, CodingKey {
        case message, messageType = "message_type", signatureAlgorithm = "signature_algorithm", signature
    }

    var kmsRequest: KMSService.SignRequest {
        KMSService.SignRequest(algorithm: signatureAlgorithm, message: message, messageType: messageType, signature: signature)
    }
}
