import SweepModel
import TrainingCore

/// The crossprop paper's GEOFF continual regression (placeholder until the training core lands).
public enum GeoffExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "geoff", summary: "GEOFF continual regression (crossprop paper, Figs 1-3 left)", parameters: [],
    metrics: [], series: [])

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    throw ExperimentError(message: "geoff is not implemented yet")
  }
}
