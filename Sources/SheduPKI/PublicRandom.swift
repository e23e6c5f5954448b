import Crypto
import Synchronization

/// Random bytes for values that are published (certificate serials, event and object ids),
/// drawn 4 KB at a time from a ChaCha20 keystream keyed by the system's CSPRNG: one `getrandom`
/// call per 256 ids, where a call per id showed up in every write's profile. Never for keys or
/// secrets, which swift-crypto generates: these bytes wait in process memory until handed out.
public enum PublicRandom {
    private struct Pool {
        static let size = 4096
        var bytes = [UInt8](repeating: 0, count: size)
        var next = size
    }

    private static let pool = Mutex(Pool())
    private static let zeroes = [UInt8](repeating: 0, count: Pool.size)
    /// Each key encrypts once, so a fixed nonce never repeats under one key.
    private static let zeroNonce = try! ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12))

    /// Fills `buffer` with random bytes.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count <= Pool.size, "PublicRandom hands out at most \(Pool.size) bytes at a time")
        pool.withLock { pool in
            if pool.next + buffer.count > Pool.size {
                // The ChaCha20 keystream under a fresh 256-bit key from the system's generator
                // (a DRBG as BoringSSL and Linux build theirs): the kernel's generator costs about
                // 40 ns a byte here, and a pool-sized read of it was 1% of an enrollment.
                let keystream = try! ChaChaPoly.seal(zeroes, using: SymmetricKey(size: .bits256), nonce: zeroNonce)
                pool.bytes.withUnsafeMutableBytes { $0.copyBytes(from: keystream.ciphertext) }
                pool.next = 0
            }
            let range = pool.next..<pool.next + buffer.count
            pool.bytes.withUnsafeMutableBytes { storage in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[range]))
                // Handed-out bytes are cleared: an id cannot be read back from the pool later.
                UnsafeMutableRawBufferPointer(rebasing: storage[range]).initializeMemory(as: UInt8.self, repeating: 0)
            }
            pool.next = range.upperBound
        }
    }
}
