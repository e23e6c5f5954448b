import SwiftASN1
import X509

/// The subject fields Lamassu exposes (`common_name`, `organization`, ...), to and from an X.509 name.
public struct Subject: Sendable, Hashable, Codable {
    public var commonName: String
    public var organization: String
    public var organizationUnit: String
    public var country: String
    public var state: String
    public var locality: String

    enum CodingKeys: String, CodingKey {
        case commonName = "common_name"
        case organization
        case organizationUnit = "organization_unit"
        case country, state, locality
    }

    public init(
        commonName: String = "", organization: String = "", organizationUnit: String = "", country: String = "",
        state: String = "", locality: String = ""
    ) {
        self.commonName = commonName
        self.organization = organization
        self.organizationUnit = organizationUnit
        self.country = country
        self.state = state
        self.locality = locality
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        commonName = try container.decodeIfPresent(String.self, forKey: .commonName) ?? ""
        organization = try container.decodeIfPresent(String.self, forKey: .organization) ?? ""
        organizationUnit = try container.decodeIfPresent(String.self, forKey: .organizationUnit) ?? ""
        country = try container.decodeIfPresent(String.self, forKey: .country) ?? ""
        state = try container.decodeIfPresent(String.self, forKey: .state) ?? ""
        locality = try container.decodeIfPresent(String.self, forKey: .locality) ?? ""
    }

    /// Reads the first value of each attribute of an X.509 name.
    public init(_ name: DistinguishedName) {
        self.init()
        for relativeName in name {
            for attribute in relativeName {
                let value = Self.text(of: attribute.value)
                switch attribute.type {
                case .RDNAttributeType.commonName where commonName.isEmpty: commonName = value
                case .RDNAttributeType.organizationName where organization.isEmpty: organization = value
                case .RDNAttributeType.organizationalUnitName where organizationUnit.isEmpty: organizationUnit = value
                case .RDNAttributeType.countryName where country.isEmpty: country = value
                case .RDNAttributeType.stateOrProvinceName where state.isEmpty: state = value
                case .RDNAttributeType.localityName where locality.isEmpty: locality = value
                default: break
                }
            }
        }
    }

    /// An attribute's value as the certificate holds it, as Lamassu (Go's `pkix.Name`) shows it:
    /// not escaped for display (RFC 4514 would turn "Acme, Inc." into "Acme\, Inc."), BMP and
    /// universal strings decoded from UTF-16 and UTF-32, teletex as Latin-1. A value that is no
    /// string shows its DER in hex after a "#", as RFC 4514 writes it.
    public static func text(of value: RelativeDistinguishedName.Attribute.Value) -> String {
        if let text = String(value) { return text }
        let any = ASN1Any(value)
        if let bmp = try? ASN1BMPString(asn1Any: any) {
            let units = stride(from: bmp.bytes.startIndex, to: bmp.bytes.endIndex - 1, by: 2).map {
                UInt16(bmp.bytes[$0]) << 8 | UInt16(bmp.bytes[$0 + 1])
            }
            return String(decoding: units, as: UTF16.self)
        }
        if let universal = try? ASN1UniversalString(asn1Any: any) {
            let scalars = stride(from: universal.bytes.startIndex, to: universal.bytes.endIndex - 3, by: 4).map {
                universal.bytes[$0..<($0 + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            }
            return String(String.UnicodeScalarView(scalars.map { Unicode.Scalar($0) ?? "\u{FFFD}" }))
        }
        if let teletex = try? ASN1TeletexString(asn1Any: any) {
            return String(String.UnicodeScalarView(teletex.bytes.map { Unicode.Scalar($0) }))
        }
        if let visible = try? ASN1VisibleString(asn1Any: any) { return String(visible) }
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(any)) != nil else { return "" }
        return "#" + Hex.encode(serializer.serializedBytes)
    }

    /// What is wrong with a name value that swift-certificates did not read as a string (it reads
    /// valid UTF8, Printable and IA5 strings), or nil: a value tagged as a string type but not valid
    /// for it (a PrintableString holding a NUL or "*", a BMPString of an odd number of bytes), or,
    /// for an attribute RFC 5280 types as a string, a value that is no string at all.
    static func encodingProblem(of value: RelativeDistinguishedName.Attribute.Value, mustBeString: Bool) -> String? {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(ASN1Any(value))) != nil, let node = try? DER.parse(serializer.serializedBytes),
            node.identifier.tagClass == .universal, case .primitive(let content) = node.content,
            let type = stringTypes[node.identifier.tagNumber]
        else { return mustBeString ? "is not a string (RFC 5280 Appendix A.1)" : nil }
        let valid: Bool
        switch type {
        case "UTF8String": valid = String(validating: content, as: UTF8.self) != nil
        case "PrintableString": valid = content.allSatisfy(isPrintableStringCharacter)
        case "IA5String": valid = content.allSatisfy { $0 < 0x80 }
        case "VisibleString": valid = content.allSatisfy { (0x20...0x7E).contains($0) }
        case "BMPString": valid = content.count % 2 == 0
        case "UniversalString":
            valid = content.count % 4 == 0 && stride(from: content.startIndex, to: content.endIndex, by: 4).allSatisfy {
                Unicode.Scalar(content[$0..<($0 + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) != nil
            }
        default: valid = true  // TeletexString: any byte reads as Latin-1
        }
        return valid ? nil : "is not a valid \(type)"
    }

    private static let stringTypes: [UInt: String] = [
        12: "UTF8String", 19: "PrintableString", 20: "TeletexString", 22: "IA5String", 26: "VisibleString",
        28: "UniversalString", 30: "BMPString",
    ]

    private static func isPrintableStringCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: " '()+,-./:=?".utf8.contains(byte)
        }
    }

