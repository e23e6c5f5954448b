import SwiftASN1

/// A CRL's sequence number (RFC 5280 §5.2.3): a non-negative integer, at most 20 octets in DER,
/// that grows with each CRL a CA issues.
public struct CRLNumber: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The big-endian magnitude without leading zero bytes (`[]` is zero).
    public private(set) var magnitude: [UInt8]

    public init(_ value: UInt64) {
        magnitude = Array(Array(IntegerBytesCollection(value)).drop { $0 == 0 })
    }

    /// A number from its big-endian bytes; throws when it takes more than 20 octets in DER.
    public init(magnitude bytes: some Sequence<UInt8>) throws {
        let trimmed = Array(Array(bytes).drop { $0 == 0 })
        let encodedLength = trimmed.count + ((trimmed.first ?? 0) >= 0x80 ? 1 : 0)
        guard encodedLength <= 20 else {
            throw PKIError.invalidInput("a CRL number may take at most 20 octets, not \(encodedLength)")
        }
        magnitude = trimmed
    }

    /// The value, when it fits in 64 bits.
    public var uint64Value: UInt64? {
        guard magnitude.count <= 8 else { return nil }
        return magnitude.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The number that follows this one; throws when it would outgrow 20 octets.
    public func next() throws -> CRLNumber {
        var bytes = magnitude
        var index = bytes.count - 1
        while index >= 0, bytes[index] == 0xFF {
            bytes[index] = 0
            index -= 1
        }
        if index >= 0 { bytes[index] += 1 } else { bytes.insert(1, at: 0) }
        return try CRLNumber(magnitude: bytes)
    }

    /// Decimal when it fits in 64 bits, else `0x` and hex.
    public var description: String {
        uint64Value.map(String.init) ?? "0x" + Hex.encode(magnitude)
    }

    public static func < (lhs: CRLNumber, rhs: CRLNumber) -> Bool {
        lhs.magnitude.count != rhs.magnitude.count
            ? lhs.magnitude.count < rhs.magnitude.count
            : lhs.magnitude.lexicographicallyPrecedes(rhs.magnitude)
    }
}

extension CRLNumber: DERImplicitlyTaggable {
    /// `CRLNumber ::= INTEGER (0..MAX)`.
    public static var defaultIdentifier: ASN1Identifier { .integer }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        // An unsigned ArraySlice refuses negative numbers and drops the sign byte.
        try self.init(magnitude: try ArraySlice<UInt8>(derEncoded: rootNode, withIdentifier: identifier))
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        // An unsigned ArraySlice adds the leading zero a magnitude with its top bit set needs.
        try magnitude[...].serialize(into: &coder, withIdentifier: identifier)
    }
}
