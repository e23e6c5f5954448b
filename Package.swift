// swift-tools-version:6.2
import Foundation
import PackageDescription

/// One set of settings for every target: Swift 6 language mode with strict concurrency.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// The server links mimalloc when the build machine has it (Debian: `libmimalloc-dev`; the
/// benchmarks install it). Each signed certificate allocates a few hundred objects (parsed DER,
/// the certificate, JSON, SQL values), and mimalloc takes about 7% less server CPU per certificate
/// than glibc's malloc in bench/signing.sh. Without it the system allocator is used;
/// `SHEDU_SYSTEM_MALLOC=1` at build time forces that.
let allocatorLinkerSettings: [LinkerSetting] = {
    #if os(Linux)
    guard ProcessInfo.processInfo.environment["SHEDU_SYSTEM_MALLOC"] == nil else { return [] }
    let libraryFolders = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"]
    let hasMimalloc = libraryFolders.contains { FileManager.default.fileExists(atPath: "\($0)/libmimalloc.so") }
    return hasMimalloc ? [.linkedLibrary("mimalloc")] : []
    #else
    return []
    #endif
}()

let package = Package(
    name: "shedu",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "shedu", targets: ["shedu"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        // Pure X.509 toolkit: no I/O, no database.
        .target(
            name: "SheduPKI",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The domain: models, services, and the protocols they need.
        .target(
            name: "SheduCore",
            dependencies: [
                "SheduPKI",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What Swift cannot do with SQLite: a variadic call, and a VFS that batches WAL writes.
        .target(name: "CSheduSQLite", dependencies: [.product(name: "SQLiteNIO", package: "sqlite-nio")]),
        // SQLKit stores for SQLite and PostgreSQL.
        .target(
            name: "SheduStorage",
            dependencies: [
                "SheduCore",
                "CSheduSQLite",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Hummingbird: routes, auth, error mapping, background services.
        .target(
            name: "SheduServer",
            dependencies: [
                "SheduCore",
                "SheduStorage",
                "SheduPKI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The executable: argument parsing and wiring only.
        .executableTarget(
            name: "shedu",
            dependencies: [
                "SheduServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: allocatorLinkerSettings
        ),
        // The fleet simulator of bench/est.sh: devices enrolling over EST against a running server.
        .executableTarget(
            name: "shedu-fleet",
            dependencies: [
                "SheduPKI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets: scratch databases on every backend.
        .target(
            name: "SheduTestSupport",
            dependencies: [
                "SheduStorage",
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SheduPKITests", dependencies: ["SheduPKI", "SheduTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SheduCoreTests", dependencies: ["SheduCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SheduStorageTests",
            dependencies: ["SheduStorage", "SheduCore", "SheduTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SheduServerTests",
            dependencies: [
                "SheduServer",
                "SheduTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
