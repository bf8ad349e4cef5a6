// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "delegsync",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "delegsync", targets: ["delegsync"]),
        .library(name: "DNSWire", targets: ["DNSWire"]),
        .library(name: "SIG0", targets: ["SIG0"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // Layer 1: libldns, imported only by DNSWire (DESIGN.md).
        .systemLibrary(
            name: "CLDNS",
            pkgConfig: "ldns",
            providers: [.apt(["libldns-dev"])]
        ),
        // OpenSSL's libcrypto, imported only by SIG0 (crypto where ldns does not cover it).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Reading the files an operator names (configurations, keys, messages): errors with the
        // system's reason, binary data described rather than echoed.
        .target(name: "LocalFiles"),
        // Layer 2: DNS value types and wire/presentation codecs. No I/O.
        .target(name: "DNSWire", dependencies: ["CLDNS"]),
        // Layer 3: SIG(0) (RFC 2931) signing, verification, keys.
        .target(name: "SIG0", dependencies: ["DNSWire", "COpenSSL", "LocalFiles"]),
        // Layer 4: pure delegation logic (policy, diffing; later the bootstrap state machine).
        // No I/O; time comes in as a parameter.
        .target(name: "DelegationCore", dependencies: ["DNSWire", "SIG0"]),
        // Layer 5: persistence behind a protocol; SQLite (GRDB) is the embedded default,
        // PostgreSQL (postgres-nio) the store several agents share.
        .target(
            name: "Store",
            dependencies: [
                "DNSWire", "DelegationCore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Layer 6: SwiftNIO DNS server (UDP + TCP) and client.
        .target(
            name: "Transport",
            dependencies: [
                "DNSWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What both daemons share: reading the YAML configuration, address literals, lifecycle.
        .target(
            name: "DaemonSupport",
            dependencies: [
                "DNSWire",
                "LocalFiles",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // Layer 7: applying changes to the parent zone (rfc2136, nsupdate, nsd, script).
        .target(
            name: "Backends",
            dependencies: [
                "DNSWire", "DelegationCore", "Transport", "LocalFiles",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        // The parental agent: configuration, the decision pipeline wired to store, transport, backends.
        .target(
            name: "Agent",
            dependencies: [
                "DNSWire", "SIG0", "DelegationCore", "Store", "Transport", "Backends", "DaemonSupport", "LocalFiles",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The child side: DSYNC discovery, reading the child's apex, sync and bootstrap clients.
        .target(
            name: "ChildAgent",
            dependencies: [
                "DNSWire", "SIG0", "DelegationCore", "Transport", "DaemonSupport", "Store", "Backends", "LocalFiles",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Layer 8: the command line.
        .executableTarget(
            name: "delegsync",
            dependencies: [
                "DNSWire", "SIG0", "DelegationCore", "Store", "Transport", "Backends", "DaemonSupport", "Agent", "ChildAgent", "LocalFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "BenchSupport", path: "Benchmarks/BenchSupport"),
        .executableTarget(
            name: "SIG0Bench",
            dependencies: ["DNSWire", "SIG0", "BenchSupport"],
            path: "Benchmarks/SIG0Bench"
        ),
        // Real nameservers and tools on loopback, without XCTest: for the tests and the benchmarks.
        .target(
            name: "LabSupport", dependencies: ["DNSWire", "SIG0"], path: "Tests/TestSupport",
            exclude: ["Lab.swift", "SplitMix64.swift", "ZoneSigner.swift"],  // TestSupport's
            sources: ["LabServer.swift", "Tool.swift", "CollidingKey.swift", "CaptureListener.swift", "PostgresLab.swift"]),
        .target(
            name: "TestSupport", dependencies: ["LabSupport", "DNSWire", "SIG0"], path: "Tests/TestSupport",
            exclude: ["LabServer.swift", "Tool.swift", "CollidingKey.swift", "CaptureListener.swift", "PostgresLab.swift"]),  // XCTest helpers for the tests
        .executableTarget(
            name: "AgentBench",
            dependencies: [
                "Agent", "Backends", "BenchSupport", "DNSWire", "DelegationCore", "LabSupport", "SIG0", "Store", "Transport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/AgentBench"
        ),
        .executableTarget(
            name: "CommitBench",
            dependencies: ["BenchSupport", "DNSWire", "DelegationCore", "SIG0", "Store", "Transport", "LabSupport"],
            path: "Benchmarks/CommitBench"
        ),
        .executableTarget(
            name: "HostileBench",
            dependencies: ["BenchSupport", "DNSWire", "SIG0", "Transport", "LabSupport"],
            path: "Benchmarks/HostileBench"
        ),
        // Issue 15: a million children in SQLite and PostgreSQL, two agents on one PostgreSQL.
        .executableTarget(
            name: "StoreBench",
            dependencies: ["BenchSupport", "DNSWire", "SIG0", "Store", "Transport", "LabSupport"],
            path: "Benchmarks/StoreBench"
        ),
        // Fuzzing (docs/fuzzing.md): libFuzzer targets when built with `-D FUZZING` by `make fuzz`,
        // replay tools for their inputs otherwise; FuzzSeeds writes the seed corpora.
        .target(
            name: "FuzzSupport",
            dependencies: [
                "Agent", "Backends", "DNSWire", "DelegationCore", "SIG0", "Store", "Transport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Fuzz/FuzzSupport"
        ),
        .executableTarget(name: "ReceiverFuzz", dependencies: ["FuzzSupport"], path: "Fuzz/ReceiverFuzz"),
        .executableTarget(
            name: "ChildFuzz", dependencies: ["FuzzSupport", "ChildAgent", "DNSWire", "DelegationCore", "SIG0"], path: "Fuzz/ChildFuzz"),
        .executableTarget(name: "FuzzSeeds", dependencies: ["FuzzSupport", "DNSWire", "SIG0"], path: "Fuzz/FuzzSeeds"),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "SIG0", "TestSupport"], exclude: ["Vectors"]),
        .testTarget(
            name: "SIG0Tests",
            dependencies: ["SIG0", "DNSWire", "TestSupport"],
            exclude: ["Vectors"]
        ),
        .testTarget(name: "DelegationCoreTests", dependencies: ["DelegationCore", "DNSWire", "SIG0", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "DelegationCore", "DNSWire", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(
            name: "TransportTests",
            dependencies: ["Transport", "DNSWire", "TestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        .testTarget(
            name: "BackendsTests",
            dependencies: ["Backends", "Transport", "DelegationCore", "DNSWire", "TestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(
            name: "AgentTests",
            dependencies: ["delegsync", "Agent", "ChildAgent", "DaemonSupport", "Store", "Backends", "Transport", "SIG0", "DelegationCore", "DNSWire", "TestSupport"]),
        .testTarget(name: "ChildAgentTests", dependencies: ["ChildAgent", "Transport", "SIG0", "DelegationCore", "DNSWire", "TestSupport"]),
        .testTarget(
            name: "delegsyncTests",
            dependencies: ["delegsync", "Agent", "SIG0", "DNSWire", "DelegationCore", "Store", "TestSupport", .product(name: "Yams", package: "Yams")]),
    ]
)
