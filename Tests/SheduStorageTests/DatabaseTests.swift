import Foundation
import SQLKit
import SheduTestSupport
import Synchronization
import Testing

@testable import SheduCore
@testable import SheduStorage

@Suite("Database: migrations and the group-committing writer")
struct DatabaseTests {
    @Test(arguments: TestBackend.available)
    func migrationsRunOnceAndReopenReusesTheSchema(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let first = try await scratch.open()
        try await SQLIssuanceProfileStore(database: first).insert(
            IssuanceProfile(id: "p1", name: "one", validity: .duration(.days(1))))
        await first.close()

        let second = try await scratch.open()
        let versions = try await second.read { db in
            try await db.raw("SELECT version FROM shedu_schema_migrations ORDER BY version").all().map {
                try $0.decode(column: "version", as: Int.self)
            }
        }
        #expect(versions == Migration.all.map(\.version))
        #expect(try await SQLIssuanceProfileStore(database: second).profile(id: "p1")?.name == "one")
        await second.close()
        await scratch.drop()
    }

    /// Shutdown paths may close twice (a failed service group, then its graceful shutdown): the
    /// later calls return once the first has closed, at the same time or after, and writes
    /// committed before stay.
    @Test(.timeLimit(.minutes(1)), arguments: TestBackend.available)
    func closingTwiceReturns(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        try await SQLIssuanceProfileStore(database: database).insert(
            IssuanceProfile(id: "kept", name: "kept", validity: .duration(.days(1))))
        async let first: Void = database.close()
        async let second: Void = database.close()
        _ = await (first, second)
        await database.close()
        let reopened = try await scratch.open()
        #expect(try await SQLIssuanceProfileStore(database: reopened).profile(id: "kept")?.name == "kept")
        await reopened.close()
        await scratch.drop()
    }

    @Test(arguments: TestBackend.available)
    func refusesASchemaFromANewerBuild(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        try await database.write { db in
            try await db.raw("INSERT INTO shedu_schema_migrations VALUES (9999, 'future', 0)").run()
        }
        await database.close()
        let error = await #expect(throws: SheduError.self) { try await scratch.open() }
        #expect(error?.message.contains("newer than this build") == true)
        await scratch.drop()
    }

