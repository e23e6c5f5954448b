import Foundation
import SheduPKI
import Synchronization

/// The validation authority (API.md §6): OCSP answers and CRLs for Shedu's CAs, signed with the
/// issuing CA's own key.
///
/// Steady-state answers cost a lookup: OCSP responses without a nonce are pre-signed and kept
/// per certificate, CRLs are kept encoded. Both are dropped through one entry point,
/// ``certificateStatusesChanged(_:)``, which the stores call after each committed status change
/// (and which a replica's change notification could call the same way).
public final class VAService: Sendable {
    let store: any VAStore
    let ca: CAService
    let clock: any WallClock

    /// nextUpdate − thisUpdate of OCSP answers; pre-signed ones are signed again half-way.
    static let ocspValidity: TimeInterval = 3600
    /// More CertIDs than this in one request are refused (malformedRequest): each is a lookup.
    static let maximumCertIDs = 100

    let responses = OCSPResponseCache()
    let publications = CRLPublications()
    private let directoryState = Mutex<(directory: IssuerDirectory?, generation: UInt64)>((nil, 0))

    public init(store: any VAStore, ca: CAService, clock: any WallClock) {
        self.store = store
        self.ca = ca
        self.clock = clock
    }

    /// The one invalidation entry point of the VA's caches.
    public func certificateStatusesChanged(_ change: CertificateStatusChange) {
        switch change {
        case .certificates(let changed):
            responses.remove(serialNumbers: changed.map(\.serialNumber))
            publications.markChanged(caIDs: Set(changed.map(\.issuerCAID)))
        case .authorities, .authorityAdded:
            directoryState.withLock { state in
                state.directory = nil
                state.generation &+= 1
            }
            responses.removeAll()
            // A new CA's CRL is signed when first asked for; the others stay as they are.
            if change == .authorities { publications.markAllChanged() }
        }
    }

    /// The directory as loaded, without waiting (nil until the first request that needs it).
    var loadedDirectory: IssuerDirectory? { directoryState.withLock { $0.directory } }

    /// The CAs, loaded from the store when a CA changed since the last load.
    func directory() async throws -> IssuerDirectory {
        let (loaded, generation) = directoryState.withLock { ($0.directory, $0.generation) }
        if let loaded { return loaded }
        let directory = IssuerDirectory(try await store.authorities())
        directoryState.withLock { state in
            // A CA that changed during the load makes it stale: use it for this call only.
            if state.generation == generation { state.directory = directory }
        }
        return directory
    }

    /// The CA's key, unsealed and kept by the CA service.
    func signingKey(of authority: IssuerDirectory.Authority) async throws -> SigningKey {
        try await ca.issuerContext(authority.id).issuer.key
    }
}
