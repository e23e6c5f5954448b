import Foundation
import Logging
import NIOPosix
import SQLKit
import Testing

@testable import SheduCore
@testable import SheduStorage
import SheduTestSupport

@Suite("SQLite driver: values, kept statements, errors")
struct SQLiteDriverTests {
    /// A connection on a file of its own, through SQLKit as the stores use it.
    struct Scratch {
        let folder: URL
        let connection: SQLiteConnectionHandle
        let db: any SQLDatabase

        init() throws {
            folder = try makeTemporaryFolder()
            connection = try SQLiteConnectionHandle(path: folder.appendingPathComponent("test.sqlite").path)
            db = SQLiteDirectDatabase(
                connection: connection, logger: Logger(label: "test"), eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        }

        func remove() {
            connection.close()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    enum Colour: String, Encodable { case red }

    @Test("each bound value comes back as it went in, NULL and empty kept apart")
    func valuesRoundTrip() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let db = scratch.db
        try await db.raw("CREATE TABLE v (t TEXT, i INTEGER, b INTEGER, d BLOB, r REAL, o TEXT, e TEXT, z BLOB, c TEXT, n TEXT, s TEXT)").run()
        let absent: String? = nil
        let noColour: Colour? = nil
        let someColour: Colour? = .red
        try await db.raw(
            """
            INSERT INTO v VALUES (\(bind: "naïve 🎉"), \(bind: Int64.max), \(bind: true), \(bind: Data([0, 1, 255])),
                \(bind: 2.5), \(bind: absent), \(bind: ""), \(bind: Data()), \(bind: Colour.red), \(bind: noColour),
                \(bind: someColour))
            """
        ).run()
        let row = try #require(try await db.raw("SELECT * FROM v").first())
        #expect(try row.decode(column: "t", as: String.self) == "naïve 🎉")
        #expect(try row.decode(column: "i", as: Int64.self) == Int64.max)
        #expect(try row.decode(column: "b", as: Bool.self))
        #expect(try row.decode(column: "d", as: Data.self) == Data([0, 1, 255]))
        #expect(try row.decode(column: "r", as: Double.self) == 2.5)
        #expect(try row.decode(column: "o", as: String?.self) == nil)
        #expect(try row.decodeNil(column: "o"))
        #expect(try row.decode(column: "e", as: String?.self) == "")
        #expect(try !row.decodeNil(column: "z"))
        #expect(try row.decode(column: "z", as: Data.self).isEmpty)
        #expect(try row.decode(column: "c", as: String.self) == "red")
        #expect(try row.decodeNil(column: "n"))
        #expect(try row.decode(column: "s", as: String.self) == "red")
        #expect(try row.decode(column: "i", as: Int64?.self) == Int64.max)
        // Through the general decoder: a raw-value enum and an optional of one.
        #expect(try row.decode(column: "r", as: Float.self) == 2.5)
        #expect(try row.decode(column: "o", as: CertificateStatus?.self) == nil)
    }

    /// Write calls this thread made so far (`syscw` of `/proc/thread-self/io`).
    static func writeCallsOfThisThread() throws -> Int {
        let text = try String(contentsOfFile: "/proc/thread-self/io", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("syscw:") })
        return try #require(Int(line.dropFirst("syscw:".count).trimmingCharacters(in: .whitespaces)))
    }

