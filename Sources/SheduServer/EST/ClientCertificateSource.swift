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

    /// The chain, leaf first; empty when there is none.
    func chain(of request: Request, context: SheduRequestContext) async throws -> [Certificate] {
        guard let channel = context.channel else { return try forwardedChain(request) }
        let presented: NIOSSL.ValidatedCertificateChain?
        do {
            presented = try await channel.nioSSL_peerValidatedCertificateChain().get()
        } catch {
            // No TLS handler on this connection: the plain-HTTP listener.
            return try forwardedChain(request)
        }
        guard let presented else { return [] }
        return try presented.map { try parsed.certificate(der: try $0.toDERBytes()) }
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
