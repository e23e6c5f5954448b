import SheduCore
import SheduPKI

/// JSON Schemas of the API's objects, by component name. A route names its request and
/// response schemas; a test checks that every name it uses is defined here.
enum OpenAPISchemas {
    static var all: [String: JSONValue] {
        [
            "Error": object(["err": string("What went wrong, naming the field or object")], required: ["err"]),
            "Health": object(["health": ["type": "boolean"], "version": string("Server version")]),
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
