import Foundation
import SheduPKI
import Synchronization
import X509

/// The KMS of API.md §3: keys made, imported and used to sign by their engine, never shown.
public final class KMSService: Sendable {
    private let store: any KMSStore
    private let engines: [String: any KeyEngine]
    public let defaultEngineID: String
    private let clock: any WallClock
    /// Unsealed keys by id, so signing does not unseal and parse a key each time.
    private let signingKeys = Mutex<[String: SigningKey]>([:])
    private static let signingKeyCacheLimit = 10_000

    public init(store: any KMSStore, engines: [any KeyEngine], clock: any WallClock) {
        self.store = store
        self.engines = Dictionary(engines.map { ($0.info.id, $0) }, uniquingKeysWith: { first, _ in first })
        defaultEngineID = engines.first(where: \.info.isDefault)?.info.id ?? engines[0].info.id
        self.clock = clock
    }

    public var engineInfos: [KeyEngineInfo] {
        engines.values.map(\.info).sorted { $0.id < $1.id }
    }

    func engine(_ id: String?) throws -> any KeyEngine {
        let id = (id?.isEmpty ?? true) ? defaultEngineID : id!
        guard let engine = engines[id] else {
            throw SheduError.badRequest("engine_id '\(id)' is not one of: \(engines.keys.sorted().joined(separator: ", "))")
        }
        return engine
    }

    // MARK: Requests

    public struct CreateRequest: Sendable, Decodable {
        public var algorithm: String
        public var size: Int?
        public var name: String?
        public var engineID: String?
        public var tags: [String]?
        public var metadata: [String: JSONValue]?

        enum CodingKeys: String, CodingKey {
            case algorithm, size, name, engineID = "engine_id", tags, metadata
        }
    }

    public struct ImportRequest: Sendable, Decodable {
        /// Base64 of a PEM private key (PKCS#8, PKCS#1 or SEC1); raw PEM is accepted too.
        public var privateKey: String
        public var name: String?
        public var engineID: String?
        public var tags: [String]?
        public var metadata: [String: JSONValue]?

        enum CodingKeys: String, CodingKey {
            case privateKey = "private_key", name, engineID = "engine_id", tags, metadata
        }
    }

    // MARK: Keys

    /// A new key, not stored yet: for callers that store it in their own transaction (a CA).
    public func prepareKey(spec: KeySpec, name: String, engineID: String? = nil) throws -> StoredKey {
        let engine = try engine(engineID)
        let made = try engine.generate(spec)
        return StoredKey(key: makeKey(made, name: name, engine: engine), material: made.material)
    }

