import SheduCore
import SheduPKI

extension OpenAPISchemas {
    /// Devices, device groups and DMS records.
    static var devices: [String: JSONValue] {
        let statuses = DeviceStatus.allCases.map(\.rawValue)
        let history: JSONValue = [
            "type": "object", "description": "RFC 3339 timestamp → event",
            "additionalProperties": object(["type": string(values: DeviceEventType.allCases.map(\.rawValue)), "description": string()]),
        ]
        return [
            "Device": object([
                "id": string(), "dms_owner": string(), "status": string(values: statuses), "tags": array(string()),
                "metadata": ["type": "object"], "icon": string(), "icon_color": string(),
                "creation_timestamp": string(format: "date-time"),
                "identity_slot": [
                    "description": "null until a certificate is bound",
                    "oneOf": [
                        ["type": "null"],
                        object([
                            "status": string(values: statuses), "active_version": ["type": "integer"], "type": string(values: ["x509"]),
                            "versions": ["type": "object", "description": "version → certificate serial number"],
                            "expiration_date": string(format: "date-time"), "events": history,
                        ]),
                    ],
                ],
                "events": history,
            ]),
            "RegisterDevice": object(
                [
                    "id": string(), "dms_id": string("An existing DMS"), "tags": array(string()), "metadata": ["type": "object"],
                    "icon": string(), "icon_color": string(),
                ], required: ["id", "dms_id"]),
            "IdentitySlotUpdate": object(["certificate_serial_number": string()], required: ["certificate_serial_number"]),
            "DeviceStats": object([
                "total": ["type": "integer"],
                "status_distribution": object(Dictionary(uniqueKeysWithValues: statuses.map { ($0, ["type": "integer"] as JSONValue) })),
            ]),
            "GroupCriterion": object(
                ["field": string("A filterable device field"), "operand": string("A filter operator of that field"), "value": string()],
                required: ["field", "operand", "value"]),
            "DeviceGroupRequest": object([
                "id": string("Given or generated"), "name": string(), "description": string(), "parent_id": string(),
                "criteria": array(reference("GroupCriterion")),
            ]),
            "DeviceGroup": object([
                "id": string(), "name": string(), "description": string(), "parent_id": string(),
                "criteria": array(reference("GroupCriterion")), "inherited_criteria": array(reference("GroupCriterion")),
                "created_at": string(format: "date-time"), "updated_at": string(format: "date-time"),
            ]),
            "DMSSettings": dmsSettings,
            "DMSRequest": object(
                ["id": string(), "name": string(), "metadata": ["type": "object"], "settings": reference("DMSSettings")],
                required: ["id"]),
            "DMS": object([
                "id": string(), "name": string(), "metadata": ["type": "object"], "creation_ts": string(format: "date-time"),
                "settings": reference("DMSSettings"),
            ]),
            "DMSStats": object(["total": ["type": "integer"]]),
            "BindIdentity": object(
                ["device_id": string(), "certificate_serial_number": string()], required: ["device_id", "certificate_serial_number"]),
            "BindIdentityResult": object([
                "certificate": reference("Certificate"), "dms": reference("DMS"), "device": reference("Device"),
            ]),
        ]
    }

    static var dmsSettings: JSONValue {
        let duration = string("Units ms s m h d w y, e.g. 1w, 3d")
        let authentication = object([
            "auth_mode": string(values: ESTAuthMode.allCases.map(\.rawValue)),
            "client_certificate_settings": object([
                "validation_cas": array(string("CA id")), "chain_level_validation": ["type": "integer"],
                "allow_expired": ["type": "boolean"],
            ]),
            "external_webhook_settings": object([
                "name": string(), "url": string(), "method": string(values: ["POST", "PUT"]), "config": ["type": "object"],
            ]),
        ])
        return object([
            "enrollment_settings": object([
                "protocol": string(values: EnrollmentProtocol.allCases.map(\.rawValue)), "enrollment_ca": string("CA id"),
                "registration_mode": string(values: RegistrationMode.allCases.map(\.rawValue)),
                "enable_replaceable_enrollment": ["type": "boolean"], "verify_csr_signature": ["type": "boolean"],
                "est_rfc7030_settings": authentication,
                "device_provisioning_profile": object([
                    "icon": string(), "icon_color": string(), "metadata": ["type": "object"], "tags": array(string()),
                ]),
            ]),
            "reenrollment_settings": object([
                "est_rfc7030_settings": authentication, "additional_validation_cas": array(string("CA id")),
                "revoke_on_reenrollment": ["type": "boolean"], "reenrollment_delta": duration,
                "enable_expired_renewal": ["type": "boolean"], "preventive_delta": duration, "critical_delta": duration,
            ]),
            "server_keygen_settings": object([
                "enabled": ["type": "boolean"],
                "key": object(["type": string(values: KeyAlgorithm.allCases.map(\.rawValue)), "bits": ["type": "integer"]]),
            ]),
            "ca_distribution_settings": object([
                "include_enrollment_ca": ["type": "boolean"], "include_system_ca": ["type": "boolean"],
                "managed_cas": array(string("CA id")),
            ]),
            "issuance_profile_id": string(), "issuance_profile": reference("IssuanceProfile"),
        ])
    }
}
