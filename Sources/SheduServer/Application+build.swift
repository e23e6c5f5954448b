import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import SheduCore
import SheduPKI
import X509
import SheduStorage
import ServiceLifecycle

/// Builds the whole server from its configuration: data folder, database, services, routes,
/// listeners. `shedu serve` runs what this returns; tests call the same function.
public func buildApplication(
    configuration: ServerConfiguration, logger: Logger, clock: any WallClock = SystemClock()
) async throws -> some ApplicationProtocol {
    try await buildServer(configuration: configuration, logger: logger, clock: clock).application
}

/// ``buildApplication(configuration:logger:clock:)`` with the services it wired, for tests that
/// drive a background job themselves.
func buildServer(
    configuration: ServerConfiguration, logger: Logger, clock: any WallClock
) async throws -> (application: some ApplicationProtocol, services: SheduServices) {
    // An embedded database is one server's: refused before this one writes anything.
    let location = try DatabaseLocation(url: configuration.resolvedDatabaseURL)
    let lock = try SQLiteServerLock.acquire(for: location)
    if case .sqlite(let path) = location {
        // The database holds webhook credentials and sealed keys: the server's alone, also when
        // an earlier version wrote it 0644.
        for suffix in ["", "-wal", "-shm"] { chmod(path + suffix, 0o600) }
    }
    let dataFolder = DataFolder(path: configuration.dataDirectory)
    let database: SheduDatabase
    do {
        try dataFolder.prepare(serverNames: DataFolder.serverNames(host: configuration.host))
        database = try await SheduDatabase.open(location, logger: logger)
    } catch {
        lock?.release()
        throw error
    }
    database.hold(lock)
    let services = SheduServices(
        database: database, masterKey: try dataFolder.readMasterKey(), clock: clock,
        publicURL: configuration.resolvedPublicURL,
        systemCertificates: try PEMText.certificates(inPEM: try dataFolder.read(dataFolder.caCertificate)),
        apiClientCAIDs: configuration.apiClientCAs)
    do {
        try await services.kms.checkMasterKeyOpensStoredKeys(masterKeyPath: dataFolder.masterKey.path)
    } catch {
        await database.close()
        throw error
    }

    // A mistyped id would leave client certificates authenticating nothing, without a word.
    for id in configuration.apiClientCAs where (try? await services.ca.ca(id: id)) == nil {
        logger.warning(
            "--api-client-ca names CA '\(id)', which does not exist: its certificates authenticate nobody until an admin creates it",
            metadata: ["ca.id": "\(id)"])
    }

    let oidc = configuration.oidc.map {
        OIDCKeySource(configuration: $0, httpClient: HTTPClient.shared, logger: logger)
    }
    let signingKey = try P256PublicKeyPEM.fromPrivateKeyPEM(try dataFolder.read(dataFolder.tokenSigningKey))
    let authenticator = try await TokenAuthenticator(
        localPublicKeyPEM: signingKey, rolesClaim: configuration.rolesClaim, oidc: oidc, clock: clock)

    // HEAD on every GET route (RFC 9110 §9.3.2): monitors and CDNs check a CRL's URL, size and
    // date with it.
    let router = Router(context: SheduRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: MetricsMiddleware())
    let certificateSource = ClientCertificateSource(trustForwardedHeaders: configuration.trustForwardedClientCertificate)
    router.add(
        middleware: AuthenticationMiddleware(
            authenticator: authenticator,
            clientCertificates: APIClientCertificates(ca: services.ca, clock: clock),
            certificateSource: certificateSource))
    let rateLimits = RateLimits(
        publicRoutes: configuration.publicRateLimit.map(RateLimiter.init), clients: configuration.clientRateLimit.map(RateLimiter.init))
    router.add(middleware: RateLimitMiddleware(limits: rateLimits))
    router.add(middleware: ErrorMiddleware())
    let api = APIRouter(router: router)
    registerRoutes(on: api, services: services, configuration: configuration, certificateSource: certificateSource)
    let responder = router.buildResponder()
    var fastPath = fastPathRoutes(services: services, configuration: configuration, certificateSource: certificateSource)
    fastPath.publicLimiter = rateLimits.publicRoutes
    fastPath.authentication = .init(tokens: authenticator, clientLimiter: rateLimits.clients)
    fastPath.logger = logger
    let counters = FastPathCounters(routes: fastPath)
    let timeouts = ConnectionTimeouts(configuration)

    let monitorInterval = Duration.milliseconds(configuration.monitorInterval.milliseconds)
    let leases = SQLJobLeases(database: database)
    var backgroundServices: [any Service] = [
        DatabaseService(database: database),
        PeriodicJob(name: "certificate expiry", interval: monitorInterval, logger: logger, leases: leases) {
            try await services.ca.expire()
        },
        PeriodicJob(name: "device windows", interval: monitorInterval, logger: logger, leases: leases) {
            try await services.devices.advanceWindows()
        },
        PeriodicJob(name: "CRL refresh", interval: .seconds(60), logger: logger, leases: leases) { try await services.va.refreshCRLs() },
    ]
    if database.dialect == .postgres {
        let watcher = ReplicaChangeWatcher(services: services)
        // Quiet: a pass that dropped the caches changed nothing stored.
        backgroundServices.append(
            PeriodicJob(name: "replica changes", interval: ReplicaChangeWatcher.interval, logger: logger) {
                try await watcher.probe(recordingIn: services.health, logger: logger)
                return 0
            })
    }
    if let httpPort = configuration.httpPort {
        backgroundServices.append(
            Application(
                responder: responder, server: .http(fastPath: fastPath, counters: counters, timeouts: timeouts),
                configuration: .init(address: .hostname(configuration.host, port: httpPort), serverName: "shedu"),
                logger: logger))
    }
    let application = Application(
        responder: responder,
        server: try .https(
            certificateChainPEM: try dataFolder.read(dataFolder.serverCertificate),
            privateKeyPEM: try dataFolder.read(dataFolder.serverKey), fastPath: fastPath, counters: counters,
            timeouts: timeouts),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "shedu"),
        services: backgroundServices,
        logger: logger)
    return (application, services)
}