    /// Runs synchronously on the test's thread, so that the thread's write count is the writer's.
    /// Shedu syncs every commit (FULL); NORMAL shows that a commit is published to readers only
    /// once its frames are in the file, even without a sync to write them.
    @Test(
        "the writing connection sends a transaction's WAL frames in a few write calls, and every committed row reads back",
        arguments: ["FULL", "NORMAL"])
    func batchedWALWrites(synchronous: String) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let value = String(repeating: "v", count: 700)
        func writeCalls(batching: Bool) throws -> Int {
            let path = folder.appendingPathComponent("batching-\(batching)-\(synchronous).sqlite").path
            let writer = try SQLiteConnectionHandle(path: path, batchingWAL: batching)
            defer { writer.close() }
            for pragma in ["PRAGMA page_size=1024", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=\(synchronous)", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"] {
                try writer.run(pragma)
            }
            let before = try Self.writeCallsOfThisThread()
            for batch in 0..<4 {
                try writer.run("BEGIN")
                for row in 0..<200 {
                    try writer.execute("INSERT INTO t (id, v) VALUES (?, ?)", [.integer(Int64(batch * 200 + row)), .text(value)]) { _ in }
                }
                try writer.run("COMMIT")
                // Another connection (no batching, as readers have) sees the whole commit at once.
                let reader = try SQLiteConnectionHandle(path: path)
                defer { reader.close() }
                var count: Int64 = -1
                var intact: Int64 = -1
                try reader.execute("SELECT count(*), sum(v = ?) FROM t", [.text(value)]) { row in
                    count = (try? row.decode(column: "count(*)", as: Int64.self)) ?? -1
                    intact = (try? row.decode(column: "sum(v = ?)", as: Int64.self)) ?? -1
                }
                #expect(count == Int64((batch + 1) * 200))
                #expect(intact == count)
            }
            let calls = try Self.writeCallsOfThisThread() - before
            var check = ""
            try writer.execute("PRAGMA integrity_check", []) { row in check = (try? row.decode(column: "integrity_check", as: String.self)) ?? "" }
            #expect(check == "ok")
            return calls
        }
        let plain = try writeCalls(batching: false)
        let batched = try writeCalls(batching: true)
        // 800 rows of 700 bytes on 1 KB pages: about 800 frames, two write calls each without
        // batching; with it, a call per 120 KB.
        #expect(plain > 1_500, "\(plain)")
        #expect(batched < plain / 20, "\(batched) write calls against \(plain)")
    }

