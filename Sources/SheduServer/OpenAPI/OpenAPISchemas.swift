import SheduCore
import SheduPKI

/// JSON Schemas of the API's objects, by component name. A route names its request and
/// response schemas; a test checks that every name it uses is defined here.
enum OpenAPISchemas {
    static var all: [String: JSONValue] {
        core.merging(devices) { first, _ in first }.merging(va) { first, _ in first }
    }

    static var core: [String: JSONValue] {
        [
            "Error": object(["err": string("What went wrong, naming the field or object")], required: ["err"]),
            "Health": object([
                "health": ["type": "boolean"], "version": string("Server version"),
                "err": string("With 503: the server cannot reach its database"),
            ]),
            "Subject": subject,
            "Validity": validity,
            "IssuanceProfile": issuanceProfile,
            "MetadataUpdate": [
                "description": "PUT: a plain object replaces the metadata; PATCH: a plain object is a merge patch (RFC 7396); either method with {\"patches\": [...]} applies a JSON Patch (RFC 6902)",
                "type": "object",
            ],
            "JSONPatch": object(["patches": array(jsonPatchOperation)], required: ["patches"]),
            "Key": kmsKey,
            "KeyEngines": array(object([
                "id": string(), "type": string(), "provider": string(), "name": string(),
                "security_level": ["type": "integer"], "default": ["type": "boolean"], "metadata": ["type": "object"],
                "supported_key_types": array(object(["type": string(), "sizes": array(["type": "integer"])])),
            ])),
            "KMSStats": object([
                "total_keys": ["type": "integer"], "keys_distribution_per_engine": ["type": "object"],
                "keys_distribution_per_algorithm": ["type": "object"],
            ]),
            "CreateKey": object(
                [
                    "algorithm": string(values: KeyAlgorithm.allCases.map(\.rawValue)), "size": ["type": "integer"],
                    "name": string(), "engine_id": string(), "tags": array(string()), "metadata": ["type": "object"],
                ], required: ["algorithm"]),
            "ImportKey": object(
                [
                    "private_key": string("Base64 of a PEM private key: PKCS#8, PKCS#1 or SEC1"), "name": string(),
                    "engine_id": string(), "tags": array(string()), "metadata": ["type": "object"],
                ], required: ["private_key"]),
            "KeyName": object(["name": string()], required: ["name"]),
            "KeyTags": object(["tags": array(string())], required: ["tags"]),
            "SignRequest": signRequest(withSignature: false),
            "VerifyRequest": signRequest(withSignature: true),
            "Signature": object(["signature": string("Base64 signature (ECDSA in DER)")]),
            "VerifyResult": object(["valid": ["type": "boolean"]]),
            "Certificate": certificate,
            "CA": object([
                "id": string(), "certificate": reference("Certificate"), "serial_number": string(),
                "metadata": ["type": "object"], "creation_ts": string(format: "date-time"),
                "level": ["type": "integer", "description": "0 for a root"],
                "profile_id": string("Default issuance profile of what the CA signs"),
            ]),
            "CreateCA": object(
                [
                    "id": string(), "parent_id": string("Absent for a root"), "subject": reference("Subject"),
                    "key_metadata": object(["type": string(values: KeyAlgorithm.allCases.map(\.rawValue)), "bits": ["type": "integer"], "key_id": string()]),
                    "ca_expiration": reference("Validity"), "profile_id": string(), "engine_id": string(),
                    "metadata": ["type": "object"], "ca_issuance_profile_id": string(),
                    "ca_issuance_profile": reference("IssuanceProfile"),
                ], required: ["subject"]),
            "ImportCA": object(
                [
                    "id": string(), "ca": string("Base64 of the PEM certificate"),
                    "private_key": string("Base64 of the PEM private key"), "ca_chain": array(string("Base64 PEM of a CA certificate above it; read, not used: the parent is found among Shedu's CAs")),
                    "profile_id": string(), "engine_id": string(),
                ], required: ["ca"]),
            "StatusChange": object(
                [
                    // EXPIRED is the monitor's to set, and RemoveFromCRL is a CRL entry's reason, not a revocation's.
                    "status": string(values: CertificateStatus.allCases.filter { $0 != .expired }.map(\.rawValue)),
                    "revocation_reason": string(values: RevocationReason.allCases.filter { $0 != .removeFromCRL }.map(\.rawValue)),
                ], required: ["status"]),
            "CAProfile": object(["profile_id": string()], required: ["profile_id"]),
            "ReissueCA": object(["profile_id": string(), "profile": reference("IssuanceProfile")]),
            "CASignRequest": caSignature(withSignature: false),
            "CAVerifyRequest": caSignature(withSignature: true),
            "SignedData": object(["signed_data": string("Base64")]),
            "SignCertificate": object(
                [
                    "csr": string("Base64 of a DER CSR, base64 of a PEM CSR, or PEM"), "profile_id": string(),
                    "profile": reference("IssuanceProfile"),
                ], required: ["csr"]),
            "ImportCertificate": object(
                ["certificate": string("Base64 of the PEM certificate"), "metadata": ["type": "object"]], required: ["certificate"]),
            "CreateCertificate": object(
                [
                    "ca_id": string(),
                    "key_spec": object([
                        "type": string(values: KeyAlgorithm.allCases.map(\.rawValue)), "bits": ["type": "integer"], "engine_id": string(),
                        "key_identifier": string("A key the KMS holds (id, alias or pkcs11: URI), instead of type and bits"),
                    ]),
                    "subject": reference("Subject"), "issuance_profile_id": string(),
                    "issuance_profile": reference("IssuanceProfile"), "metadata": ["type": "object"],
                ], required: ["ca_id", "key_spec", "subject"]),
            "StatusCounts": object(Dictionary(uniqueKeysWithValues: CertificateStatus.allCases.map { ($0.rawValue, ["type": "integer"] as JSONValue) })),
            "CAStats": object([
                "cas": object(["total": ["type": "integer"], "engine_distribution": ["type": "object"], "status_distribution": reference("StatusCounts")]),
                "certificates": object(["total": ["type": "integer"], "status_distribution": reference("StatusCounts")]),
            ]),
        ]
    }

