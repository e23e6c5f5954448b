import Foundation

/// A change, recorded in the outbox in the same transaction as the change itself, and later
/// published as a CloudEvents 1.0 event (API.md §7).
public struct DomainEvent: Sendable, Hashable {
    public var id: String
    /// `ca.create`, `certificate.status.update`, ...
    public var type: String
    /// The service that made the change: `ca`, `kms`, `devmanager`, `dmsmanager`, `va`.
    public var service: String
    /// `ca/<id>`, `certificate/<serial>`, `kms/<key id>`, ...
    public var subject: String
    public var time: Date
    /// The object, or `{"previous": ..., "updated": ...}` for updates.
    public var data: JSONValue

    public init(type: String, service: String, subject: String, time: Date, data: JSONValue) {
        id = UUID().uuidString.lowercased()
        self.type = type
        self.service = service
        self.subject = subject
        self.time = time
        self.data = data
    }

    /// An event whose data is `object` in its API form.
    public init(type: String, service: String, subject: String, time: Date, object: some Encodable) throws {
        self.init(type: type, service: service, subject: subject, time: time, data: try DomainJSON.value(object))
    }

    /// An update event: `{"previous": ..., "updated": ...}`.
    public init(type: String, service: String, subject: String, time: Date, previous: some Encodable, updated: some Encodable)
        throws
    {
        self.init(
            type: type, service: service, subject: subject, time: time,
            data: ["previous": try DomainJSON.value(previous), "updated": try DomainJSON.value(updated)])
    }

    /// The CloudEvents `source` attribute.
    public var source: String { "shedu://service/\(service)" }
}
