import Foundation
import Logging
import SheduCore

/// Writes one line per event on standard output: time, level, label, message, then metadata
/// as `key=value`.
///
/// Metadata is rendered when a line is written. swift-log's `StreamLogHandler` renders it each
/// time it is set, and every request sets its id: the cost of a line was paid by each request
/// whether it logged or not.
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let write: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardOutput) {
        self.label = label
        logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "\(RFC3339.format(Date())) \(event.level.rawValue) \(label): \(event.message)"
        let fields = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new })
        for key in fields.keys.sorted() {
            line += " \(key)=\(fields[key]!)"
        }
        write(line + "\n")
    }
}
