import Foundation
import SwiftASN1

/// What an EC private key's encoding says besides its scalar: the curve it names (PKCS#8's
/// algorithm parameters, SEC1's `[0]`) and the public key it carries (SEC1's `[1]`), checked
/// against the key swift-crypto read from it.
struct ECPrivateKeyClaims {
    var curves: [ASN1ObjectIdentifier] = []
    var publicKey: [UInt8]?

    /// - Parameter pkcs8: a `PrivateKeyInfo` (RFC 5958) around the SEC1 `ECPrivateKey` (RFC 5915).
    init(der: [UInt8], pkcs8: Bool) throws {
        do {
            var sec1 = der
            if pkcs8 {
                var curve: ASN1ObjectIdentifier?
                sec1 = try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
                    _ = try Int(derEncoded: &nodes)
                    curve = try DER.sequence(of: ASN1Any.self, identifier: .sequence, nodes: &nodes).dropFirst().first
                        .map { try ASN1ObjectIdentifier(asn1Any: $0) }
                    let inner = Array(try ASN1OctetString(derEncoded: &nodes).bytes)
                    while nodes.next() != nil {}  // attributes, public key: RFC 5958's optional trailer
                    return inner
                }
                if let curve { curves.append(curve) }
            }
            let (curve, publicKey) = try DER.sequence(try DER.parse(sec1), identifier: .sequence) { nodes in
                _ = try Int(derEncoded: &nodes)
                _ = try ASN1OctetString(derEncoded: &nodes)
                let curve = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) {
                    try ASN1ObjectIdentifier(derEncoded: $0)
                }
                let publicKey = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) {
                    Array(try ASN1BitString(derEncoded: $0).bytes)
                }
                return (curve, publicKey)
            }
            if let curve { curves.append(curve) }
            self.publicKey = publicKey
        } catch {
            throw PKIError.invalidInput("private_key is not a well-formed EC private key (RFC 5915)")
        }
    }

    func check(curve expected: ASN1ObjectIdentifier, publicKey derived: Data) throws {
        if let other = curves.first(where: { $0 != expected }) {
            throw PKIError.invalidInput("private_key is an EC key on curve \(other); Shedu uses P-256, P-384 and P-521")
        }
        if let publicKey, publicKey != Array(derived) {
            throw PKIError.invalidInput("private_key carries a public key that is not its private key's")
        }
    }
}
