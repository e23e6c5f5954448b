import SQLKit
import Synchronization

/// Sizes the SQLite writer's cache of clean pages by the size of the database file.
///
/// Below 1 GiB the cache is kept small, because SQLite then walks all of it at every commit that
/// followed a B-tree rebalance: `balance_nonroot` renumbers pages through the lock-byte page,
/// which lies at 1 GiB, past the end of the file, and the commit truncates the cache back to the
/// file's size. Random-key index inserts rebalance at nearly every commit; in a signing profile
/// the walk took 3.2% of the server's CPU with a 16 MB cache and 0.4% with 2 MB. The writer's hot
/// pages (interior pages, right edges of append-ordered indexes) fit in 2 MB at that size. From
/// 1 GiB on there is no walk, and the full cache keeps more interior pages of big indexes.
/// Either way dirty pages fill the full cache before a big transaction (a monitor pass) spills
/// them to the log: spilling sooner rewrites pages that change again.
final class WriterPageCache: Sendable {
    /// SQLite's lock-byte page starts at this offset (`PENDING_BYTE`).
    static let lockByteOffset: Int64 = 1 << 30
    static let smallKilobytes = 2048
    /// The file is measured after the writer's first group, then again after this many.
    static let groupsPerCheck = 4096

    private let fullKilobytes: Int
    private let groups = Atomic(0)

    init(fullKilobytes: Int) {
        self.fullKilobytes = fullKilobytes
    }

    /// The PRAGMAs that size the writer's cache for a database file of `bytes`.
    func pragmas(forDatabaseBytes bytes: Int64) -> [String] {
        let clean = bytes < Self.lockByteOffset ? Self.smallKilobytes : fullKilobytes
        return ["PRAGMA cache_size=-\(clean)", "PRAGMA cache_spill=-\(fullKilobytes)"]
    }

    /// Run by the writer between two transactions: after its first, and now and then, sizes the cache.
    func writerIsIdle(_ writer: any SQLDatabase) async throws {
        guard groups.add(1, ordering: .relaxed).newValue % Self.groupsPerCheck == 1 else { return }
        let pages = try await writer.raw("PRAGMA page_count").first()?.decode(column: "page_count", as: Int64.self) ?? 0
        let pageSize = try await writer.raw("PRAGMA page_size").first()?.decode(column: "page_size", as: Int64.self) ?? 0
        for pragma in pragmas(forDatabaseBytes: pages * pageSize) {
            try await writer.raw(SQLQueryString(stringLiteral: pragma)).run()
        }
    }
}
