import Foundation
import SweepModel

/// An experiment that does nothing for a set time: for measuring dispatch, and for testing
/// failure handling (`fail: true` throws, a poison run).
public enum NoopExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "noop", summary: "Does nothing for `seconds` (dispatch benchmarks, failure tests)",
    parameters: [
      ParameterDescriptor("seconds", .double(0...3600), default: .double(0), "How long a run sleeps."),
      ParameterDescriptor("fail", .bool, default: .bool(false), "Throw instead of finishing (a poison run)."),
      ParameterDescriptor(
        "value", .double(-1e300...1e300), default: .double(0), "Reported back as metric `value`."),
    ],
    metrics: ["value", "seed"], series: [])

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    if let seconds = parameters["seconds"]?.doubleValue, seconds > 0 {
      Thread.sleep(forTimeInterval: seconds)
    }
    if parameters["fail"] == .bool(true) {
      throw ExperimentError(message: "noop run with seed \(seed) failed on purpose (fail: true)")
    }
    return Outcome(metrics: [
      Metric("value", parameters["value"]?.doubleValue ?? 0), Metric("seed", Double(seed)),
    ])
  }
}
