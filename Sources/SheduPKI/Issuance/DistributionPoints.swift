import SwiftASN1
import X509

/// The CRL Distribution Points extension (RFC 5280 §4.2.1.13), which swift-certificates does not
/// provide: one distribution point with one URI as its full name.
public enum CRLDistributionPointsExtension {
    public static let oid: ASN1ObjectIdentifier = [2, 5, 29, 31]

    public static func make(uri: String) throws -> Certificate.Extension {
        var serializer = DER.Serializer()
        // CRLDistributionPoints ::= SEQUENCE OF DistributionPoint
        try serializer.appendConstructedNode(identifier: .sequence) { points in
            // DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, ... }
            try points.appendConstructedNode(identifier: .sequence) { point in
                // [0] wraps the DistributionPointName CHOICE (a CHOICE cannot be implicitly tagged).
                try point.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) {
                    name in
                    // fullName [0] IMPLICIT GeneralNames
                    try name.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) {
                        names in
                        try names.serialize(GeneralName.uniformResourceIdentifier(uri))
                    }
                }
            }
        }
        return Certificate.Extension(oid: oid, critical: false, value: ArraySlice(serializer.serializedBytes))
    }

    /// The URIs of a CRL Distribution Points extension's full names.
    public static func uris(in extensions: Certificate.Extensions) -> [String] {
        guard let ext = extensions[oid: oid], let root = try? DER.parse(ext.value) else { return [] }
        var found: [String] = []
        func walk(_ node: ASN1Node) {
            if node.identifier == ASN1Identifier(tagWithNumber: 6, tagClass: .contextSpecific),
                case .primitive(let bytes) = node.content
            {
                found.append(String(decoding: bytes, as: UTF8.self))
            }
            if case .constructed(let children) = node.content {
                for child in children { walk(child) }
            }
        }
        walk(root)
        return found
    }
}