    @Test(arguments: TestBackend.available)
    func concurrentWritesAreAllCommittedAndAFailureStaysAlone(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        try await database.write { db in
            try await db.raw("CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)").run()
        }
        // 400 writers at once: every tenth inserts and then fails, and must leave nothing behind;
        // every 25th reuses an id and fails on the unique key.
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<400 {
                group.addTask {
                    do {
                        try await database.write { db in
                            let id = index % 25 == 24 ? 0 : index
                            try await db.raw("INSERT INTO items (id, label) VALUES (\(bind: id), \(bind: "item \(index)"))").run()
                            if index % 10 == 3 { throw SheduError.conflict("refused on purpose") }
                        }
                        return (index, true)
                    } catch {
                        return (index, false)
                    }
                }
            }
            var results: [Int: Bool] = [:]
            for await (index, succeeded) in group { results[index] = succeeded }
            return results
        }
        let expected = Set((0..<400).filter { $0 % 10 != 3 && $0 % 25 != 24 })
        #expect(Set(outcomes.filter(\.value).keys) == expected)
        let stored = try await database.read { db in
            try await db.raw("SELECT id FROM items").all().map { try $0.decode(column: "id", as: Int.self) }
        }
        #expect(Set(stored) == expected)
        await database.close()
        await scratch.drop()
    }

    @Test(arguments: TestBackend.available)
    func aWriteReadsItsOwnChangesAndCommitsAtomically(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        try await database.write { db in
            try await db.raw("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)").run()
            try await db.raw("INSERT INTO counters VALUES ('hits', 0)").run()
        }
        // Read-modify-write from many tasks: writes are serialized, so no increment is lost.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    try await database.write { db in
                        let value = try await db.raw("SELECT value FROM counters WHERE name = 'hits'").first()!
                            .decode(column: "value", as: Int.self)
                        try await db.raw("UPDATE counters SET value = \(bind: value + 1) WHERE name = 'hits'").run()
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = try await database.read { db in
            try await db.raw("SELECT value FROM counters").first()!.decode(column: "value", as: Int.self)
        }
        #expect(total == 200)
        await database.close()
        await scratch.drop()
    }

    @Test("a new SQLite database gets small pages; an existing one keeps its own, and its rows")
    func sqlitePageSizeIsChosenAtCreationOnly() async throws {
        func pageSize(_ database: SheduDatabase) async throws -> Int? {
            try await database.read { db in try await db.raw("PRAGMA page_size").first()?.decode(column: "page_size", as: Int.self) }
        }
        let fresh = try await ScratchDatabase.make(.sqlite)
        let created = try await fresh.open()
        #expect(try await pageSize(created) == SheduDatabase.sqlitePageSize)
        await created.close()
        await fresh.drop()

        let older = try await ScratchDatabase.make(.sqlite)
        let path = String(older.url.dropFirst("sqlite://".count))
        let connection = try SQLiteConnectionHandle(path: path)
        for statement in ["PRAGMA page_size=4096", "PRAGMA journal_mode=WAL", "CREATE TABLE kept (v TEXT)", "INSERT INTO kept VALUES ('x')"] {
            try connection.run(statement)
        }
        connection.close()
        let reopened = try await older.open()
        #expect(try await pageSize(reopened) == 4096)
        let kept = try await reopened.read { db in try await db.raw("SELECT v FROM kept").first()?.decode(column: "v", as: String.self) }
        #expect(kept == "x")
        await reopened.close()
        await older.drop()
    }

    @Test func closedDatabaseRefusesWrites() async throws {
        let scratch = try await ScratchDatabase.make(.sqlite)
        let database = try await scratch.open()
        await database.close()
        await #expect(throws: (any Error).self) { try await database.write { _ in 1 } }
        await scratch.drop()
    }

    @Test func unreachablePostgresIsAOneLineError() async throws {
        let error = await #expect(throws: SheduError.self) {
            try await SheduDatabase.open(
                try DatabaseLocation(url: "postgres://shedu:secret@127.0.0.1:1/shedu"), logger: .init(label: "test"))
        }
        #expect(error?.kind == .unavailable)
        #expect(error?.message.contains("cannot connect to PostgreSQL at postgres://shedu:***@127.0.0.1:1/shedu") == true)
        #expect(error?.message.contains("secret") == false)
    }

    @Test(arguments: ["mysql://x", "sqlite://", "shedu.sqlite"])
    func refusesUnknownDatabaseURLs(_ url: String) {
        #expect(throws: SheduError.self) { try DatabaseLocation(url: url) }
    }
}

@Suite("Issuance profile store")
struct ProfileStoreTests {
    @Test(arguments: TestBackend.available)
    func crudAndConflicts(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        let store = SQLIssuanceProfileStore(database: database)
        var profile = IssuanceProfile(
            id: "device-profile", name: "Devices", validity: .duration(.days(364)), keyUsage: [.digitalSignature],
            extendedKeyUsages: [.clientAuth])
        try await store.insert(profile)
        let duplicate = await #expect(throws: SheduError.self) { try await store.insert(profile) }
        #expect(duplicate?.kind == .conflict)
        #expect(try await store.profile(id: "device-profile") == profile)

        profile.name = "Renamed"
        profile.validity = .time(Date(timeIntervalSince1970: 1_900_000_000))
        #expect(try await store.update(profile))
        #expect(try await store.profile(id: "device-profile") == profile)
        var missing = profile
        missing.id = "missing"
        #expect(try await !store.update(missing))

        for index in 0..<30 {
            try await store.insert(IssuanceProfile(id: "p\(index)", name: "bulk", validity: .duration(.days(1))))
        }
        let filter = try Filter(parsing: "name[eq]bulk", fields: IssuanceProfile.fields)
        let page = try await store.list(ListQuery(filters: [filter], sort: .field("id"), pageSize: 20))
        #expect(page.items.count == 20)
        #expect(page.next != nil)

        #expect(try await store.delete(id: "device-profile"))
        #expect(try await !store.delete(id: "device-profile"))
        #expect(try await store.profile(id: "device-profile") == nil)
        await database.close()
        await scratch.drop()
    }
}