/// Every route of the server, in one place.
func registerRoutes(
    on api: APIRouter, services: SheduServices, configuration: ServerConfiguration,
    certificateSource: ClientCertificateSource = ClientCertificateSource(trustForwardedHeaders: false)
) {
    SystemRoutes.register(on: api, registry: MetricsRegistry.shared, health: services.health)
    ProfileRoutes(service: services.profiles).register(on: api)
    KMSRoutes(kms: services.kms, ca: services.ca).register(on: api)
    CARoutes(ca: services.ca).register(on: api)
    DMSRoutes(dms: services.dms, devices: services.devices).register(on: api)
    DeviceRoutes(devices: services.devices, groups: services.deviceGroups).register(on: api)
    ESTRoutes(est: services.est, certificates: certificateSource, defaultDMS: configuration.estDefaultDMS).register(on: api)
    VARoutes(va: services.va).register(on: api)
    SystemRoutes.registerOpenAPI(on: api)
}

/// Routes answered before the router (see ``FastPathRoutes``); each also exists as a routed
/// route, which answers when the fast path declines.
func fastPathRoutes(
    services: SheduServices, configuration: ServerConfiguration, certificateSource: ClientCertificateSource
) -> FastPathRoutes {
    var routes = FastPathRoutes()
    SystemRoutes.registerFastPath(on: &routes, health: services.health)
    VARoutes.registerFastPath(on: &routes, va: services.va)
    CARoutes.registerFastPath(on: &routes, ca: services.ca)
    // The router's certificate source: its caches serve both (a resumed TLS session's chain).
    ESTRoutes(est: services.est, certificates: certificateSource, defaultDMS: configuration.estDefaultDMS)
        .registerFastPath(on: &routes)
    return routes
}

/// The domain services, wired to their stores.
struct SheduServices: Sendable {
    let database: SheduDatabase
    let profiles: IssuanceProfileService
    let kms: KMSService
    let ca: CAService
    let dms: DMSService
    let devices: DeviceService
    let deviceGroups: DeviceGroupService
    let est: ESTService
    let va: VAService
    /// What `/health` answers.
    let health: DatabaseHealth

    init(
        database: SheduDatabase, masterKey: SymmetricKey, clock: any WallClock, publicURL: String,
        systemCertificates: [Certificate] = [], apiClientCAIDs: [String] = [],
        http: any OutboundHTTP = OutboundHTTPClient(client: .shared)
    ) {
        self.database = database
        health = DatabaseHealth(probed: database.dialect == .postgres)
        profiles = IssuanceProfileService(store: SQLIssuanceProfileStore(database: database))
        kms = KMSService(
            store: SQLKMSStore(database: database), engines: [SoftwareKeyEngine(masterKey: masterKey)], clock: clock)
        let caStore = SQLCAStore(database: database)
        ca = CAService(
            store: caStore, profiles: profiles, kms: kms, clock: clock, publicURL: publicURL, apiClientCAIDs: apiClientCAIDs)
        let dmsStore = SQLDMSStore(database: database)
        dms = DMSService(store: dmsStore, ca: ca, profiles: profiles, clock: clock)
        devices = DeviceService(
            store: SQLDeviceStore(database: database, certificates: caStore), dmsStore: dmsStore, ca: ca, clock: clock)
        deviceGroups = DeviceGroupService(store: SQLDeviceGroupStore(database: database), devices: devices, clock: clock)
        est = ESTService(
            dms: dms, devices: devices, ca: ca, http: http, clock: clock, systemCertificates: systemCertificates,
            publicURL: publicURL)
        let va = VAService(store: SQLVAStore(database: database), ca: ca, clock: clock)
        self.va = va
        // Weak: the feed is the CA store's, which the VA holds through the CA service.
        caStore.statusChanges.subscribe { [weak va] change in va?.certificateStatusesChanged(change) }
    }
}

/// Keeps the database open while the server runs and closes it last on shutdown, after
/// in-flight requests have finished.
struct DatabaseService: Service {
    let database: SheduDatabase

    func run() async throws {
        try? await gracefulShutdown()
        await database.close()
    }
}
