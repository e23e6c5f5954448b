import Foundation

/// A Device Management Service: the enrollment policy a fleet of devices is registered under
/// (API.md §5).
public struct DMS: Sendable, Hashable {
    public var id: String
    public var name: String
    public var metadata: [String: JSONValue]
    public var creationDate: Date
    public var settings: DMSSettings

    /// The DMS with its webhooks' credentials masked: what a viewer, who may not change them, reads.
    public var withCredentialsMasked: DMS {
        var masked = self
        masked.settings.enrollment.est.externalWebhook = settings.enrollment.est.externalWebhook.withCredentialsMasked
        if let est = settings.reenrollment.est {
            masked.settings.reenrollment.est?.externalWebhook = est.externalWebhook.withCredentialsMasked
        }
        return masked
    }

    public init(id: String, name: String, metadata: [String: JSONValue] = [:], creationDate: Date, settings: DMSSettings) {
        self.id = id
        self.name = name
        self.metadata = metadata
        self.creationDate = creationDate
        self.settings = settings
    }

    /// Filterable fields of DMS lists (Lamassu's).
    public static let fields = FieldSet(
        [
            FieldDefinition("id", .string), FieldDefinition("name", .string), FieldDefinition("creation_ts", .date),
            FieldDefinition("creation_date", .date), FieldDefinition("metadata", .json),
            FieldDefinition("settings", .json),
        ], defaultSort: "creation_ts")
}

extension DMS: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, name, metadata, creationDate = "creation_ts", settings
    }
}

/// The body of `POST /dms` and `PUT /dms/{id}`.
public struct DMSRequest: Sendable, Decodable {
    public var id: String?
    public var name: String?
    public var metadata: [String: JSONValue]?
    public var settings: DMSSettings?

    public init(id: String? = nil, name: String? = nil, metadata: [String: JSONValue]? = nil, settings: DMSSettings? = nil) {
        self.id = id
        self.name = name
        self.metadata = metadata
        self.settings = settings
    }
}
