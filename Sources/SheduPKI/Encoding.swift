import Foundation
import SwiftASN1
import X509

/// The encodings the Lamassu API uses for X.509 objects in JSON.
public enum PEMText {
    /// A certificate as Lamassu puts it in JSON: base64 of its PEM text.
    public static func base64PEM(derCertificate der: [UInt8]) -> String {
        Data(pem(derCertificate: der).utf8).base64EncodedString()
    }

    /// PEM text of a DER certificate, lines of 64 characters, ending with a line break.
    public static func pem(derCertificate der: [UInt8], discriminator: String = "CERTIFICATE") -> String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(discriminator)-----\n\(base64)\n-----END \(discriminator)-----\n"
    }

    /// Decodes input that may be PEM text, base64 of PEM text, or base64 of DER, into DER bytes
    /// of the expected kind. Line breaks and spaces inside base64 are tolerated.
    public static func derBytes(from text: String, expecting discriminators: [String], field: String) throws -> [UInt8] {
        // Bytes, not Characters: a CSR's base64 is long, and grapheme breaking (or Foundation's
        // trimming) costs more than the signature check.
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) }) else {
            throw PKIError.invalidInput("\(field) is empty")
        }
        if utf8[first...].starts(with: "-----BEGIN".utf8) {
            return try fromPEM(String(text[first...last]), expecting: discriminators, field: field)
        }
        // Looked for only in text of several lines, not in the one line of base64 most bodies are.
        if utf8[first...last].contains(0x0A), let block = blockAfterExplanatoryText(text) {
            return try fromPEM(block, expecting: discriminators, field: field)
        }
        let trimmed = utf8[first...last]
        // Line breaks inside are allowed; most bodies carry none, and copying byte by byte to
        // drop them costs more than the base64 decoding itself.
        let compact =
            trimmed.contains(where: isSpace)
            ? String(decoding: trimmed.filter { !isSpace($0) }, as: UTF8.self) : String(text[first...last])
        guard let decoded = Data(base64Encoded: compact) ?? Data(base64Encoded: base64URLToStandard(compact)) else {
            throw PKIError.invalidInput("\(field) is neither PEM nor base64")
        }
        if decoded.starts(with: Array("-----BEGIN".utf8)) {
            return try fromPEM(String(decoding: decoded, as: UTF8.self), expecting: discriminators, field: field)
        }
        if decoded.first != 0x30, let block = blockAfterExplanatoryText(String(decoding: decoded, as: UTF8.self)) {  // 0x30: DER
            return try fromPEM(block, expecting: discriminators, field: field)
        }
        return Array(decoded)
    }

    /// The PEM block of text that starts with something else, such as `openssl req -text`
    /// writes before it (RFC 7468 §2: parsers must not fail on text outside the block).
    private static func blockAfterExplanatoryText(_ text: String) -> String? {
        guard let start = text.range(of: "\n-----BEGIN ") else { return nil }
        return String(text[text.index(after: start.lowerBound)...]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func fromPEM(_ text: String, expecting discriminators: [String], field: String) throws -> [UInt8] {
        let blocks = text.components(separatedBy: "-----BEGIN ").count - 1
        guard blocks <= 1 else {
            throw PKIError.invalidInput("\(field) holds \(blocks) PEM blocks; give one")
        }
        let document: (discriminator: String, derBytes: [UInt8])
        if let strict = try? PEMDocument(pemString: text) {
            document = (strict.discriminator, strict.derBytes)
        } else if let relaxed = relaxedPEM(text) {
            document = relaxed
        } else {
            throw PKIError.invalidInput("\(field) is not valid PEM")
        }
        guard discriminators.contains(document.discriminator) else {
            throw PKIError.invalidInput(
                "\(field) is a PEM '\(document.discriminator)', expected \(discriminators.joined(separator: " or "))")
        }
        return document.derBytes
    }

    /// PEM with base64 lines of another length than 64 (76, as MIME tools write, or one long
    /// line): RFC 7468 §3 asks parsers to accept them, swift-asn1 takes 64 only. Headers
    /// (`Proc-Type: 4,ENCRYPTED`) are not accepted.
    private static func relaxedPEM(_ text: String) -> (discriminator: String, derBytes: [UInt8])? {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.first, begin.hasPrefix("-----BEGIN "), begin.hasSuffix("-----"), begin.count > 16 else { return nil }
        let label = String(begin.dropFirst("-----BEGIN ".count).dropLast("-----".count))
        guard let end = lines.firstIndex(of: "-----END \(label)-----") else { return nil }
        let body = lines[1..<end].joined()
        guard !body.contains(":"), let der = Data(base64Encoded: body), !der.isEmpty else { return nil }
        return (label, Array(der))
    }

    /// Base64url (RFC 4648 §5, padding optional) as standard base64 with padding.
    public static func base64URLToStandard(_ text: String) -> String {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return standard
    }

    /// All PEM certificates in a text, in order.
    public static func certificates(inPEM text: String) throws -> [Certificate] {
        var certificates: [Certificate] = []
        var rest = Substring(text)
        while let start = rest.range(of: "-----BEGIN CERTIFICATE-----"),
            let end = rest.range(of: "-----END CERTIFICATE-----", range: start.upperBound..<rest.endIndex)
        {
            certificates.append(try Certificate(pemEncoded: String(rest[start.lowerBound..<end.upperBound])))
            rest = rest[end.upperBound...]
        }
        return certificates
    }
}

extension Certificate {
    /// The DER encoding.
    public var derBytes: [UInt8] {
        var serializer = DER.Serializer()
        // Serializing a certificate that was built or parsed cannot fail.
        try! serializer.serialize(self)
        return serializer.serializedBytes
    }

    /// Parses a certificate given as PEM, base64 of PEM or base64 of DER (`field` names it in errors).
    public init(apiText text: String, field: String) throws {
        let der = try PEMText.derBytes(from: text, expecting: ["CERTIFICATE"], field: field)
        do {
            try self.init(derEncoded: der)
        } catch {
            throw PKIError.invalidInput("\(field) is not an X.509 certificate")
        }
    }
}