    @Test("a wrong type or a missing column is a decoding error that names the column")
    func decodingErrors() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let row = try #require(try await scratch.db.raw("SELECT 'text' AS label, NULL AS absent_value, 7 AS seven").first())
        let wrongType = #expect(throws: DecodingError.self) { try row.decode(column: "label", as: Int.self) }
        #expect("\(String(describing: wrongType))".contains("label"))
        #expect(throws: DecodingError.self) { try row.decode(column: "absent_value", as: String.self) }
        #expect(throws: DecodingError.self) { try row.decode(column: "seven", as: Bool.self) }
        let missing = #expect(throws: DecodingError.self) { try row.decode(column: "absent", as: String.self) }
        #expect("\(String(describing: missing))".contains("absent"))
        #expect(try row.decode(column: "seven", as: String.self) == "7")
    }

    @Test("a kept statement runs again with new values, and after the schema changed under it")
    func keptStatements() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let db = scratch.db
        try await db.raw("CREATE TABLE k (id INTEGER PRIMARY KEY, label TEXT)").run()
        for id in 0..<50 {
            try await db.raw("INSERT INTO k (id, label) VALUES (\(bind: id), \(bind: "label \(id)"))").run()
        }
        let select: (Int) async throws -> String? = { id in
            try await db.raw("SELECT label FROM k WHERE id = \(bind: id)").first()?.decode(column: "label", as: String.self)
        }
        #expect(try await select(7) == "label 7")
        #expect(try await select(42) == "label 42")
        #expect(try await select(99) == nil)
        try await db.raw("ALTER TABLE k ADD COLUMN extra TEXT").run()
        try await db.raw("UPDATE k SET label = 'changed' WHERE id = 7").run()
        #expect(try await select(7) == "changed")
        // A statement whose step failed is reset and runs again.
        await #expect(throws: SQLiteFailure.self) {
            try await db.raw("INSERT INTO k (id, label) VALUES (\(bind: 1), \(bind: "duplicate"))").run()
        }
        try await db.raw("INSERT INTO k (id, label) VALUES (\(bind: 100), \(bind: "fresh"))").run()
        #expect(try await select(100) == "fresh")
    }

    @Test("unique and primary-key violations are recognized as such, other failures are not")
    func uniqueViolations() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let db = scratch.db
        try await db.raw("CREATE TABLE u (id INTEGER PRIMARY KEY, code TEXT UNIQUE, n INTEGER NOT NULL)").run()
        try await db.raw("INSERT INTO u VALUES (1, 'a', 0)").run()
        let primaryKey = await #expect(throws: SQLiteFailure.self) { try await db.raw("INSERT INTO u VALUES (1, 'b', 0)").run() }
        let unique = await #expect(throws: SQLiteFailure.self) { try await db.raw("INSERT INTO u VALUES (2, 'a', 0)").run() }
        let notNull = await #expect(throws: SQLiteFailure.self) { try await db.raw("INSERT INTO u VALUES (3, 'c', NULL)").run() }
        let syntax = await #expect(throws: SQLiteFailure.self) { try await db.raw("INSERT INTO nowhere VALUES (1)").run() }
        #expect(try SheduDatabase.isUniqueViolation(#require(primaryKey)))
        #expect(try SheduDatabase.isUniqueViolation(#require(unique)))
        #expect(try !SheduDatabase.isUniqueViolation(#require(notNull)))
        #expect(syntax?.message.contains("no such table") == true)
    }

    @Test("a value SQLite cannot hold is refused before the statement runs")
    func unsupportedBinding() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let error = await #expect(throws: SQLiteBindingError.self) {
            try await scratch.db.raw("SELECT \(bind: ["a": 1])").run()
        }
        #expect(error?.description.contains("Dictionary") == true)
    }

    @Test("a closed connection refuses queries instead of crashing")
    func closedConnection() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        scratch.connection.close()
        #expect(scratch.connection.isClosed)
        await #expect(throws: SQLiteFailure.self) { try await scratch.db.raw("SELECT 1").run() }
    }

    @Test("new values do not make SQLite prepare a kept statement again, even beside a partial index")
    func noRepreparationOnNewValues() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let db = scratch.db
        // The shape of the CA lookup: a join to a table with partial indexes.
        try await db.raw("CREATE TABLE cas (id TEXT PRIMARY KEY, serial_number TEXT NOT NULL)").run()
        try await db.raw(
            "CREATE TABLE certificates (serial_number TEXT PRIMARY KEY, status TEXT NOT NULL, valid_to BIGINT, held_by_ca TEXT)"
        ).run()
        try await db.raw("CREATE INDEX live ON certificates (valid_to) WHERE status IN ('ACTIVE', 'INACTIVE')").run()
        try await db.raw("CREATE INDEX held ON certificates (held_by_ca) WHERE held_by_ca IS NOT NULL").run()
        for id in ["a", "b", "c"] {
            try await db.raw(
                "SELECT t.status FROM cas c JOIN certificates t ON t.serial_number = c.serial_number WHERE c.id = \(bind: id)"
            ).run()
        }
        let sql = "SELECT t.status FROM cas c JOIN certificates t ON t.serial_number = c.serial_number WHERE c.id = ?1"
        #expect(scratch.connection.repreparations(of: sql) == 0)
    }

    @Test("the expiry monitor's range query still uses the partial index of live certificates")
    func partialIndexStillChosen() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let db = scratch.db
        try await db.raw("CREATE TABLE certificates (serial_number TEXT PRIMARY KEY, status TEXT NOT NULL, valid_to BIGINT NOT NULL)").run()
        try await db.raw(
            "CREATE INDEX certificates_live_valid_to ON certificates (valid_to) WHERE status IN ('ACTIVE', 'INACTIVE')"
        ).run()
        let plan = try await db.raw(
            """
            EXPLAIN QUERY PLAN SELECT serial_number FROM certificates
            WHERE status IN ('ACTIVE', 'INACTIVE') AND valid_to <= \(bind: 1_700_000_000_000) ORDER BY valid_to LIMIT 1000
            """
        ).all().map { try $0.decode(column: "detail", as: String.self) }
        #expect(plan.contains { $0.contains("certificates_live_valid_to") }, "plan: \(plan)")
    }

    @Test("rows written together are cut into chunks of powers of two", arguments: [
        (0, 128, [Int]()), (1, 128, [1]), (5, 128, [4, 1]), (128, 128, [128]), (300, 128, [128, 128, 32, 8, 4]),
        (7, 4, [4, 2, 1]),
    ])
    func chunkSizes(count: Int, limit: Int, sizes: [Int]) {
        let ranges = ChunkSizes.ranges(count: count, limit: limit)
        #expect(ranges.map(\.count) == sizes)
        #expect(ranges.first?.lowerBound ?? 0 == 0 && ranges.last?.upperBound ?? 0 == count)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
    }

    @Test("the write-ahead log reaches the database file through the checkpointer, not the writer's commits")
    func checkpointsBesideTheWriter() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("test.sqlite").path
        let database = try await SheduDatabase.open(
            .sqlite(path: path), logger: Logger(label: "test"), migrations: [], checkpointInterval: .milliseconds(200))
        let writerThreshold = try await database.write { db in
            try await db.raw("PRAGMA wal_autocheckpoint").first()?.decode(column: "wal_autocheckpoint", as: Int.self)
        }
        #expect(writerThreshold == 0, "the writer's commits checkpoint")
        try await database.write { db in
            try await db.raw("CREATE TABLE filler (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)").run()
            for id in 0..<1_200 {
                try await db.raw("INSERT INTO filler VALUES (\(bind: id), \(bind: String(repeating: "x", count: 4000)))").run()
            }
        }
        func fileSize() throws -> Int { try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0 }
        var checkpointed = try fileSize()
        for _ in 0..<100 where checkpointed < 4_000_000 {
            try await Task.sleep(for: .milliseconds(100))
            checkpointed = try fileSize()
        }
        #expect(checkpointed >= 4_000_000, "the checkpointer did not copy the log into the database file")
        await database.close()
    }

    @Test("the writer keeps 2 MB of clean pages while the file is under 1 GiB, readers and dirty pages the full 16 MB")
    func writerCacheFollowsTheFileSize() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try await SheduDatabase.open(
            .sqlite(path: folder.appendingPathComponent("test.sqlite").path), logger: Logger(label: "test"), migrations: [])
        @Sendable func pragma(_ name: String, on db: any SQLDatabase) async throws -> Int? {
            try await db.raw(SQLQueryString(stringLiteral: "PRAGMA \(name)")).first()?.decode(column: name, as: Int.self)
        }
        try await database.write { _ in }  // the writer sizes its cache after its first group
        let writerCache = try await database.write { try await pragma("cache_size", on: $0) }
        let writerSpill = try await database.write { try await pragma("cache_spill", on: $0) }
        let readerCache = try await database.read { try await pragma("cache_size", on: $0) }
        #expect(writerCache == -2048)
        #expect((writerSpill ?? 0) > 10_000, "dirty pages spill after \(writerSpill ?? 0) pages")
        #expect(readerCache == -16_000)
        await database.close()

        let sizes = WriterPageCache(fullKilobytes: 16_000)
        #expect(sizes.pragmas(forDatabaseBytes: (1 << 30) - 1) == ["PRAGMA cache_size=-2048", "PRAGMA cache_spill=-16000"])
        #expect(sizes.pragmas(forDatabaseBytes: 1 << 30) == ["PRAGMA cache_size=-16000", "PRAGMA cache_spill=-16000"])
    }

    @Test("under writes that never pause, the write-ahead log starts over instead of growing with every commit")
    func logStaysBoundedUnderSteadyWrites() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("test.sqlite").path
        let database = try await SheduDatabase.open(
            .sqlite(path: path), logger: Logger(label: "test"), migrations: [], checkpointInterval: .milliseconds(10),
            walRestartFrames: 1_000)
        try await database.write { db in
            try await db.raw("CREATE TABLE filler (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)").run()
        }
        func logSize() -> Int { (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0 }
        // Eight writers keep the single write lane busy: about 30 MB of log frames in all, in
        // writes of fifty rows (few commits: each waits for a sync, slow beside other tests).
        let payload = String(repeating: "x", count: 4_000)
        let largestLog = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    var largest = 0
                    for write in 0..<15 {
                        try await database.write { db in
                            for row in 0..<50 {
                                let id = writer * 1_000 + write * 50 + row
                                try await db.raw("INSERT INTO filler VALUES (\(bind: id), \(bind: payload))").run()
                            }
                        }
                        largest = max(largest, logSize())
                    }
                    return largest
                }
            }
            return try await group.reduce(0, max)
        }
        let rows = try await database.read { db in
            try await db.raw("SELECT count(*) AS n FROM filler").first()?.decode(column: "n", as: Int.self)
        }
        #expect(rows == 6_000)
        #expect(largestLog < 12_000_000, "the log grew to \(largestLog) bytes: it never started over")
        await database.close()
    }
}
