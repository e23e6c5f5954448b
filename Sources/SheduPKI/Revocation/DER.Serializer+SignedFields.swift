import SwiftASN1

extension DER.Serializer {
    /// Appends the fields every signed X.509 structure starts with: the to-be-signed DER as it
    /// was signed, the signature algorithm, and the signature as a BIT STRING.
    ///
    /// `toBeSigned` must be one complete DER element (callers either wrote it with a serializer
    /// or checked it with `DER.parse`).
    mutating func appendSignedFields(
        toBeSigned: [UInt8], algorithm: SignatureAlgorithmIdentifier, signature: [UInt8]
    ) throws {
        serializeRawBytes(toBeSigned)
        try serialize(algorithm)
        try serialize(ASN1BitString(bytes: signature[...]))
    }
}
