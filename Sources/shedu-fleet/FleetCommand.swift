import ArgumentParser
import Foundation
import NIOCore
import NIOSSL
import Synchronization
import SheduPKI
import SwiftASN1
import X509

/// A fleet of simulated devices enrolling over EST against a running Shedu (bench/est.sh runs it).
///
/// It plays a factory: it makes its own bootstrap CA, imports it into Shedu without its key,
/// creates a DMS that trusts it, and gives every device a bootstrap certificate. Then three
/// rounds, each timed: provisioning stations enrolling devices over kept-alive mTLS connections;
/// devices enrolling each on a new TLS connection with their own bootstrap certificate; and those
/// devices renewing with the identity they got.
@main
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shedu-fleet", abstract: "Simulate a fleet of devices enrolling over EST and measure it.")

    @Option(help: "Base URL of the server.") var url = "https://localhost:8443"
    @Option(help: "The CA certificate clients trust for the server (its data folder's tls/ca.pem).") var caFile: String
    @Option(help: "An admin bearer token (shedu token create).") var token: String
    @Option(help: "Devices enrolled by stations over kept-alive connections.") var stationDevices = 20_000
    @Option(help: "Provisioning stations (concurrent kept-alive connections).") var stations = 64
    @Option(help: "Devices enrolling each on a new TLS connection, then renewing.") var devices = 2_000
    @Option(help: "Devices enrolling at the same time in the new-connection rounds.") var concurrency = 64
    @Option(help: "The enrollment CA (an ACTIVE CA of the server).") var enrollmentCA = "issuing-ca-01"
    @Option(
        help: """
            The key exchange devices offer: x25519 (as the TLS stacks of microcontrollers and the openssl s_time \
            reference do) or x25519-mlkem768 (post-quantum hybrid, BoringSSL's default, which Shedu accepts when offered).
            """)
    var keyExchange: KeyExchange = .x25519

    func run() async throws {
        let factory = try Factory()
        let server = try Server(url: url)
        let dmsID = "fleet-\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try await connect(server, identity: nil)
        try await prepareServer(admin: admin, factory: factory, dmsID: dmsID)
        await admin.close()
        print("fleet: \(stationDevices) devices through \(stations) stations, then \(devices) devices on their own connections; key exchange \(keyExchange.rawValue)")

        if stationDevices > 0 {
            // Round 1: stations, each with one bootstrap identity and a kept-alive connection.
            let stationIdentities = try (0..<stations).map { try factory.bootstrap("station-\($0)") }
            let stationCSRs = try (0..<stationDevices).map { try csr(commonName: "station-device-\($0)", key: try SigningKey.generate(.p256)) }
            let stationRound = try await measure(count: stationDevices, workers: stations) { worker in
                let connection = try await connect(server, identity: stationIdentities[worker])
                return ({ await connection.close() }, { index in
                    _ = try await enroll(connection, dmsID: dmsID, csr: stationCSRs[index], path: "simpleenroll")
                })
            }
            report("enroll, kept-alive mTLS connections (\(stations) stations)", stationRound)
        }
        guard devices > 0 else { return }

        // Round 2: every device with its own bootstrap certificate, a new TLS handshake each.
        let deviceKeys = try (0..<devices).map { _ in try SigningKey.generate(.p256) }
        let bootstraps = try (0..<devices).map { try factory.bootstrap("device-\($0)") }
        let deviceCSRs = try (0..<devices).map { try csr(commonName: "device-\($0)", key: deviceKeys[$0]) }
        let issued = IssuedCertificates(count: devices)
        let enrollRound = try await measure(count: devices, workers: concurrency) { _ in
            (nil, { index in
                let connection = try await connect(server, identity: bootstraps[index])
                defer { Task { await connection.close() } }
                issued.set(index, try await enroll(connection, dmsID: dmsID, csr: deviceCSRs[index], path: "simpleenroll"))
            })
        }
        report("enroll, a new mTLS connection each (\(concurrency) at a time)", enrollRound)

        // Round 3: the same devices renew with the identity they were given.
        let renewalCSRs = try (0..<devices).map { try csr(commonName: "device-\($0)", key: deviceKeys[$0]) }
        let renewRound = try await measure(count: devices, workers: concurrency) { _ in
            (nil, { index in
                let identity = Identity(certificate: try issued.get(index), key: deviceKeys[index])
                let connection = try await connect(server, identity: identity)
                defer { Task { await connection.close() } }
                _ = try await enroll(connection, dmsID: dmsID, csr: renewalCSRs[index], path: "simplereenroll")
            })
        }
        report("re-enroll, a new mTLS connection each (\(concurrency) at a time)", renewRound)
    }

    // MARK: Set-up

    /// Imports the factory's CA (without its key) and makes a DMS that trusts it for enrollment,
    /// and the enrollment CA for renewals.
    func prepareServer(admin: LeanHTTPSConnection, factory: Factory, dmsID fleetID: String) async throws {
        let rootPEM = Data(PEMText.pem(derCertificate: factory.root.derBytes).utf8).base64EncodedString()
        try await api(admin, "/api/ca/v1/cas/import", #"{"id":"\#(fleetID)-factory","ca":"\#(rootPEM)"}"#)
        try await api(
            admin, "/api/dmsmanager/v1/dms",
            """
            {"id":"\(fleetID)","settings":{"enrollment_settings":{"enrollment_ca":"\(enrollmentCA)","registration_mode":"JITP",
              "est_rfc7030_settings":{"auth_mode":"CLIENT_CERTIFICATE","client_certificate_settings":{"validation_cas":["\(fleetID)-factory"]}}},
              "reenrollment_settings":{"reenrollment_delta":"100y","est_rfc7030_settings":{"auth_mode":"CLIENT_CERTIFICATE",
                "client_certificate_settings":{"validation_cas":["\(enrollmentCA)"]}}}}}
            """)
    }

    func api(_ connection: LeanHTTPSConnection, _ path: String, _ body: String) async throws {
        let response = try await connection.post(
            path, contentType: "application/json", body: body, headers: [("Authorization", "Bearer \(token)")])
        guard response.status == 201 else { throw FleetError("POST \(path): \(response.status) \(String(buffer: response.body))") }
    }

    // MARK: EST

    /// One enrollment. A device of the new-connection rounds closes its connection itself after
    /// the answer (as AsyncHTTPClient did for the simulator before), without `Connection: close`.
    func enroll(_ connection: LeanHTTPSConnection, dmsID: String, csr: String, path: String) async throws -> Certificate {
        let response = try await connection.post("/.well-known/est/\(dmsID)/\(path)", contentType: "application/pkcs10", body: csr)
        let body = String(buffer: response.body)
        guard response.status == 200, let der = Data(base64Encoded: body, options: .ignoreUnknownCharacters),
            let certificate = try CMSCertificatesOnly.certificates(fromDER: Array(der)).first
        else { throw FleetError("\(path): \(response.status) \(body.prefix(300))") }
        return certificate
    }

    func csr(commonName: String, key: SigningKey) throws -> String {
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName(commonName) }, privateKey: key.certificateKey,
            attributes: .init(), signatureAlgorithm: key.spec.certificateSignatureAlgorithm)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return Data(serializer.serializedBytes).base64EncodedString()
    }

    /// A new TLS connection to the server, presenting `identity` when there is one.
    func connect(_ server: Server, identity: Identity?) async throws -> LeanHTTPSConnection {
        var tls = TLSConfiguration.makeClientConfiguration()
        // Read once: every device of the new-connection rounds makes its own context, and the
        // simulator shares the cores with the server it measures.
        tls.trustRoots = .certificates(try Self.serverCAs(caFile))
        tls.curves = keyExchange.curves
        if let identity {
            tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: identity.certificate.derBytes, format: .der))]
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: identity.key.pkcs8DERRepresentation, format: .der))
        }
        return try await LeanHTTPSConnection.connect(to: server.address, host: server.host, context: try NIOSSLContext(configuration: tls))
    }

    private static let trustedServerCAs = Mutex<(path: String, certificates: [NIOSSLCertificate])?>(nil)

    /// The server's CA certificates from `path`, read the first time only.
    static func serverCAs(_ path: String) throws -> [NIOSSLCertificate] {
        try trustedServerCAs.withLock { loaded in
            if let loaded, loaded.path == path { return loaded.certificates }
            let certificates = try NIOSSLCertificate.fromPEMFile(path)
            loaded = (path, certificates)
            return certificates
        }
    }

    // MARK: Measuring

    struct Round {
        var seconds: Double
        var latencies: [Double]
        var failures: Int
        var firstFailure: String?
        /// The simulator's own CPU time in the round: on a shared machine, what the server did not get.
        var simulatorCPUSeconds: Double
    }

    /// User and system CPU time of this process so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Runs `count` operations on `workers` concurrent workers; each worker makes its own operation
    /// (and what ends the worker, if anything).
    func measure(
        count: Int, workers: Int,
        _ makeWorker: @escaping @Sendable (Int) async throws -> ((@Sendable () async -> Void)?, @Sendable (Int) async throws -> Void)
    ) async throws -> Round {
        let start = ContinuousClock.now
        let cpuStart = Self.processCPUSeconds()
        let results = try await withThrowingTaskGroup(of: ([Double], Int, String?).self) { group in
            for worker in 0..<workers {
                group.addTask {
                    let (finish, operation) = try await makeWorker(worker)
                    var latencies: [Double] = []
                    var failures = 0
                    var firstFailure: String?
                    for index in stride(from: worker, to: count, by: workers) {
                        let begin = ContinuousClock.now
                        do {
                            try await operation(index)
                            latencies.append((ContinuousClock.now - begin).seconds)
                        } catch {
                            failures += 1
                            if firstFailure == nil { firstFailure = "\(error)" }
                        }
                    }
                    await finish?()
                    return (latencies, failures, firstFailure)
                }
            }
            return try await group.reduce(into: [([Double], Int, String?)]()) { $0.append($1) }
        }
        return Round(
            seconds: (ContinuousClock.now - start).seconds, latencies: results.flatMap(\.0).sorted(),
            failures: results.map(\.1).reduce(0, +), firstFailure: results.compactMap(\.2).first,
            simulatorCPUSeconds: Self.processCPUSeconds() - cpuStart)
    }

    func report(_ title: String, _ round: Round) {
        func percentile(_ p: Double) -> String {
            guard !round.latencies.isEmpty else { return "-" }
            let value = round.latencies[min(round.latencies.count - 1, Int(Double(round.latencies.count) * p))]
            return String(format: "%.1f ms", value * 1000)
        }
        let rate = Double(round.latencies.count) / round.seconds
        let simulatorCPU = round.simulatorCPUSeconds * 1e6 / Double(max(1, round.latencies.count + round.failures))
        print(String(format: "  %@: %.0f/s (%d in %.1f s), p50 %@, p90 %@, p99 %@, failures %d; simulator CPU %.0f us each", title, rate, round.latencies.count, round.seconds, percentile(0.5), percentile(0.9), percentile(0.99), round.failures, simulatorCPU))
        if let first = round.firstFailure { print("    first failure: \(first)") }
    }
}

