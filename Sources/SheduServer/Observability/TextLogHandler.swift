import Foundation
import Logging
import SheduCore

/// Writes one line per event on standard output: time, level, label, message, then metadata
/// as `key=value`. Control characters are escaped (`\n` as `\\n`): a value a client chose (a
/// token's subject, a path) cannot start a line that looks like the server's.
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
        var line = "\(RFC3339.format(Date())) \(event.level.rawValue) \(label): \(Self.escapingControls("\(event.message)"))"
        let fields = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new })
        for key in fields.keys.sorted() {
            line += " \(key)=\(Self.escapingControls("\(fields[key]!)"))"
        }
        write(line + "\n")
    }

    /// C0 and C1 controls, and the Unicode line and paragraph separators.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    /// `text` with its control characters written as escapes; unchanged (and not copied) without any.
    static func escapingControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where isControl(scalar):
                escaped += "\\u{\(String(scalar.value, radix: 16))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
