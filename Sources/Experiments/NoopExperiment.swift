import Foundation
import SweepModel
import TrainingCore

/// An experiment that does nothing for a set time: for measuring dispatch, and for testing
/// failure handling (`fail: true` throws, a poison run) and artifacts (`artifact_bytes` makes an
/// artifact `data` of that many bytes drawn from the seed).
public enum NoopExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "noop", summary: "Does nothing for `seconds` (dispatch benchmarks, failure tests)",
    parameters: NoopConfig.parameterDescriptors, metrics: ["value", "seed"], series: [])

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
      "artifact_bytes", \.artifactBytes, in: 0...(64 << 20), default: 0,
      "Size of an artifact `data` of seeded random bytes the run makes (0: none)."),
  ]
}
