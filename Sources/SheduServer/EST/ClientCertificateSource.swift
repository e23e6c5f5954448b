import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOSSL
import SheduCore
import SheduPKI
import X509

/// What a connection's TLS handler holds of its client, read on the connection's event loop.
struct TLSPeer: Sendable {
    /// The chain the client presented in this connection's handshake.
    var presented: NIOSSL.ValidatedCertificateChain?
    /// The client's certificate as the TLS session holds it (a resumed session presents none).
    var sessionLeaf: NIOSSLCertificate?

    /// Nil for a connection without a TLS handler (the plain-HTTP listener).
    init?(_ pipeline: ChannelPipeline.SynchronousOperations) {
        do {
            presented = try pipeline.nioSSL_peerValidatedCertificateChain()
            sessionLeaf = try pipeline.nioSSL_peerCertificate()
        } catch {
            return nil
        }
    }
}

/// Where the client certificate of a request comes from: the TLS connection itself, or — on the
/// plain-HTTP listener, and only when the operator trusts the proxy in front of it — a header the
/// proxy set. A header on a TLS connection is never read: it must not be able to forge a device.
struct ClientCertificateSource: Sendable {
    /// `--trust-forwarded-client-cert`.
    let trustForwardedHeaders: Bool
    private let parsed = ParsedCertificateCache()
    private let presentedChains = PresentedChainCache()

    /// The chain, leaf first; empty when there is none.
    func chain(of request: Request, context: SheduRequestContext) async throws -> [Certificate] {
        var peer: TLSPeer?
        if let channel = context.channel {
            peer = try await channel.eventLoop.submit { TLSPeer(channel.pipeline.syncOperations) }.get()
        }
        return try chain(peer: peer) { request.headers[HTTPField.Name($0)!] }
    }

    /// The chain from what the connection's TLS handler holds (nil: a connection without TLS,
    /// where a trusted proxy's headers, read through `header`, may carry it).
    func chain(peer: TLSPeer?, header: (String) -> String?) throws -> [Certificate] {
        guard let peer else { return try forwardedChain(header: header) }
        let (presented, sessionLeaf) = (peer.presented, peer.sessionLeaf)
        if let presented {
            let encodings = try presented.map { try $0.toDERBytes() }
            let chain = try encodings.map(parsed.certificate(der:))
            presentedChains.remember(chain, leafDER: encodings[0])
            return chain
        }
        // A resumed TLS session skips verification, so no chain was kept for it; the session still
        // holds the client's certificate, and the chain it first came with was remembered.
        guard let sessionLeaf else { return [] }
        let leafDER = try sessionLeaf.toDERBytes()
        return try presentedChains.chain(leafDER: leafDER) ?? [parsed.certificate(der: leafDER)]
    }

    private func forwardedChain(header: (String) -> String?) throws -> [Certificate] {
        guard trustForwardedHeaders else { return [] }
        if let envoy = header("x-forwarded-client-cert") {
            let chain = try Self.envoyChain(envoy)
            if !chain.isEmpty { return chain }
        }
        for name in ["ssl-client-cert", "x-amzn-mtls-clientcert"] {
            if let value = header(name), let pem = value.removingPercentEncoding {
                let chain = try Self.certificates(pem, header: name)
                if !chain.isEmpty { return chain }
            }
        }
        return []
    }

    /// Envoy's `x-forwarded-client-cert`: elements split by `,`, each `key=value` pairs split by
    /// `;`, the PEM (URL-encoded, quoted) under `Cert` and `Chain`. Only the last element counts:
    /// a proxy appending (Envoy's APPEND_FORWARD, Lamassu's gateway) adds the client it verified
    /// after whatever the client sent, so earlier elements may be forged.
    static func envoyChain(_ header: String) throws -> [Certificate] {
        guard let element = quoteAwareSplit(header[...], at: ",").last else { return [] }
        var leaf: [Certificate] = []
        var chain: [Certificate] = []
        for pair in quoteAwareSplit(element, at: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
            guard key == "cert" || key == "chain" else { continue }
            let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            let certificates = try certificates(value.removingPercentEncoding ?? value, header: "x-forwarded-client-cert")
            if key == "cert" { leaf += certificates } else { chain += certificates }
        }
        // Chain holds the leaf too; keep it once, first.
        let rest = chain.filter { !leaf.contains($0) }
        return leaf.isEmpty ? chain : leaf + rest
    }

    /// `text` split at `separator` outside double quotes (a quoted `Subject="CN=a,O=b"` stays whole).
    static func quoteAwareSplit(_ text: Substring, at separator: Character) -> [Substring] {
        var parts: [Substring] = []
        var start = text.startIndex
        var quoted = false
        var escaped = false
        for index in text.indices {
            let character = text[index]
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = quoted
            } else if character == "\"" {
                quoted.toggle()
            } else if character == separator, !quoted {
                parts.append(text[start..<index])
                start = text.index(after: index)
            }
        }
        parts.append(text[start...])
        return parts
    }

    static func certificates(_ pem: String, header: String) throws -> [Certificate] {
        do {
            return try PEMText.certificates(inPEM: pem)
        } catch {
            throw SheduError.badRequest("the \(header) header does not hold PEM certificates")
        }
    }
}
