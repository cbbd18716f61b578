// swift-tools-version:6.0
// Package.swift is MetaSweep's architecture diagram (../shared/design.md): one target per layer,
// and arrows only point down. `tools/check-layers` fails CI on a forbidden edge.
import PackageDescription

#if canImport(Foundation)
  import Foundation
#endif

/// The CPU the training core is compiled for. On x86-64 the default is `haswell` (x86-64-v3:
/// AVX2, 2013 on), whose 256-bit registers hold a whole `SIMD8<Float>`: the GEOFF learners run
/// 1.0-1.3× faster (geometric mean 1.16×) than in a baseline x86-64 build of the same commit,
/// fastest of two `metasweep-bench 5000 1 5` runs (10 timings) each. Results are bit-identical either way: Swift
/// never fuses a multiply and an add on its own, and every lane operation is IEEE-exact. Set
/// `METASWEEP_TARGET_CPU=x86-64` (or any `-target-cpu` name) to build for older hosts.
let trainingCPU: String? = {
  #if arch(x86_64)
    #if canImport(Foundation)
      if let cpu = ProcessInfo.processInfo.environment["METASWEEP_TARGET_CPU"], !cpu.isEmpty { return cpu }
    #endif
    return "haswell"
  #else
    return nil
  #endif
}()

/// For the compute-bound targets: the training core and the experiment catalogue.
let hotCode: [SwiftSetting] = trainingCPU.map { [.unsafeFlags(["-target-cpu", $0])] } ?? []
/// For the executable, which checks at launch that the host has what the default CPU needs.
let launchCheck: [SwiftSetting] = trainingCPU == "haswell" ? [.define("METASWEEP_REQUIRES_HASWELL")] : []

let package = Package(
  name: "MetaSweep",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "metasweep", targets: ["metasweep"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    // `metasweep serve`: SwiftNIO's HTTP/1.1 server.
    .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
  ],
  targets: [
    // MARK: - Leaves
    .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
    .systemLibrary(name: "CSQLiteTuning", providers: [.apt(["libsqlite3-dev"])]),
    .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
    // glibc's posix_spawn and pipe2 extensions, for the `command` experiment.
    .target(name: "CSpawn"),
    .target(
      name: "SweepModel",
      dependencies: [
        .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto"),
      ]),

    // MARK: - Pure and wrapper layers
    .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
    // OpenBLAS for the matrix products of convolutional and dense layers (one thread per slot).
    .target(name: "TrainingCore", dependencies: ["COpenBLAS"], swiftSettings: hotCode),
    // Image datasets from disk (IDX, gzipped through zlib) and generated ones (RandomStream);
    // SHA-256 of their content. Never the protocol, journal or shells: workers load data locally.
    .target(
      name: "Datasets",
      dependencies: ["CZlib", "TrainingCore", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: hotCode),
    .target(name: "SweepProtocol", dependencies: ["SweepModel"]),
    .target(
      name: "Journal",
      dependencies: [
        "SweepModel", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "GRDBSQLite", package: "GRDB.swift"), "CSQLiteTuning",
      ]),
    .target(name: "Aggregation", dependencies: ["SweepModel"]),

    // MARK: - Catalogue
    .target(
      name: "Experiments", dependencies: ["TrainingCore", "Datasets", "SweepModel", "CSpawn"],
      swiftSettings: hotCode),

    // MARK: - Shells
    .target(
      name: "Coordinator",
      dependencies: [
        "SweepModel", "SweepProtocol", "Journal", "ZeroMQ", "Aggregation",
        .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "Worker",
      dependencies: [
        "SweepModel", "SweepProtocol", "Experiments", "ZeroMQ",
        .product(name: "Logging", package: "swift-log"),
      ]),

    // MARK: - Root
    .executableTarget(
      name: "metasweep",
      dependencies: [
        "SweepModel", "Experiments", "Coordinator", "Worker", "Journal", "Aggregation", "ZeroMQ",
        "TrainingCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
      ],
      swiftSettings: launchCheck, plugins: ["BuildCommit"]),
    // The commit of the sources, embedded in `metasweep` at build time (`--version`, MANIFEST.json).
    .plugin(name: "BuildCommit", capability: .buildTool(), path: "Plugins/BuildCommit"),

    // MARK: - Benchmarks (a release-built executable; run through tools/bench)
    .executableTarget(
      name: "metasweep-bench",
      dependencies: ["TrainingCore", "Experiments", "SweepModel", "Journal", "Datasets"],
      path: "Benchmarks/GeoffBench", swiftSettings: hotCode),

    // MARK: - Tests
    .testTarget(name: "SweepModelTests", dependencies: ["SweepModel"]),
    .testTarget(
      name: "TrainingCoreTests", dependencies: ["TrainingCore", "Experiments", "SweepModel", "Datasets"]),
    .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
    .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
    // Experiments: the dispatcher's rounds are tested on the real LSTM meta-state and gradients.
    .testTarget(name: "SweepProtocolTests", dependencies: ["SweepProtocol", "SweepModel", "Experiments"]),
    .testTarget(
      name: "JournalTests",
      dependencies: ["Journal", "SweepModel", .product(name: "GRDB", package: "GRDB.swift")]),
    .testTarget(name: "AggregationTests", dependencies: ["Aggregation", "SweepModel"]),
    .testTarget(
      name: "WorkerTests", dependencies: ["Worker", "SweepProtocol", "SweepModel", "ZeroMQ", "Experiments"]),
    .testTarget(
      name: "EndToEndTests",
      dependencies: [
        "SweepModel", "Journal", "Aggregation", "ZeroMQ", "SweepProtocol", "Coordinator", "Datasets",
        .product(name: "GRDB", package: "GRDB.swift"),
      ]),
  ]
)
