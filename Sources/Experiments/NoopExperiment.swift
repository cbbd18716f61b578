import Foundation
import SweepModel
import TrainingCore

/// An experiment that does nothing for a set time: for measuring dispatch, and for testing
/// failure handling (`fail: true` throws, a poison run) and artifacts (`artifact_bytes` makes an
/// artifact `data` of that many bytes drawn from the seed).
public enum NoopExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "noop", summary: "Does nothing for `seconds` (dispatch benchmarks, failure tests)",
    parameters: NoopConfig.parameterDescriptors, metrics: ["value", "seed"], series: [], artifacts: ["data"])

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    let config = try NoopConfig(parameters: parameters)
    if config.seconds > 0 { Thread.sleep(forTimeInterval: config.seconds) }
    if config.fails {
      throw ExperimentError(message: "noop run with seed \(seed) failed on purpose (fail: true)")
    }
    var artifacts: [Artifact] = []
    if config.artifactBytes > 0 {
      var random = RandomStream(rootSeed: seed, stream: "artifact")
      var bytes: [UInt8] = []
      bytes.reserveCapacity(config.artifactBytes + 7)
      while bytes.count < config.artifactBytes {
        withUnsafeBytes(of: random.next().littleEndian) { bytes.append(contentsOf: $0) }
      }
      artifacts.append(Artifact(name: "data", bytes: Array(bytes.prefix(config.artifactBytes))))
    }
    return Outcome(
      metrics: [Metric("value", config.value), Metric("seed", Double(seed))], artifacts: artifacts)
  }
}

/// The settings of a noop run.
public struct NoopConfig: ExperimentConfig {
  /// How long the run sleeps, in seconds (0).
  public var seconds = 0.0
  /// Whether it throws instead of finishing (false).
  public var fails = false
  /// The `value` it reports (0).
  public var value = 0.0
  /// The size of the artifact `data` it makes, in bytes (0: none).
  public var artifactBytes = 0

  public init() {}

  public static let experimentName = "noop"

  public static let parameters: [ParameterDeclaration<NoopConfig>] = [
    .double("seconds", \.seconds, in: 0...3600, default: 0, "How long a run sleeps."),
    .bool("fail", \.fails, default: false, "Throw instead of finishing (a poison run)."),
    .double("value", \.value, in: -1e300...1e300, default: 0, "Reported back as metric `value`."),
    .int(
      "artifact_bytes", \.artifactBytes, in: 0...Artifact.maxBytes, default: 0,
      "Size of an artifact `data` of seeded random bytes the run makes (0: none)."),
  ]
}

/// An experiment that consumes artifacts and does little else: for testing and measuring sweep
/// graphs. It reads its input `data` (a list of artifacts), reports how many bytes came in and a
/// digest of them, and makes an artifact `data` of `artifact_bytes` bytes drawn from that digest
/// and its seed, so a changed input changes what it hands on.
public enum NoopDigestExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "noop-digest",
    summary: "Digests its input artifacts and makes one from them (graph tests and benchmarks)",
    parameters: NoopDigestConfig.parameterDescriptors, metrics: ["input_bytes", "input_digest", "value"],
    series: [], artifacts: ["data"])

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    throw ExperimentError(
      message: "noop-digest consumes artifacts (its input 'data'): run it in a sweep graph")
  }

  public static func run(parameters: Parameters, seed: UInt64, inputs: ArtifactInputs) throws -> Outcome {
    let config = try NoopDigestConfig(parameters: parameters)
    let data = try inputs.artifacts(of: "data", in: parameters, experiment: descriptor.name)
    if config.seconds > 0 { Thread.sleep(forTimeInterval: config.seconds) }
    var state = SHA256.State()
    for artifact in data { state.update(artifact) }
    let digest = state.finalize()
    // 48 bits: a whole number a Double holds exactly.
    let head = digest.prefix(6).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    var random = RandomStream(rootSeed: seed ^ head, stream: "digest")
    var bytes: [UInt8] = []
    while bytes.count < config.artifactBytes {
      withUnsafeBytes(of: random.next().littleEndian) { bytes.append(contentsOf: $0) }
    }
    return Outcome(
      metrics: [
        Metric("input_bytes", Double(data.reduce(0) { $0 + $1.count })), Metric("input_digest", Double(head)),
        Metric("value", config.value),
      ],
      artifacts: config.artifactBytes > 0
        ? [Artifact(name: "data", bytes: Array(bytes.prefix(config.artifactBytes)))] : [])
  }
}

/// The settings of a noop-digest run.
public struct NoopDigestConfig: ExperimentConfig {
  /// The input artifacts' SHA-256, set by the graph.
  public var data = ""
  /// How long the run sleeps, in seconds (0).
  public var seconds = 0.0
  /// The `value` it reports (0).
  public var value = 0.0
  /// The size of the artifact `data` it makes (1,000 bytes; 0: none).
  public var artifactBytes = 1000

  public init() {}

  public static let experimentName = "noop-digest"

  public static let parameters: [ParameterDeclaration<NoopDigestConfig>] = [
    ParameterDeclaration(
      ParameterDescriptor(
        "data", .artifact(isList: true), default: .string(""),
        "Input: artifacts of another stage (one, or a list), bound by the graph.")
    ) { config, value in
      if case .string(let hashes) = value { config.data = hashes }
    },
    .double("seconds", \.seconds, in: 0...3600, default: 0, "How long a run sleeps."),
    .double("value", \.value, in: -1e300...1e300, default: 0, "Reported back as metric `value`."),
    .int(
      "artifact_bytes", \.artifactBytes, in: 0...Artifact.maxBytes, default: 1000,
      "Size of the artifact `data` it makes from its inputs' digest and its seed (0: none)."),
  ]
}
