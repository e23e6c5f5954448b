import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SheduPKI
import SheduTestSupport
import Synchronization
import Testing
import X509

@testable import SheduCore
@testable import SheduServer
@testable import SheduStorage

/// Rules checked on a read made before the write are checked again by the write itself: a
/// change committed in between is not overwritten or stepped round.
@Suite("Conflicting changes: rules hold inside the writing transaction")
struct ConflictingChangesTests {
    /// Two CAs made at once with one KMS key: one is made, the others are told the key is taken
    /// (two CAs on one key would share one CRL address, and one's revocations were on no CRL).
    @Test(arguments: TestBackend.available)
    func caCreationsAtOnceWithOneKeyMakeOneCA(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
            let services = SheduServices(database: database, masterKey: .init(size: .bits256), clock: ManualClock(), publicURL: "https://localhost")
            for round in 0..<3 {
                let key = try await services.kms.create(try DomainJSON.decode(KMSService.CreateRequest.self, from: #"{"algorithm":"ECDSA","size":256,"name":"shared"}"#))
                let outcomes = await withTaskGroup(of: String?.self) { group in
                    for index in 0..<4 {
                        group.addTask {
                            let request = #"{"id":"ca-\#(round)-\#(index)","subject":{"common_name":"CA \#(index)"},"key_metadata":{"key_id":"\#(key.id)"},"ca_expiration":{"type":"Duration","duration":"1y"}}"#
                            do {
                                _ = try await services.ca.createCA(try DomainJSON.decode(CreateCARequest.self, from: request))
                                return nil
                            } catch let error as SheduError {
                                return "\(error.kind) \(error.message)"
                            } catch {
                                return "\(error)"
                            }
                        }
                    }
                    return await group.reduce(into: [String?]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 == nil }.count == 1, "round \(round): \(outcomes)")
                for refusal in outcomes.compactMap({ $0 }) {
                    #expect(refusal.hasPrefix("conflict key '\(key.id)' is already the key of CA 'ca-\(round)-"), "\(refusal)")
                }
            }
        }
    }

    /// A certificate for a KMS key (`POST /certificates` with key_identifier) is refused by its
    /// own write when a CA took that key after the service's check: a CA's key certifies that CA
    /// only. The write did not look.
    @Test(arguments: TestBackend.available)
    func aKeyACATookMeanwhileIsNotCertifiedForALeaf(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
            let services = SheduServices(database: database, masterKey: .init(size: .bits256), clock: ManualClock(), publicURL: "https://localhost")
            _ = try await services.ca.createCA(
                try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"root","subject":{"common_name":"root"},"ca_expiration":{"type":"Duration","duration":"2y"}}"#))
            let leafKey = try await services.kms.create(try DomainJSON.decode(KMSService.CreateRequest.self, from: #"{"algorithm":"ECDSA","size":256,"name":"leaf"}"#))
            var leaf = try await services.ca.createCertificate(
                try DomainJSON.decode(CreateCertificateRequest.self, from: #"{"ca_id":"root","subject":{"common_name":"leaf"},"key_spec":{"key_identifier":"\#(leafKey.id)"},"issuance_profile":{"validity":{"type":"Duration","duration":"30d"}}}"#))
            #expect(leaf.keyID == leafKey.id)
            // The key becomes a CA's between the check and the write.
            let caKey = try await services.kms.create(try DomainJSON.decode(KMSService.CreateRequest.self, from: #"{"algorithm":"ECDSA","size":256,"name":"ca"}"#))
            _ = try await services.ca.createCA(
                try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"holder","subject":{"common_name":"holder"},"key_metadata":{"key_id":"\#(caKey.id)"},"ca_expiration":{"type":"Duration","duration":"1y"}}"#))
            leaf.keyID = caKey.id
            do {
                try await SQLCAStore(database: database).insertCertificate(leaf, newKey: nil, requireActiveCA: "root", events: [])
                Issue.record("a CA's key was certified for a leaf")
            } catch let error as SheduError {
                #expect(error.message == "key_spec.key_identifier: key '\(caKey.id)' is the key of CA 'holder', which certifies that CA only")
            }
        }
    }

    /// A device deleted while an identity is bound to it: the delete is decided on the device as
    /// it finds it, so either the bind wins (the delete is refused, 409) or the delete does
    /// (the bind finds no device). It was both: a deleted device, its certificate ACTIVE.
    @Test(arguments: TestBackend.available)
    func aDeviceIsNotDeletedWhileAnIdentityIsBoundToIt(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client, services in
            let world = try await DeviceWorld.make(client: client, token: token)
            for round in 0..<12 {
                let id = "race-\(round)"
                try await world.register(id)
                let serial = try await world.issue(for: id)
                async let bound = world.bind(id, serial)
                async let deleted = client.send(.delete, "/api/devmanager/v1/devices/\(id)", token: token)
                let (bind, delete) = try await (bound, deleted)
                let device = try await client.send(.get, "/api/devmanager/v1/devices/\(id)", token: token)
                if delete.status == .noContent {
                    #expect(bind.status == .notFound, "round \(round): deleted, yet bound: \(bind.text)")
                    #expect(device.status == .notFound)
                } else {
                    #expect(delete.status == .conflict, "round \(round): \(delete.text)")
                    #expect(bind.status == .ok, "round \(round): \(bind.text)")
                    #expect(try device.json()["status"] == "ACTIVE")
                }
            }

            // Decided again when the device changed between the read and the delete.
            try await world.register("changed")
            let serial = try await world.issue(for: "changed")
            let store = SQLDeviceStore(database: services.database, certificates: SQLCAStore(database: services.database))
            let decisions = Counter()
            await #expect(throws: SheduError.self) {
                _ = try await store.delete(id: "changed") { device in
                    if decisions.next() == 0 {
                        #expect(try await world.bind("changed", serial).status == .ok)
                    }
                    guard !device.status.hasLiveIdentity else { throw SheduError.conflict("device is \(device.status)") }
                    return []
                }
            }
            #expect(decisions.count == 2)
            #expect(try await world.status(of: "changed") == "ACTIVE")
        }
        await app.cleanup()
    }

    /// A certificate revoked after the binding read it ACTIVE is not bound: the binding's
    /// transaction reads it again. It was bound, and the device's good identity revoked
    /// (Superseded) in exchange for a compromised one.
    @Test(arguments: TestBackend.available)
    func aCertificateRevokedAfterItWasReadIsNotBound(_ backend: TestBackend) async throws {
        let app = try await TestApp.make(backend)
        let token = try await app.token(.admin)
        try await app.withRouter { client, services in
            let world = try await DeviceWorld.make(client: client, token: token)
            try await world.register("d")
            let good = try await world.issue(for: "d")
            #expect(try await world.bind("d", good).status == .ok)
            let compromised = try await world.issue(for: "d")
            let asRead = try await services.ca.certificate(serialNumber: compromised)
            let revoke = try await client.send(
                .put, "/api/ca/v1/certificates/\(compromised)/status", token: token,
                json: #"{"status":"REVOKED","revocation_reason":"KeyCompromise"}"#)
            #expect(revoke.status == .ok, "\(revoke.text)")

            let plan = try services.devices.binding(
                deviceID: "d", certificate: asRead, dms: try await services.dms.dms(id: "manufacturing-dms"), kind: .provisioning,
                supersede: .superseded)
            do {
                _ = try await services.devices.store.update(id: "d", now: plan.now, plan.change)
                Issue.record("a revoked certificate was bound")
            } catch let error as SheduError {
                #expect(error.kind == .conflict)
                #expect(error.message == "certificate \(compromised) is REVOKED and cannot become an identity")
            }
            let device = try await world.device("d")
            #expect(device["status"] == "ACTIVE")
            #expect(device["identity_slot"]?["active_version"] == 0)
            #expect(device["identity_slot"]?["versions"]?["0"]?.stringValue == good)
            #expect(try await services.ca.certificate(serialNumber: good).status == .active)
        }
        await app.cleanup()
    }

    /// An enrollment whose DMS was deleted after it was read: 404 naming the DMS, not a 500 from
    /// the database's foreign key.
    @Test(arguments: TestBackend.available)
    func anEnrollmentIntoADMSDeletedMeanwhileIsNotFound(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
            let services = SheduServices(database: database, masterKey: .init(size: .bits256), clock: ManualClock(), publicURL: "https://localhost")
            let device = try services.devices.newDevice(id: "new", dmsID: "deleted-dms", tags: [], metadata: [:], icon: "", iconColor: "")
            do {
                _ = try await services.devices.store.write(
                    id: "new", now: Date(), newCertificate: nil, createIfMissing: (device, [])
                ) { _ in DeviceChange() }
                Issue.record("a device of a missing DMS was written")
            } catch let error as SheduError {
                #expect(error.kind == .notFound)
                #expect(error.message == "DMS 'deleted-dms' not found")
            }
            #expect((try? await services.devices.device(id: "new")) == nil)
        }
    }
}

/// Two replicas on one PostgreSQL: their writes take turns, as one server's do, so a change made
/// through one is never written over by the other's copy read before it.
@Suite("Replicas on one PostgreSQL")
struct ReplicaWriteTests {
    @Test(arguments: TestBackend.available.filter { $0 == .postgres })
    func aRevocationAndMetadataMadeThroughTwoReplicasAreAllKept(_ backend: TestBackend) async throws {
        try await Self.withTwoReplicas(backend) { replicas in
            let serial = try await Self.rootAndSub(on: replicas[0]).sub.certificate.serialNumber
            // Metadata added through both replicas while the first revokes the sub-CA.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let patch = try MetadataUpdate(body: Data(#"{"k\#(index)":\#(index)}"#.utf8), isPatch: true)
                        _ = try await replicas[index % 2].ca.updateCertificateMetadata(serialNumber: serial, patch)
                    }
                    if index == 20 {
                        group.addTask {
                            _ = try await replicas[0].ca.updateCAStatus(id: "sub", StatusChange(status: .revoked, revocationReason: .keyCompromise))
                        }
                    }
                }
                try await group.waitForAll()
            }
            for replica in replicas {
                let certificate = try await replica.ca.certificate(serialNumber: serial)
                #expect(certificate.status == .revoked, "a revocation was written over")
                #expect(certificate.revocationReason == .keyCompromise)
                #expect(certificate.metadata.keys.filter { $0.hasPrefix("k") }.count == 40, "updates were lost: \(certificate.metadata.keys.sorted())")
            }
        }
    }
}

extension ReplicaWriteTests {
    /// A revocation made through one replica reaches another's kept CRL and CA state once its
    /// watcher has passed (every 250 ms in a server): the second kept serving its stale CRL.
    @Test(arguments: TestBackend.available.filter { $0 == .postgres })
    func aRevocationThroughOneReplicaReachesTheOthersCRL(_ backend: TestBackend) async throws {
        try await Self.withTwoReplicas(backend) { replicas in
            let watcher = ReplicaChangeWatcher(services: replicas[1])
            let (root, sub) = try await Self.rootAndSub(on: replicas[0])
            let rootSKI = root.certificate.info.subjectKeyID
            #expect(try await watcher.pass(), "the first pass drops what was kept before it")
            #expect(try await watcher.pass() == false)
            let before = try await replicas[1].va.crl(caSKI: rootSKI)
            #expect(try !CertificateRevocationList(derEncoded: before.der).lists(sub.certificate.serialNumber))
            #expect(try await replicas[1].ca.ca(id: "sub").certificate.status == .active)

            _ = try await replicas[0].ca.updateCAStatus(id: "sub", StatusChange(status: .revoked, revocationReason: .keyCompromise))
            #expect(try await watcher.pass())
            let after = try await replicas[1].va.crl(caSKI: rootSKI)
            #expect(try CertificateRevocationList(derEncoded: after.der).lists(sub.certificate.serialNumber), "a stale CRL")
            #expect(try await watcher.pass() == false, "nothing changed since")

            // New CRL options through the first replica: the second signs with them. Its signing
            // (a CRL number taken) counts as no change, or the two would sign for each other forever.
            _ = try await replicas[0].va.updateRole(caSKI: rootSKI, CRLOptionsUpdate(refreshInterval: .seconds(600), validity: .seconds(7200)))
            #expect(try await watcher.pass())
            let resigned = try await replicas[1].va.crl(caSKI: rootSKI)
            #expect(resigned.summary.nextUpdate.timeIntervalSince(resigned.summary.thisUpdate) == 7200)
            #expect(try await watcher.pass() == false, "a CRL signed is no change")
            // The second replica's own changes are not heard again: it dropped what they touched.
            _ = try await replicas[1].va.updateRole(caSKI: rootSKI, CRLOptionsUpdate(validity: .seconds(7260)))
            #expect(try await watcher.pass() == false)
        }
    }

