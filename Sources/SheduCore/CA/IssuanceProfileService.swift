import Foundation

/// Issuance profile CRUD with the rules of API.md §2: ids given by the caller or generated,
/// 404 for a missing profile, 409 for a duplicate id.
public struct IssuanceProfileService: Sendable {
    let store: any IssuanceProfileStore

    public init(store: any IssuanceProfileStore) {
        self.store = store
    }

    public func create(_ profile: IssuanceProfile) async throws -> IssuanceProfile {
        var profile = profile
        if profile.id.isEmpty { profile.id = UUID().uuidString.lowercased() }
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
        guard try await store.update(profile) else { throw Self.notFound(id) }
        return profile
    }

    public func profile(id: String) async throws -> IssuanceProfile {
        guard let profile = try await store.profile(id: id) else { throw Self.notFound(id) }
        return profile
    }

    public func delete(id: String) async throws {
        guard try await store.delete(id: id) else { throw Self.notFound(id) }
    }

    public func list(_ query: ListQuery) async throws -> Page<IssuanceProfile> {
        try await store.list(query)
    }

    static func notFound(_ id: String) -> SheduError {
        .notFound("issuance profile '\(id)' not found")
    }

    static func validate(_ profile: IssuanceProfile) throws {
        guard profile.id.count <= 128, !profile.id.contains("/") else {
            throw SheduError.badRequest("id must be at most 128 characters and contain no '/'")
        }
        for size in profile.cryptoEnforcement.allowedRSAKeySizes where ![2048, 3072, 4096].contains(size) {
            throw SheduError.badRequest("crypto_enforcement.allowed_rsa_key_sizes: \(size) is not 2048, 3072 or 4096")
        }
        for size in profile.cryptoEnforcement.allowedECDSAKeySizes where ![256, 384, 521].contains(size) {
            throw SheduError.badRequest("crypto_enforcement.allowed_ecdsa_key_sizes: \(size) is not 256, 384 or 521")
        }
    }
}
