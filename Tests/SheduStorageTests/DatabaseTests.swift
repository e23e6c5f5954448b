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

    /// A filter by subject key id (64 random hex characters) looks up the index of their first
    /// 16, on both stores, and still compares the whole id.
    @Test(arguments: TestBackend.available)
    func subjectKeyIDFiltersUseThePrefixIndex(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        let compiler = ListQueryCompiler(
            dialect: database.dialect,
            table: ResourceTable(from: "certificates t", primaryKey: "t.serial_number", columns: SQLCAStore.certificateColumns))
        let key = String(repeating: "ab", count: 32), twin = String(repeating: "ab", count: 8) + String(repeating: "cd", count: 24)
        for text in ["subject_key_id[eq]\(key)", "subject_key_id[in]\(key),\(twin)"] {
            let condition = try #require(try compiler.filterCondition([try Filter(parsing: text, fields: CertificateRecord.fields)]))
            let explain: SQLQueryString = database.dialect == .sqlite ? "EXPLAIN QUERY PLAN" : "EXPLAIN"
            let plan = try await database.read { db in
                try await db.raw("\(explain) SELECT t.serial_number FROM certificates t WHERE \(condition)").all().map { row in
                    try row.decode(column: database.dialect == .sqlite ? "detail" : "QUERY PLAN", as: String.self)
                }
            }
            // PostgreSQL scans a table this small whatever its indexes: only SQLite's plan is asked.
            if database.dialect == .sqlite {
                #expect(plan.contains { $0.contains("certificates_subject_key_id_prefix") }, "\(text): \(plan)")
            }
            #expect(String(describing: condition).contains("t.subject_key_id"), "the whole id is compared too")
        }
        await database.close()
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
            try await db.raw("INSERT INTO items (id, label) VALUES (-1, 'taken')").run()
        }
        // 400 writers at once: every tenth inserts and then fails, and must leave nothing behind;
        // every 25th reuses an id taken before and fails on the unique key (an id another writer
        // of the group takes would go to whichever ran first).
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<400 {
                group.addTask {
                    do {
                        try await database.write { db in
                            let id = index % 25 == 24 ? -1 : index
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
        #expect(Set(stored) == expected.union([-1]))
        await database.close()
        await scratch.drop()
    }

    /// The writer runs a group's other jobs again when one fails; a batch job among them must
    /// write and answer the same items, not lose them (their callers waited forever).
    @Test(.timeLimit(.minutes(1)), arguments: TestBackend.available)
    func batchedItemsAreAnsweredWhenTheirGroupIsRunAgain(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        try await database.write { db in
            try await db.raw("CREATE TABLE items (id INTEGER PRIMARY KEY)").run()
        }
        let batcher = WriteBatcher<Int>(database: database) { items, db in
            for item in items { try await db.raw("INSERT INTO items (id) VALUES (\(bind: item))").run() }
            return items.map { _ in .success(()) }
        }
        for round in 0..<20 {
            // The writer is busy, so the batch's job and then a failing job queue up as one group.
            let busy = Task { try await database.write { db in try await db.raw("SELECT 1").run(); try await Task.sleep(for: .milliseconds(20)) } }
            try await Task.sleep(for: .milliseconds(5))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for item in 0..<8 { group.addTask { try await batcher.submit(round * 100 + item) } }
                try await Task.sleep(for: .milliseconds(3))
                group.addTask { _ = try? await database.write { _ in throw SheduError.conflict("refused on purpose") } }
                try await group.waitForAll()
            }
            try await busy.value
        }
        let stored = try await database.read { db in try await db.raw("SELECT COUNT(*) AS n FROM items").first()?.decode(column: "n", as: Int.self) }
        #expect(stored == 160)
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

    @Test(arguments: TestBackend.available)
    func renderedStatementsStoreEveryKindOfValue(_ backend: TestBackend) async throws {
        let scratch = try await ScratchDatabase.make(backend)
        let database = try await scratch.open()
        let dialect = database.dialect
        let rows: [(id: String, count: Int64?, bytes: Data, flag: Bool, document: String)] = [
            ("a", 7, Data([0, 1, 255]), true, #"{"k":"v"}"#), ("b", nil, Data(), false, "[1,2]"),
            ("c", -3, Data([42]), true, #"{"nested":{"x":null}}"#),
        ]
        try await database.write { db in
            try await db.raw(
                """
                CREATE TABLE rendered (id TEXT PRIMARY KEY, count BIGINT, bytes \(unsafeRaw: dialect.blobType) NOT NULL,
                    flag \(unsafeRaw: dialect.booleanType) NOT NULL, document \(unsafeRaw: dialect.jsonType) NOT NULL, absent TEXT)
                """
            ).run()
            // Rows rendered apart and joined: each piece's binds follow its text (PostgreSQL numbers them $1, $2, ...).
            let statement = RenderedSQL.joined(
                rows.map { .row([.bind($0.id), .bind($0.count), .bind($0.bytes), .bind($0.flag), .json($0.document), .null], dialect: dialect) },
                separator: ", ", prefix: "INSERT INTO rendered (id, count, bytes, flag, document, absent) VALUES ",
                suffix: " RETURNING id")
            #expect(try await statement.all(on: db).count == 3)
            var update = RenderedSQL("UPDATE rendered SET ")
            update.append(.assignments([("count", .bind(Int64(8))), ("document", .json("{}"))], dialect: dialect))
            update.append(" WHERE id = ")
            update.append(.bind("a"), dialect: dialect)
            try await update.run(on: db)
        }
        let stored = try await database.read { db in
            try await db.raw(
                "SELECT id, count, bytes, flag, \(unsafeRaw: dialect.jsonText("document")) AS document, absent FROM rendered ORDER BY id"
            ).all()
        }
        #expect(try stored.map { try $0.decode(column: "id", as: String.self) } == ["a", "b", "c"])
        #expect(try stored.map { try $0.decode(column: "count", as: Int64?.self) } == [8, nil, -3])
        #expect(try stored.map { try $0.decode(column: "bytes", as: Data.self) } == rows.map(\.bytes))
        #expect(try stored.map { try $0.decode(column: "flag", as: Bool.self) } == [true, false, true])
        // Compared as JSON: PostgreSQL's JSONB gives back its own spelling of a document.
        func json(_ text: String) throws -> JSONValue { try DomainJSON.decode(JSONValue.self, from: text) }
        let documents = try stored.map { try json($0.decode(column: "document", as: String.self)) }
        #expect(documents == [try json("{}"), try json(rows[1].document), try json(rows[2].document)])
        #expect(try stored.allSatisfy { try $0.decode(column: "absent", as: String?.self) == nil })
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