    /// A client that asks each server in turn never sees a CA's CRL number go back: once its
    /// watcher has passed, a server serves the newer CRL another one signed, as stored. It served
    /// its own older one until its refresh time (7 days by default).
    @Test(arguments: TestBackend.available.filter { $0 == .postgres })
    func aNewerCRLSignedByAnotherReplicaReplacesTheKeptOne(_ backend: TestBackend) async throws {
        try await Self.withTwoReplicas(backend) { replicas in
            let watcher = ReplicaChangeWatcher(services: replicas[0])
            let (root, sub) = try await Self.rootAndSub(on: replicas[0])
            let rootSKI = root.certificate.info.subjectKeyID
            try await watcher.pass()
            let kept = try await replicas[0].va.crl(caSKI: rootSKI)
            let newer = try await replicas[1].va.crl(caSKI: rootSKI)
            #expect(newer.summary.number > kept.summary.number)
            #expect(try await replicas[0].va.crl(caSKI: rootSKI).summary.number == kept.summary.number, "before the pass")

            #expect(try await watcher.pass() == false, "a CRL signed is no change to drop caches for")
            let served = try await replicas[0].va.crl(caSKI: rootSKI)
            #expect(served.summary.number == newer.summary.number, "a CRL number went back")
            let sameBytes = served.der == newer.der
            #expect(sameBytes, "taken as stored, not signed again")
            #expect(replicas[0].va.cachedCRL(caSKI: rootSKI)?.summary.number == newer.summary.number, "the fast path serves it too")

            // A revocation made through the first server is still owed: its next CRL lists it.
            _ = try await replicas[0].ca.updateCAStatus(id: "sub", StatusChange(status: .revoked, revocationReason: .keyCompromise))
            let after = try await replicas[0].va.crl(caSKI: rootSKI)
            #expect(after.summary.number > newer.summary.number)
            #expect(try CertificateRevocationList(derEncoded: after.der).lists(sub.certificate.serialNumber))
        }
    }

