import Foundation
import Synchronization
@_spi(FixedExpiryValidationTime) import X509

/// Checks a client certificate chain against trust anchors chosen per request (EST trusts per
/// DMS), with swift-certificates' RFC 5280 verifier.
public enum ClientCertificateVerification {
    /// The validated chain, leaf first, from `presented` (leaf first, as the client sent it) to one
    /// of `anchors`.
    /// - Parameters:
    ///   - usableLength: how many certificates of the presented chain count (Lamassu's
    ///     `chain_level_validation`; nil or below 1 for all).
    ///   - time: the instant validity is checked at.
    ///   - allowExpiredLeaf: an expired leaf is accepted (checked as of the last second it was valid).
    public static func verify(
        presented: [Certificate], anchors: [Certificate], usableLength: Int? = nil, at time: Date,
        allowExpiredLeaf: Bool = false
    ) async throws -> [Certificate] {
        guard let leaf = presented.first else { throw PKIError.invalidInput("no client certificate was presented") }
        guard !anchors.isEmpty else { throw PKIError.invalidInput("there is no CA to check the client certificate against") }
        var intermediates = Array(presented.dropFirst())
        if let usableLength, usableLength > 0 { intermediates = Array(intermediates.prefix(max(0, usableLength - 1))) }
        var validationTime = time
        if allowExpiredLeaf, leaf.notValidAfter < time { validationTime = leaf.notValidAfter.addingTimeInterval(-1) }
        if leaf.notValidBefore > time {
            throw PKIError.invalidSignature("the client certificate is not valid before \(leaf.notValidBefore)")
        }
        if leaf.notValidAfter < validationTime {
            throw PKIError.invalidSignature("the client certificate expired at \(leaf.notValidAfter)")
        }
        var verifier = Verifier(rootCertificates: CertificateStore(anchors)) {
            RFC5280Policy(fixedExpiryValidationTime: validationTime)
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) {
        case .validCertificate(let chain):
            return Array(chain)
        case .couldNotValidate(let failures):
            let reasons = failures.map { "\($0.policyFailureReason)" }
            let detail = reasons.isEmpty ? "it does not chain to any of them" : reasons.joined(separator: "; ")
            throw PKIError.invalidSignature(
                "the client certificate '\(Subject(leaf.subject).commonName)' is not trusted by \(anchors.map { Subject($0.subject).commonName }.joined(separator: ", ")): \(detail)")
        }
    }
}

/// Chains already verified against the same anchors, kept for as long as every certificate in
/// them is within its validity: a device on a kept-alive connection presents the same chain on
/// each request, and checking its signatures again is the dearest part of authenticating it.
/// Revocation is not cached here; callers check it on every request.
public final class VerifiedChainCache: Sendable {
    private struct Key: Hashable {
        var presented: [Certificate]
        var anchors: [Certificate]
        var usableLength: Int?
        var allowExpiredLeaf: Bool
    }

    private struct Entry {
        var chain: [Certificate]
        var validFrom: Date
        var validUntil: Date
    }

    private let entries = BoundedCache<Key, Entry>()

    public init() {}

    /// ``ClientCertificateVerification/verify(presented:anchors:usableLength:at:allowExpiredLeaf:)``,
    /// answered from the cache when the same chain was verified against the same anchors and
    /// `time` is still inside every certificate's validity.
    public func verify(
        presented: [Certificate], anchors: [Certificate], usableLength: Int? = nil, at time: Date,
        allowExpiredLeaf: Bool = false
    ) async throws -> [Certificate] {
        let key = Key(presented: presented, anchors: anchors, usableLength: usableLength, allowExpiredLeaf: allowExpiredLeaf)
        if let entry = entries[key], entry.validFrom <= time, time <= entry.validUntil {
            return entry.chain
        }
        let chain = try await ClientCertificateVerification.verify(
            presented: presented, anchors: anchors, usableLength: usableLength, at: time, allowExpiredLeaf: allowExpiredLeaf)
        // An expired leaf accepted as such is outside this window: it is verified each time.
        let entry = Entry(
            chain: chain, validFrom: chain.map(\.notValidBefore).max() ?? time,
            validUntil: chain.map(\.notValidAfter).min() ?? time)
        entries[key] = entry
        return chain
    }
}

/// Certificates by their DER encoding, parsed once: a station or gateway on a kept-alive
/// connection presents the same ones on every request.
public final class ParsedCertificateCache: Sendable {
    private let certificates = BoundedCache<[UInt8], Certificate>()

    public init() {}

    public func certificate(der: [UInt8]) throws -> Certificate {
        if let known = certificates[der] { return known }
        let certificate = try Certificate(derEncoded: der)
        certificates[der] = certificate
        return certificate
    }
}

/// The chains clients presented in full TLS handshakes, by the DER of their leaf: a resumed TLS
/// session (RFC 8446 §2.2) carries the client's certificate but not the intermediates it came with.
public final class PresentedChainCache: Sendable {
    private let chains = BoundedCache<[UInt8], [Certificate]>()

    public init() {}

    /// Keeps `chain` (leaf first) when it holds more than its leaf.
    public func remember(_ chain: [Certificate], leafDER: [UInt8]) {
        guard chain.count > 1 else { return }
        chains[leafDER] = chain
    }

    /// The chain last presented with this leaf, if it held more than the leaf.
    public func chain(leafDER: [UInt8]) -> [Certificate]? {
        chains[leafDER]
    }
}

/// The storage of the client-certificate caches: at most `capacity` entries (a few MB), all
/// dropped when it is reached. Stations and gateways on kept-alive connections are few; a device
/// that connects once per renewal gains nothing here, and making an entry again is cheap.
final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    static var capacity: Int { 4_096 }
    private let entries = Mutex<[Key: Value]>([:])

    subscript(key: Key) -> Value? {
        get { entries.withLock { $0[key] } }
        set {
            entries.withLock { entries in
                if entries[key] == nil, entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
                entries[key] = newValue
            }
        }
    }
}