    static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required.map { .string($0) }) }
        return .object(schema)
    }

    static func string(_ description: String? = nil, format: String? = nil, values: [String]? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "string"]
        if let description { schema["description"] = .string(description) }
        if let format { schema["format"] = .string(format) }
        if let values { schema["enum"] = .array(values.map { .string($0) }) }
        return .object(schema)
    }

    static func array(_ items: JSONValue) -> JSONValue {
        ["type": "array", "items": items]
    }

    static func reference(_ name: String) -> JSONValue {
        ["$ref": .string("#/components/schemas/\(name)")]
    }

    static let jsonPatchOperation = object(
        [
            "op": string(values: ["add", "remove", "replace", "move", "copy", "test"]),
            "path": string("JSON Pointer; add creates missing parents, remove of a missing path does nothing"),
            "from": string(), "value": [:],
        ], required: ["op", "path"])

    static let kmsKey = object([
        "key_id": string("Hex SHA-256 of the DER SubjectPublicKeyInfo"), "name": string(), "aliases": array(string()),
        "engine_id": string(), "has_private_key": ["type": "boolean"],
        "algorithm": string(values: KeyAlgorithm.allCases.map(\.rawValue)), "size": ["type": "integer"],
        "public_key": string("Base64 of the PEM public key"), "creation_ts": string(format: "date-time"),
        "tags": array(string()), "metadata": ["type": "object"], "pkcs11_uri": string(),
    ])

    static func signRequest(withSignature: Bool) -> JSONValue {
        var properties: [String: JSONValue] = [
            "algorithm": string(values: SignatureScheme.allCases.map(\.rawValue)), "message": string("Base64"),
            "message_type": string(values: ["raw", "hash"]),
        ]
        if withSignature { properties["signature"] = string("Base64") }
        return object(properties, required: withSignature ? ["algorithm", "message", "signature"] : ["algorithm", "message"])
    }

    static func caSignature(withSignature: Bool) -> JSONValue {
        var properties: [String: JSONValue] = [
            "signature_algorithm": string(values: SignatureScheme.allCases.map(\.rawValue)), "message": string("Base64"),
            "message_type": string(values: ["raw", "hash"]),
        ]
        if withSignature { properties["signature"] = string("Base64") }
        return object(properties, required: ["signature_algorithm", "message"])
    }

    static let certificate = object([
        "serial_number": string("Lowercase hex"), "subject_key_id": string(), "authority_key_id": string(),
        "metadata": ["type": "object"], "status": string(values: CertificateStatus.allCases.map(\.rawValue)),
        "certificate": string("Base64 of the PEM certificate"),
        "key_metadata": object(["type": string(values: KeyAlgorithm.allCases.map(\.rawValue)), "bits": ["type": "integer"], "strength": string(values: ["HIGH", "MEDIUM", "LOW"])]),
        "subject": reference("Subject"), "issuer": reference("Subject"), "valid_from": string(format: "date-time"),
        "valid_to": string(format: "date-time"),
        "extensions": object([
            "key_usage": array(string()), "extended_key_usage": array(string()),
            "subject_alternative_names": object(["dns": array(string()), "ip": array(string()), "email": array(string()), "uri": array(string())]),
        ]),
        "issuer_metadata": object(["serial_number": string(), "id": string(), "level": ["type": "integer"]]),
        "revocation_timestamp": string(format: "date-time"),
        "revocation_reason": string(values: RevocationReason.allCases.map(\.rawValue)),
        "type": string(values: CertificateType.allCases.map(\.rawValue)), "engine_id": string(), "is_ca": ["type": "boolean"],
    ])

    static let subject = object([
        "common_name": string(), "organization": string(), "organization_unit": string(),
        "country": string("Two-letter country code"), "state": string(), "locality": string(),
    ])

    static let validity = object(
        [
            "type": string(values: ["Duration", "Time"]),
            "duration": string("Units ms s m h d w y (y = 364 days), e.g. 1y, 4w2d, 90d"),
            "time": string(format: "date-time"),
        ], required: ["type"])

    static let issuanceProfile = object(
        [
            "id": string("Given by the caller or generated"), "name": string(), "description": string(),
            "validity": reference("Validity"), "sign_as_ca": ["type": "boolean"],
            "honor_key_usage": ["type": "boolean"],
            "key_usage": array(string(values: KeyUsageName.allCases.map(\.rawValue))),
            "honor_extended_key_usages": ["type": "boolean"],
            "extended_key_usages": array(string(values: ExtendedKeyUsageName.allCases.map(\.rawValue))),
            "honor_subject": ["type": "boolean"], "subject": reference("Subject"),
            "honor_extensions": ["type": "boolean"],
            "crypto_enforcement": object([
                "enabled": ["type": "boolean"], "allow_rsa_keys": ["type": "boolean"],
                "allowed_rsa_key_sizes": array(["type": "integer"]), "allow_ecdsa_keys": ["type": "boolean"],
                "allowed_ecdsa_key_sizes": array(["type": "integer"]), "allow_ed25519_keys": ["type": "boolean"],
            ]),
        ], required: ["validity"])
}