    /// An imported key, not stored yet.
    public func prepareImport(pem: String, name: String, engineID: String? = nil) throws -> StoredKey {
        let engine = try engine(engineID)
        let signingKey: SigningKey
        do {
            signingKey = try SigningKey(pemEncoded: pem)
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
        let made = try engine.adopt(signingKey)
        return StoredKey(key: makeKey(made, name: name, engine: engine), material: made.material)
    }

    private func makeKey(_ made: EngineKey, name: String, engine: any KeyEngine) -> KMSKey {
        KMSKey(
            id: made.keyID, name: name, engineID: engine.info.id, hasPrivateKey: true, algorithm: made.spec.algorithm,
            size: made.spec.bits, publicKeyPEM: (try? made.publicKey.serializeAsPEM().pemString) ?? "",
            creationDate: clock.now())
    }

    public func create(_ request: CreateRequest) async throws -> KMSKey {
        guard let algorithm = KeyAlgorithm(name: request.algorithm) else {
            throw SheduError.badRequest("algorithm '\(request.algorithm)' is not one of \(KeyAlgorithm.allNames)")
        }
        if request.size == nil, algorithm != .ed25519 {
            throw SheduError.badRequest(
                "size is required for \(algorithm.rawValue) keys: one of \(algorithm.supportedSizes.map(String.init).joined(separator: ", "))")
        }
        let spec: KeySpec
        do {
            spec = try KeySpec(algorithm: algorithm, bits: request.size ?? 256)
        } catch let error as PKIError {
            throw SheduError.badRequest("size: \(error.description)")
        }
        // Required, as in Lamassu: a key is found again by its name.
        guard let name = request.name else { throw SheduError.badRequest("name is required") }
        try Self.checkName(name)
        var stored = try prepareKey(spec: spec, name: name, engineID: request.engineID)
        stored.key.tags = request.tags ?? []
        stored.key.metadata = request.metadata ?? [:]
        try await store.insert(stored, events: [try event("kms.create", stored.key)])
        return stored.key
    }

    /// A key's name, when given, says something: one of spaces only is refused as empty.
    static func checkName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw SheduError.badRequest("name must not be empty") }
    }

    public func importKey(_ request: ImportRequest) async throws -> KMSKey {
        let pem: String
        if request.privateKey.contains("-----BEGIN") {
            pem = request.privateKey
        } else if let data = Data(base64Encoded: request.privateKey.filter { !$0.isWhitespace }) {
            pem = String(decoding: data, as: UTF8.self)
        } else {
            throw SheduError.badRequest("private_key must be base64 of a PEM private key")
        }
        // Optional here: an imported key is also found by its id, which its key determines.
        if let name = request.name { try Self.checkName(name) }
        var stored = try prepareImport(pem: pem, name: request.name ?? "", engineID: request.engineID)
        stored.key.tags = request.tags ?? []
        stored.key.metadata = request.metadata ?? [:]
        try await store.insert(stored, events: [try event("kms.import", stored.key)])
        return stored.key
    }

    /// A key by id, alias or `pkcs11:` URI.
    public func key(_ identifier: String) async throws -> KMSKey {
        try await storedKey(identifier).key
    }

    func storedKey(_ identifier: String) async throws -> StoredKey {
        var id = identifier
        if identifier.hasPrefix("pkcs11:") {
            let attributes = Dictionary(
                identifier.dropFirst("pkcs11:".count).split(separator: ";").compactMap { pair -> (String, String)? in
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
                }, uniquingKeysWith: { _, last in last })
            guard let keyID = attributes["id"] else {
                throw SheduError.badRequest("the PKCS#11 URI '\(identifier)' names no id")
            }
            id = keyID
        }
        if let found = try await store.key(id: id) { return found }
        // Key ids are lowercase hex; a key id in capitals (as some tools print hex) names it too.
        if id.utf8.count == 64, id != id.lowercased(), Hex.decode(id) != nil, let found = try await store.key(id: id.lowercased()) {
            return found
        }
        if let found = try await store.key(alias: identifier) { return found }
        throw SheduError.notFound("key '\(identifier)' not found")
    }

    public func list(_ query: ListQuery) async throws -> Page<KMSKey> {
        try await store.list(query)
    }

    public func stats(filters: [Filter] = []) async throws -> KMSStats {
        try await store.stats(filters: filters)
    }

    public func rename(_ identifier: String, to name: String) async throws -> KMSKey {
        // As POST /keys requires one.
        try Self.checkName(name)
        return try await update(identifier, type: "kms.name.update") { $0.name = name }
    }

    public func setTags(_ identifier: String, _ tags: [String]) async throws -> KMSKey {
        try await update(identifier, type: "kms.tags.update") { $0.tags = tags }
    }

    /// 64 hex digits: the form of a key id (SHA-256 of the key's DER SubjectPublicKeyInfo).
    static func looksLikeKeyID(_ text: String) -> Bool {
        text.utf8.count == 64 && Hex.decode(text) != nil
    }

    /// Applies a JSON Patch to the alias list; aliases must be unique non-empty strings.
    public func updateAliases(_ identifier: String, patch: JSONPatch) async throws -> KMSKey {
        try await update(identifier, type: "kms.aliases.update") { key in
            let patched = try patch.apply(to: .array(key.aliases.map { .string($0) }))
            guard let values = patched.arrayValue, let aliases = Optional(values.compactMap(\.stringValue)),
                aliases.count == values.count, !aliases.contains(where: \.isEmpty)
            else {
                throw SheduError.badRequest("aliases must stay a list of non-empty strings")
            }
            guard Set(aliases).count == aliases.count else {
                throw SheduError.badRequest("aliases must not repeat")
            }
            for alias in aliases { try IndexedText.check(alias, field: "an alias") }
            // A lookup tries key ids and PKCS#11 URIs before aliases: such an alias would never be reached.
            if let shadowed = aliases.first(where: { Self.looksLikeKeyID($0) || $0.lowercased().hasPrefix("pkcs11:") }) {
                throw SheduError.badRequest("alias '\(shadowed)' is a key id or a pkcs11: URI, which a lookup reads as such")
            }
            key.aliases = aliases
        }
    }

    public func updateMetadata(_ identifier: String, _ update: MetadataUpdate) async throws -> KMSKey {
        try await self.update(identifier, type: "kms.metadata.update") { key in
            key.metadata = try update.apply(to: key.metadata)
        }
    }

    private func update(_ identifier: String, type: String, _ change: @escaping @Sendable (inout KMSKey) throws -> Void)
        async throws -> KMSKey
    {
        let id = try await storedKey(identifier).key.id
        let now = clock.now()
        let updated = try await store.update(id: id) { key in
            let previous = key
            try change(&key)
            return [
                try DomainEvent(type: type, service: "kms", subject: "kms/\(key.id)", time: now, previous: previous, updated: key)
            ]
        }
        guard let updated else { throw SheduError.notFound("key '\(identifier)' not found") }
        return updated
    }

    public func delete(_ identifier: String) async throws {
        let key = try await storedKey(identifier).key
        guard try await store.delete(id: key.id, events: [try event("kms.delete", key)]) else {
            throw SheduError.notFound("key '\(identifier)' not found")
        }
        forget(keyID: key.id)
    }

    // MARK: Signing

    /// The key ready to sign, unsealed once and kept.
    public func signingKey(keyID: String) async throws -> SigningKey {
        if let cached = signingKeys.withLock({ $0[keyID] }) { return cached }
        let stored = try await storedKey(keyID)
        guard stored.key.hasPrivateKey, let material = stored.material else {
            throw SheduError.conflict("key '\(keyID)' has no private key")
        }
        let signingKey = try engine(stored.key.engineID).signingKey(material: material, keyID: stored.key.id)
        signingKeys.withLock { cache in
            if cache.count >= Self.signingKeyCacheLimit { cache.removeAll() }
            cache[stored.key.id] = signingKey
        }
        return signingKey
    }

    /// Opens one stored private key, so that a server does not start with a master key that
    /// opens none of them: a lost `master.key` is made anew, and a replaced one opens nothing.
    /// Such a server would answer 500 for every CA and key it holds while it sealed new ones
    /// under the other key.
    public func checkMasterKeyOpensStoredKeys(masterKeyPath: String) async throws {
        let sealed = try Filter(parsing: "has_private_key[eq]true", fields: KMSKey.fields)
        guard let key = try await store.list(ListQuery(filters: [sealed], sort: .field("key_id"), pageSize: 1)).items.first else {
            return
        }
        do {
            _ = try await signingKey(keyID: key.id)
        } catch let error as SheduError where error.kind == .internal {
            throw SheduError.unavailable(
                "\(masterKeyPath) does not open the private keys stored in the database (key \(key.id) cannot be unsealed): restore the master.key this database was made with; Shedu will not start with another")
        }
    }

    /// The signing key of a key prepared but not stored yet.
    public func signingKeyOf(_ prepared: StoredKey) throws -> SigningKey {
        guard let material = prepared.material else { throw SheduError.conflict("key '\(prepared.key.id)' has no private key") }
        return try engine(prepared.key.engineID).signingKey(material: material, keyID: prepared.key.id)
    }

    /// Drops a key from the signing cache (the key was deleted or replaced).
    public func forget(keyID: String) {
        _ = signingKeys.withLock { $0.removeValue(forKey: keyID) }
    }

    public struct SignRequest: Sendable, Decodable {
        public var algorithm: String
        public var message: String
        public var messageType: String?
        public var signature: String?

        public init(algorithm: String, message: String, messageType: String?, signature: String?) {
            self.algorithm = algorithm
            self.message = message
            self.messageType = messageType
            self.signature = signature
        }

        enum CodingKeys: String, CodingKey {
            case algorithm, message, messageType = "message_type", signature
        }

        /// The scheme and the input to sign or verify, checked.
        func decoded() throws -> (SignatureScheme, SignedInput) {
            guard let scheme = SignatureScheme(name: algorithm) else {
                throw SheduError.badRequest("algorithm '\(algorithm)' is not one of \(SignatureScheme.allNames)")
            }
            guard let bytes = Data(base64Encoded: message) else {
                throw SheduError.badRequest("message must be base64")
            }
            switch (messageType ?? "raw").lowercased() {
            case "raw": return (scheme, .message(bytes))
            case "hash", "digest": return (scheme, .digest(bytes))
            default: throw SheduError.badRequest("message_type must be raw or hash")
            }
        }
    }

    /// - Parameter checkCA: run first with the id of the CA whose key this is, when it is one
    ///   (``CAService/requireAdminForAPICredentials(of:)`` for the KMS route).
    public func sign(
        _ identifier: String, _ request: SignRequest, checkCA: (@Sendable (String) async throws -> Void)? = nil
    ) async throws -> Data {
        let (scheme, input) = try request.decoded()
        let keyID = try await storedKey(identifier).key.id
        if let authority = try await store.authority(usingKey: keyID, at: clock.now()) {
            try await checkCA?(authority.caID)
            // A CA's key signs for it only while it is ACTIVE, as /cas/{id}/signature/sign does.
            guard authority.status == .active else {
                throw SheduError.conflict("key '\(keyID)' is the key of CA '\(authority.caID)', which is \(authority.status.rawValue) and cannot sign")
            }
        }
        let key = try await signingKey(keyID: keyID)
        do {
            return try key.sign(input, scheme: scheme)
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
    }

    public func verify(_ identifier: String, _ request: SignRequest) async throws -> Bool {
        let (scheme, input) = try request.decoded()
        guard let signatureText = request.signature, !signatureText.isEmpty else {
            throw SheduError.badRequest("signature is required: base64 of the signature to verify")
        }
        guard let signature = Data(base64Encoded: signatureText) else {
            throw SheduError.badRequest("signature must be base64")
        }
        let key = try await storedKey(identifier).key
        let publicKey: Certificate.PublicKey
        do {
            publicKey = try Certificate.PublicKey(pemEncoded: key.publicKeyPEM)
            return try publicKey.isValidSignature(signature, for: input, scheme: scheme)
        } catch let error as PKIError {
            throw SheduError.badRequest(error.description)
        }
    }

    private func event(_ type: String, _ key: KMSKey) throws -> DomainEvent {
        try DomainEvent(type: type, service: "kms", subject: "kms/\(key.id)", time: clock.now(), object: key)
    }
}
