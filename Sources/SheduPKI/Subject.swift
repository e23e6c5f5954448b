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
                let value = attribute.value.description
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

    /// The X.509 name, most significant first (C, ST, L, O, OU, CN); empty fields are left out.
    public func distinguishedName() throws -> DistinguishedName {
        if !country.isEmpty, country.utf8.count != 2 {
            throw PKIError.invalidInput("subject.country must be a two-letter country code")
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
