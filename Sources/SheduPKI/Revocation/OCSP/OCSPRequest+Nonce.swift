import SwiftASN1

extension OCSPRequest {
    /// The longest nonce a request may carry (RFC 9654 §2.1: `Nonce ::= OCTET STRING (SIZE(1..128))`).
    public static let maximumNonceLength = 128

    /// Whether the nonce, if any, has a length RFC 9654 allows; a responder answers a request
    /// whose nonce is empty or longer with malformedRequest.
    ///
    /// The extension's value is normally the DER of the OCTET STRING; some older clients put the
    /// nonce bytes there bare, and those bytes are measured then.
    public var hasAcceptableNonce: Bool {
        guard let nonce else { return true }
        let length: Int
        if let node = try? DER.parse(nonce), let octets = try? ASN1OctetString(derEncoded: node) {
            length = octets.bytes.count
        } else {
            length = nonce.count
        }
        return (1...Self.maximumNonceLength).contains(length)
    }

    /// The nonce a response echoes: the request's, when it is the OCTET STRING RFC 9654 defines.
    /// A bare one is accepted but not echoed (a responder may leave the nonce out, RFC 9654
    /// §2.1): echoed, it would make the signed response break the extension's syntax.
    public var echoedNonce: [UInt8]? {
        guard let nonce, let node = try? DER.parse(nonce), (try? ASN1OctetString(derEncoded: node)) != nil else { return nil }
        return nonce
    }
}
