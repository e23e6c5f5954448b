import Foundation
import Logging
import NIOPosix
import PostgresKit
import SheduStorage

/// A database backend the store tests run against.
public enum TestBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// SQLite always; PostgreSQL when the test script started one (`SHEDU_TEST_POSTGRES_URL`).
    public static var available: [TestBackend] {
        ProcessInfo.processInfo.environment["SHEDU_TEST_POSTGRES_URL"] == nil ? [.sqlite] : [.sqlite, .postgres]
    }
}

/// An empty database of its own for one test: a temporary SQLite file, or a new PostgreSQL database.
public struct ScratchDatabase: Sendable {
    public let url: String
    public let backend: TestBackend
    private let folder: URL?
    private let postgresName: String?

    public static func make(_ backend: TestBackend) async throws -> ScratchDatabase {
        switch backend {
        case .sqlite:
            let folder = try makeTemporaryFolder()
            return ScratchDatabase(
                url: "sqlite://\(folder.appendingPathComponent("test.sqlite").path)", backend: .sqlite, folder: folder,
                postgresName: nil)
        case .postgres:
            guard let adminURL = ProcessInfo.processInfo.environment["SHEDU_TEST_POSTGRES_URL"] else {
                throw ScratchDatabaseError("SHEDU_TEST_POSTGRES_URL is not set; run the tests with scripts/test")
            }
            let name = "shedu_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
            try await runAdmin(adminURL, "CREATE DATABASE \(name)")
            guard var components = URLComponents(string: adminURL) else {
                throw ScratchDatabaseError("SHEDU_TEST_POSTGRES_URL is not a URL")
            }
            components.path = "/\(name)"
            return ScratchDatabase(url: components.string!, backend: .postgres, folder: nil, postgresName: name)
        }
    }

    /// Removes the database.
    public func drop() async {
        if let folder { try? FileManager.default.removeItem(at: folder) }
        if let postgresName, let adminURL = ProcessInfo.processInfo.environment["SHEDU_TEST_POSTGRES_URL"] {
            try? await Self.runAdmin(adminURL, "DROP DATABASE IF EXISTS \(postgresName) WITH (FORCE)")
        }
    }

    /// PostgreSQL only: refuses new connections to the database and ends the open ones (false),
    /// as a server that went down; or allows them again (true).
    public func allowConnections(_ allowed: Bool) async throws {
        guard let postgresName, let adminURL = ProcessInfo.processInfo.environment["SHEDU_TEST_POSTGRES_URL"] else {
            throw ScratchDatabaseError("only a PostgreSQL scratch database refuses connections")
        }
        try await Self.runAdmin(adminURL, "ALTER DATABASE \(postgresName) ALLOW_CONNECTIONS \(allowed)")
        if !allowed {
            try await Self.runAdmin(
                adminURL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(postgresName)'")
        }
    }

    /// Opens the store's database on it.
    public func open(logger: Logger = Logger(label: "test")) async throws -> SheduDatabase {
        try await SheduDatabase.open(try DatabaseLocation(url: url), logger: logger)
    }

    private static func runAdmin(_ url: String, _ statement: String) async throws {
        let configuration = try SQLPostgresConfiguration(url: url)
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration.coreConfiguration, id: 1,
            logger: Logger(label: "test-admin"))
        do {
            try await connection.sql().raw(SQLQueryString(statement)).run()
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// A new empty folder under the system's temporary directory.
public func makeTemporaryFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shedu-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

public struct ScratchDatabaseError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ScratchDatabase {
    /// Runs `body` with an open scratch database, then closes and drops it, whatever happens.
    public static func withDatabase<T>(_ backend: TestBackend, _ body: (SheduDatabase) async throws -> T) async throws -> T {
        let scratch = try await make(backend)
        let database: SheduDatabase
        do {
            database = try await scratch.open()
        } catch {
            await scratch.drop()
            throw error
        }
        do {
            let result = try await body(database)
            await database.close()
            await scratch.drop()
            return result
        } catch {
            await database.close()
            await scratch.drop()
            throw error
        }
    }
}
