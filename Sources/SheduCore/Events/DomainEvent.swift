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
    /// The JSON text of the data: the object, or `{"previous": ..., "updated": ...}` for updates.
    /// Rendered when the event is made, outside the transaction that records it.
    public var dataText: String

    private init(type: String, service: String, subject: String, time: Date, dataText: String) {
        id = RandomUUID.lowercased()
        self.type = type
        self.service = service
        self.subject = subject
        self.time = time
        self.dataText = dataText
    }

    public init(type: String, service: String, subject: String, time: Date, data: JSONValue) {
        self.init(type: type, service: service, subject: subject, time: time, dataText: data.jsonText())
    }

    /// An event whose data is `object` in its API form.
    public init(type: String, service: String, subject: String, time: Date, object: some Encodable) throws {
        var writer = JSONTextWriter(capacity: 1024)
        try writer.write(encodable: object)
        self.init(type: type, service: service, subject: subject, time: time, dataText: writer.text)
    }

    /// An event whose data is `object` in its API form, written by the object itself.
    public init(type: String, service: String, subject: String, time: Date, object: some JSONWritable) throws {
        var writer = JSONTextWriter(capacity: 1024)
        writer.write(object)
        self.init(type: type, service: service, subject: subject, time: time, dataText: writer.text)
    }

    /// An update event: `{"previous": ..., "updated": ...}`.
    public init(type: String, service: String, subject: String, time: Date, previous: some Encodable, updated: some Encodable)
        throws
    {
        self.init(
            type: type, service: service, subject: subject, time: time,
            dataText: try Self.updateText { try $0.write(encodable: previous) } updated: { try $0.write(encodable: updated) })
    }

    /// An update event of objects that write themselves.
    public init(
        type: String, service: String, subject: String, time: Date, previous: some JSONWritable, updated: some JSONWritable
    ) throws {
        self.init(
            type: type, service: service, subject: subject, time: time,
            dataText: Self.updateText { $0.write(previous) } updated: { $0.write(updated) })
    }

    /// `{"previous": ..., "updated": ...}`, each side written by its closure.
    private static func updateText(
        previous writePrevious: (inout JSONTextWriter) throws -> Void, updated writeUpdated: (inout JSONTextWriter) throws -> Void
    ) rethrows -> String {
        var writer = JSONTextWriter(capacity: 4096)
        writer.beginObject()
        writer.key("previous")
        try writePrevious(&writer)
        writer.key("updated")
        try writeUpdated(&writer)
        writer.endObject()
        return writer.text
    }

    /// The CloudEvents `source` attribute.
    public var source: String { "shedu://service/\(service)" }
}
