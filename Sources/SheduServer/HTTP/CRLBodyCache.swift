import NIOCore
import SheduCore
import Synchronization

/// Each CA's current CRL as one `ByteBuffer`, made once per CRL number, so that serving a CRL
/// writes the same buffer to every connection instead of copying megabytes per download.
///
/// Keyed by the CRL's subject key identifier and number: a new CRL replaces its entry, so it
/// needs no invalidation of its own.
final class CRLBodyCache: Sendable {
    private let bodies = Mutex<[String: (number: UInt64, body: ByteBuffer)]>([:])

    func body(of crl: PublishedCRL, caSKI: String) -> ByteBuffer {
        bodies.withLock { bodies in
            if let kept = bodies[caSKI], kept.number == crl.summary.number { return kept.body }
            let body = ByteBuffer(bytes: crl.der)
            bodies[caSKI] = (crl.summary.number, body)
            return body
        }
    }
}