    /// A singleton job (the monitors, the CRL refresh) runs on one server of those sharing the
    /// database: the other skips its passes while the first holds the lease, and takes the job
    /// over at once when the first stops. Every server ran every pass.
    @Test(arguments: TestBackend.available.filter { $0 == .postgres })
    func aSingletonJobRunsOnOneServerAtATime(_ backend: TestBackend) async throws {
        try await Self.withTwoReplicas(backend) { replicas in
            let passes = [Counter(), Counter()]
            @Sendable func job(_ index: Int) -> PeriodicJob {
                PeriodicJob(
                    name: "test job", interval: .milliseconds(50), logger: Logger(label: "test"),
                    // A lease far longer than a pass, however loaded the machine: the job
                    // changes hands because its holder releases it.
                    leases: SQLJobLeases(database: replicas[index].database), leaseDuration: .seconds(60)
                ) {
                    _ = passes[index].next()
                    return 0
                }
            }
            func awaitPasses(_ counter: Counter, atLeast count: Int) async throws {
                let deadline = ContinuousClock.now + .seconds(10)
                while counter.count < count {
                    guard ContinuousClock.now < deadline else { throw TestFailure("the job did not run \(count) passes") }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let first = Task { try await job(0).run() }
            try await awaitPasses(passes[0], atLeast: 3)
            let second = Task { try await job(1).run() }
            try await Task.sleep(for: .milliseconds(600))
            #expect(passes[1].count == 0, "both servers ran the job")

            first.cancel()
            _ = await first.result
            let stoppedAt = passes[0].count
            try await awaitPasses(passes[1], atLeast: 3)
            #expect(passes[0].count == stoppedAt)
            second.cancel()
            _ = await second.result
        }
    }

    /// A lease that ran out (its server died) is taken by the next server that asks; until then
    /// only its holder renews it.
    @Test(arguments: TestBackend.available.filter { $0 == .postgres })
    func aJobLeaseThatRanOutIsTakenOver(_ backend: TestBackend) async throws {
        try await Self.withTwoReplicas(backend) { replicas in
            let first = SQLJobLeases(database: replicas[0].database), second = SQLJobLeases(database: replicas[1].database)
            #expect(try await first.hold("job", for: .seconds(60)))
            #expect(try await second.hold("job", for: .seconds(60)) == false)
            #expect(try await first.hold("job", for: TimeDuration(milliseconds: 200)), "its holder renews it")
            #expect(try await second.hold("other job", for: .seconds(60)), "each job has a lease of its own")
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await second.hold("job", for: .seconds(60)))
            #expect(try await first.hold("job", for: .seconds(60)) == false)
            try await second.release("job")
            #expect(try await first.hold("job", for: .seconds(60)), "a released lease is taken at once")
        }
    }

    /// A root CA "root" and its subordinate "sub".
    static func rootAndSub(on services: SheduServices) async throws -> (root: CertificateAuthority, sub: CertificateAuthority) {
        let root = try await services.ca.createCA(
            try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"root","subject":{"common_name":"root"},"ca_expiration":{"type":"Duration","duration":"2y"}}"#))
        let sub = try await services.ca.createCA(
            try DomainJSON.decode(CreateCARequest.self, from: #"{"id":"sub","parent_id":"root","subject":{"common_name":"sub"},"ca_expiration":{"type":"Duration","duration":"1y"}}"#))
        return (root, sub)
    }

    /// Two servers' services on one scratch PostgreSQL database, each with its own connections.
    static func withTwoReplicas(_ backend: TestBackend, _ body: ([SheduServices]) async throws -> Void) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let first = try await scratch.open(), second = try await scratch.open()
        let masterKey = SymmetricKey(size: .bits256)
        let replicas = [first, second].map {
            SheduServices(database: $0, masterKey: masterKey, clock: ManualClock(), publicURL: "https://localhost")
        }
        do {
            try await body(replicas)
        } catch {
            Issue.record(error)
        }
        await first.close()
        await second.close()
        await scratch.drop()
    }
}

/// Counts calls from concurrent code.
private final class Counter: Sendable {
    private let value = Mutex(0)

    var count: Int { value.withLock { $0 } }

    /// The count before this call.
    func next() -> Int {
        value.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}
