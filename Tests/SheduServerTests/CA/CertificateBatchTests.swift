import Foundation
import SQLKit
@testable import SheduCore
import SheduTestSupport
import Testing

@testable import SheduServer
@testable import SheduStorage

@Suite("CA: certificates written in batches")
struct CertificateBatchTests {
    /// Concurrent issuances are written together; a serial number already taken (in the table,
    /// or twice in one batch) fails that certificate alone, and leaves no event of it.
    @Test(arguments: TestBackend.available)
    func aTakenSerialFailsAloneAndLeavesNoEvent(_ backend: TestBackend) async throws {
        try await ScratchDatabase.withDatabase(backend) { database in
            let services = SheduServices(
                database: database, masterKey: .init(size: .bits256), clock: SystemClock(), publicURL: "https://localhost")
            _ = try await services.profiles.create(IssuanceProfile(id: "p", validity: .duration(.days(30))))
            _ = try await services.ca.createCA(
                try DomainJSON.decode(
                    CreateCARequest.self,
                    from: #"{"id":"ca","subject":{"common_name":"ca"},"ca_expiration":{"type":"Duration","duration":"1y"},"profile_id":"p"}"#))
            let existing = try await services.ca.sign(
                caID: "ca", SignCertificateRequest(csr: try TestPKI.csr(commonName: "existing", key: try TestPKI.key("ECDSA", 256)), profileID: nil))

            func copy(of record: CertificateRecord, serial: String) -> CertificateRecord {
                var copy = record
                copy.info.serialNumber = serial
                return copy
            }
            let pending = try [
                copy(of: existing, serial: "0a01"), copy(of: existing, serial: existing.serialNumber),
                copy(of: existing, serial: "0a02"), copy(of: existing, serial: "0a02"),
            ].map { record in
                try SQLCAStore.PendingCertificate(
                    record, requireActiveCA: "ca", events: [services.ca.issuanceEvent(record, caID: "ca", at: Date())],
                    dialect: database.dialect)
            }
            let outcomes = try await database.write { db in try await SQLCAStore.insertBatch(pending, on: db, dialect: database.dialect) }
            let taken = outcomes.map { outcome -> Bool in
                if case .failure(let error) = outcome { return error is SerialNumberTaken }
                return false
            }
            #expect(taken == [false, true, false, true])
            let issuedEvents = try await database.read { db in
                try await db.raw("SELECT subject FROM events WHERE type = 'ca.sign.certificate'").all().map {
                    try $0.decode(column: "subject", as: String.self)
                }
            }
            #expect(issuedEvents.sorted() == ["certificate/0a01", "certificate/0a02", "certificate/\(existing.serialNumber)"].sorted())
            #expect(try await services.ca.certificate(serialNumber: "0a01").serialNumber == "0a01")
        }
    }
}
