// swift-tools-version:6.0
// Package.swift is MetaSweep's architecture diagram (../shared/design.md): one target per layer,
// and arrows only point down. `tools/check-layers` fails CI on a forbidden edge.
import PackageDescription

let package = Package(
  name: "MetaSweep",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "metasweep", targets: ["metasweep"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
  ],
  targets: [
    // MARK: - Leaves
    .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
    .target(name: "SweepModel", dependencies: [.product(name: "Yams", package: "Yams")]),

    // MARK: - Pure and wrapper layers
    .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
    .target(name: "TrainingCore"),
    .target(name: "SweepProtocol", dependencies: ["SweepModel"]),
    .target(name: "Journal", dependencies: ["SweepModel", .product(name: "GRDB", package: "GRDB.swift")]),
    .target(name: "Aggregation", dependencies: ["SweepModel"]),

    // MARK: - Catalogue
    .target(name: "Experiments", dependencies: ["TrainingCore", "SweepModel"]),

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
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ]),

    // MARK: - Benchmarks (a release-built executable; run through tools/bench)
    .executableTarget(
      name: "metasweep-bench", dependencies: ["TrainingCore", "Experiments", "SweepModel"],
      path: "Benchmarks/GeoffBench"),

    // MARK: - Tests
    .testTarget(name: "SweepModelTests", dependencies: ["SweepModel"]),
    .testTarget(name: "TrainingCoreTests", dependencies: ["TrainingCore", "Experiments", "SweepModel"]),
    .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
    .testTarget(name: "SweepProtocolTests", dependencies: ["SweepProtocol", "SweepModel"]),
    .testTarget(name: "JournalTests", dependencies: ["Journal", "SweepModel"]),
    .testTarget(name: "AggregationTests", dependencies: ["Aggregation", "SweepModel"]),
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["SweepModel", "Journal", "Aggregation", "ZeroMQ", "SweepProtocol", "Coordinator"]),
  ]
)
