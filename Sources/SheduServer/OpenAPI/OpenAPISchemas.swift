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
