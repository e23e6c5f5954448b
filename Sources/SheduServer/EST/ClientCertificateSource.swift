import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOSSL
import SheduCore
import SheduPKI
import X509

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
        guard let channel = context.channel else { return try forwardedChain(request) }
        let presented: NIOSSL.ValidatedCertificateChain?
        let sessionLeaf: NIOSSLCertificate?
        do {
            (presented, sessionLeaf) = try await channel.eventLoop.submit {
                let operations = channel.pipeline.syncOperations
                return (try operations.nioSSL_peerValidatedCertificateChain(), try operations.nioSSL_peerCertificate())
            }.get()
        } catch {
            // No TLS handler on this connection: the plain-HTTP listener.
            return try forwardedChain(request)
        }
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

    private func forwardedChain(_ request: Request) throws -> [Certificate] {
        guard trustForwardedHeaders else { return [] }
        if let envoy = request.headers[HTTPField.Name("x-forwarded-client-cert")!] {
            let chain = try Self.envoyChain(envoy)
            if !chain.isEmpty { return chain }
        }
        for name in ["ssl-client-cert", "x-amzn-mtls-clientcert"] {
            if let value = request.headers[HTTPField.Name(name)!], let pem = value.removingPercentEncoding {
                let chain = try Self.certificates(pem, header: name)
                if !chain.isEmpty { return chain }
            }
        }
        return []
    }

    /// Envoy's `x-forwarded-client-cert`: `key=value` pairs split by `;`, the PEM (URL-encoded,
    /// quoted) under `Cert` and `Chain`.
    static func envoyChain(_ header: String) throws -> [Certificate] {
        var leaf: [Certificate] = []
        var chain: [Certificate] = []
        for element in header.split(separator: ",") {
            for pair in element.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let key = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
                guard key == "cert" || key == "chain" else { continue }
                let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
                let certificates = try certificates(value.removingPercentEncoding ?? value, header: "x-forwarded-client-cert")
                if key == "cert" { leaf += certificates } else { chain += certificates }
            }
        }
        // Chain holds the leaf too; keep it once, first.
        let rest = chain.filter { !leaf.contains($0) }
        return leaf.isEmpty ? chain : leaf + rest
    }

    static func certificates(_ pem: String, header: String) throws -> [Certificate] {
        do {
            return try PEMText.certificates(inPEM: pem)
        } catch {
            throw SheduError.badRequest("the \(header) header does not hold PEM certificates")
        }
    }
}