    /// The X.509 name, checked against RFC 5280's bounds as an issued certificate's would be: a
    /// profile's subject is checked when written, not at every signature after.
    public func checkedDistinguishedName() throws -> DistinguishedName {
        let name = try distinguishedName()
        try CertificateBuilder.checkNames(in: name, alternativeNames: nil)
        return name
    }

    /// The X.509 name, most significant first (C, ST, L, O, OU, CN); empty fields are left out.
    public func distinguishedName() throws -> DistinguishedName {
        // Two ASCII letters (ISO 3166-1 alpha-2): anything else is no country, and some of it
        // (a "ü", an "_") cannot even be written as the PrintableString RFC 5280 requires.
        if !country.isEmpty, country.utf8.count != 2 || !country.utf8.allSatisfy({ (0x41...0x5A).contains($0 & 0xDF) }) {
            throw PKIError.invalidInput("subject.country must be a two-letter country code, not '\(country)'")
        }
        var relativeNames: [RelativeDistinguishedName] = []
        func add(_ type: ASN1ObjectIdentifier, _ value: String, printable: Bool = false) throws {
            guard !value.isEmpty else { return }
            let attributeValue =
                printable
                ? try RelativeDistinguishedName.Attribute.Value(printableString: value)
                : RelativeDistinguishedName.Attribute.Value(utf8String: value)
            relativeNames.append(RelativeDistinguishedName(.init(type: type, value: attributeValue)))
        }
        try add(.RDNAttributeType.countryName, country, printable: true)
        try add(.RDNAttributeType.stateOrProvinceName, state)
        try add(.RDNAttributeType.localityName, locality)
        try add(.RDNAttributeType.organizationName, organization)
        try add(.RDNAttributeType.organizationalUnitName, organizationUnit)
        try add(.RDNAttributeType.commonName, commonName)
        return DistinguishedName(relativeNames)
    }
}

extension DistinguishedName {
    /// Whether `other` holds the same attributes, in the same order, with the same text, whatever
    /// string type each value is written in (RFC 5280 §7.1 compares names after string
    /// preparation): a PrintableString "meter-1" and a UTF8String "meter-1" are the same name.
    public func hasSameText(as other: DistinguishedName) -> Bool {
        guard count == other.count else { return false }
        return zip(self, other).allSatisfy { left, right in
            let leftAttributes = Array(left)
            let rightAttributes = Array(right)
            return leftAttributes.count == rightAttributes.count
                && zip(leftAttributes, rightAttributes).allSatisfy { one, another in
                    guard one.type == another.type else { return false }
                    if one.value == another.value { return true }
                    guard let text = String(one.value) else { return false }
                    return text == String(another.value)
                }
        }
    }
}
