import SheduCore

extension OpenAPISchemas {
    /// OCSP messages, CRL options and VA roles.
    static var va: [String: JSONValue] {
        let duration = "Units ms s m h d w y (y = 364 days), e.g. 1w, 6d23h"
        return [
            "OCSPRequest": ["type": "string", "format": "binary", "description": "DER OCSPRequest (RFC 6960 §4.1)"],
            "OCSPResponse": [
                "type": "string", "format": "binary",
                "description": "DER OCSPResponse (RFC 6960 §4.2): signed by the issuing CA, or an error status (malformedRequest, unauthorized, internalError, tryLater) without a body",
            ],
            "CRLOptions": [
                "type": "object",
                "description": "Lamassu's VACRLRole, bare or as {\"crl_options\": {...}}; a field left out keeps its value",
                "properties": [
                    "refresh_interval": string("Age at which a CRL is replaced (at least 1m). \(duration)"),
                    "validity": string("nextUpdate − thisUpdate (at least refresh_interval + 1m). \(duration)"),
                    "regenerate_on_revoke": ["type": "boolean", "description": "Whether a revocation makes the next download a new CRL"],
                    "subject_key_id_signer": string("The CA's own subject key identifier (its key signs its CRLs)"),
                ],
            ],
            "VARole": object([
                "ca_ski": string("Subject key identifier of the CA, lowercase hex"),
                "crl_options": object([
                    "refresh_interval": string(duration), "validity": string(duration),
                    "subject_key_id_signer": string(), "regenerate_on_revoke": ["type": "boolean"],
                ]),
                "latest_crl": object([
                    "version": string("CRL number, decimal"), "valid_from": string(format: "date-time"),
                    "valid_until": string(format: "date-time"),
                ]),
            ]),
        ]
    }
}