enum KeyExchange: String, ExpressibleByArgument, Sendable {
    case x25519
    case x25519MLKEM768 = "x25519-mlkem768"

    var curves: [NIOTLSCurve] {
        switch self {
        case .x25519: [.x25519, .secp256r1]
        case .x25519MLKEM768: [.x25519_MLKEM768, .x25519, .secp256r1]
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension KeySpec {
    static let p256 = try! KeySpec(algorithm: .ecdsa, bits: 256)
}

struct FleetError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct Identity: Sendable {
    var certificate: Certificate
    var key: SigningKey
}

/// The factory's bootstrap CA, outside Shedu.
struct Factory: Sendable {
    let key: SigningKey
    let root: Certificate

    init() throws {
        key = try SigningKey.generate(.p256)
        root = try CertificateBuilder.issue(
            .init(name: try DistinguishedName { CommonName("Fleet Simulator Factory CA") }, publicKey: key.publicKey),
            policy: IssuancePolicy(notAfter: Date().addingTimeInterval(86_400 * 365), signAsCA: true), issuer: nil,
            selfSigningKey: key, now: Date())
    }

    func bootstrap(_ name: String) throws -> Identity {
        let deviceKey = try SigningKey.generate(.p256)
        let certificate = try CertificateBuilder.issue(
            .init(name: try DistinguishedName { CommonName(name) }, publicKey: deviceKey.publicKey),
            policy: IssuancePolicy(notAfter: Date().addingTimeInterval(86_400 * 30), extendedKeyUsages: [.clientAuth]),
            issuer: Issuer(certificate: root, key: key, crlURL: nil, ocspURL: nil), now: Date())
        return Identity(certificate: certificate, key: deviceKey)
    }
}

/// The certificates issued in one round, for the next.
final class IssuedCertificates: @unchecked Sendable {
    private var certificates: [Certificate?]
    private let lock = NSLock()

    init(count: Int) { certificates = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ certificate: Certificate) { lock.withLock { certificates[index] = certificate } }

    func get(_ index: Int) throws -> Certificate {
        guard let certificate = lock.withLock({ certificates[index] }) else { throw FleetError("device \(index) was not enrolled") }
        return certificate
    }
}

/// The server's name (for its certificate) and address, resolved once rather than per device.
struct Server: Sendable {
    let host: String
    let address: SocketAddress

    init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "https", let host = components.host else {
            throw FleetError("--url must be https://host[:port], not '\(url)'")
        }
        self.host = host
        address = try SocketAddress.makeAddressResolvingHost(host, port: components.port ?? 443)
    }
}
