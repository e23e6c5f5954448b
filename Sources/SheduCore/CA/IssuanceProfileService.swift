import Foundation
import Synchronization

/// Issuance profile CRUD with the rules of API.md §2: ids given by the caller or generated,
/// 404 for a missing profile, 409 for a duplicate id.
public struct IssuanceProfileService: Sendable {
    let store: any IssuanceProfileStore
    /// Profiles as last read, for the signing path, which reads one per certificate. Changes made
    /// here drop an entry at once; an entry lives `cacheLifetime` at most, which bounds how long
    /// another replica's change can go unseen.
    private let cache = ProfileCache()
    static let cacheLifetime: TimeInterval = 5

    public init(store: any IssuanceProfileStore) {
        self.store = store
    }

    public func create(_ profile: IssuanceProfile) async throws -> IssuanceProfile {
        var profile = profile
        if profile.id.isEmpty { profile.id = RandomUUID.lowercased() }
        try Self.validate(profile)
        try await store.insert(profile)
        return profile
    }

    public func replace(id: String, with profile: IssuanceProfile) async throws -> IssuanceProfile {
        var profile = profile
        if !profile.id.isEmpty, profile.id != id {
            throw SheduError.badRequest("id '\(profile.id)' in the body differs from '\(id)' in the path")
        }
        profile.id = id
        try Self.validate(profile)
        cache.drop(id)
        guard try await store.update(profile) else { throw Self.notFound(id) }
        cache.drop(id)
        return profile
    }

    public func profile(id: String) async throws -> IssuanceProfile {
        if let cached = cache.profile(id) { return cached }
        let generation = cache.generation
        guard let profile = try await store.profile(id: id) else { throw Self.notFound(id) }
        cache.keep(profile, readAt: generation)
        return profile
    }

    public func delete(id: String) async throws {
        cache.drop(id)
        guard try await store.delete(id: id) else { throw Self.notFound(id) }
        cache.drop(id)
    }

    public func list(_ query: ListQuery) async throws -> Page<IssuanceProfile> {
        try await store.list(query)
    }

    static func notFound(_ id: String) -> SheduError {
        .notFound("issuance profile '\(id)' not found")
    }

    static func validate(_ profile: IssuanceProfile) throws {
        try ResourceID.check(profile.id, maximumLength: 128, spaces: .inside)
        try IndexedText.check(profile.name, field: "name")
        try profile.checkRules(field: "")
    }
}

/// The profiles ``IssuanceProfileService`` read last, each for a few seconds.
final class ProfileCache: Sendable {
    private struct Entry {
        var profile: IssuanceProfile
        var until: Date
    }

    private struct Entries {
        var byID: [String: Entry] = [:]
        /// Counts changes, so a read that raced with one is not kept.
        var generation = 0
    }

    private let entries = Mutex(Entries())

    var generation: Int { entries.withLock { $0.generation } }

    func profile(_ id: String) -> IssuanceProfile? {
        let now = Date()
        return entries.withLock { cached -> IssuanceProfile? in
            guard let entry = cached.byID[id], entry.until > now else { return nil }
            return entry.profile
        }
    }

    /// Keeps a profile read when the generation was `generation`, unless something changed since.
    func keep(_ profile: IssuanceProfile, readAt generation: Int) {
        let entry = Entry(profile: profile, until: Date().addingTimeInterval(IssuanceProfileService.cacheLifetime))
        entries.withLock { cached in
            guard cached.generation == generation else { return }
            if cached.byID.count > 10_000 { cached.byID.removeAll() }
            cached.byID[profile.id] = entry
        }
    }

    func drop(_ id: String) {
        entries.withLock { cached in
            cached.byID[id] = nil
            cached.generation += 1
        }
    }
}
