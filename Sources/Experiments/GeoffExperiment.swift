import SweepModel
import TrainingCore

/// The crossprop paper's GEOFF continual regression (Veeriah, Zhang and Sutton 2017, Figs 1–3
/// left), as specified in notes/geoff-spec.md.
public enum GeoffExperiment: Experiment {
  /// The largest number of stages (A, B, C and their exact replay).
  public static let maximumStages = 6

  public static let descriptor = ExperimentDescriptor(
    name: "geoff", summary: "GEOFF continual regression (crossprop paper, Figs 1-3 left)",
    parameters: GeoffConfig.parameterDescriptors,
    metrics: metricNames(stages: maximumStages), series: ["error", "u_drift", "w_drift"],
    seriesXLabel: "examples seen"
  ).withFigures(
    titles: [
      "error": "squared error per example (mean of each bin)",
      "u_drift": "‖U − U₀‖: drift of the input weights", "w_drift": "‖W − W₀‖: drift of the output weights",
    ], taskSwitches: { ExperimentDescriptor.switches(every: "examples_per_task", tasks: "stages", $0) }
  ).withMetricDirections(["error": .lowerIsBetter])

  /// The metrics a run of `stages` stages reports: `error_task1` to `error_taskN` (the error over
  /// the last `tail_examples` of each stage), then `u_drift_task…` and `w_drift_task…` (how far the
  /// input and output weights moved during each stage).
  public static func metricNames(stages: Int) -> [String] {
    ["error_task", "u_drift_task", "w_drift_task"].flatMap { stem in (1...stages).map { "\(stem)\($0)" } }
  }

  /// The per-stage metrics of the run's `stages`.
  public static func metrics(for parameters: Parameters) -> [String] {
    guard case .int(let stages) = parameters["stages"], (1...maximumStages).contains(stages) else {
      return descriptor.metrics
    }
    return metricNames(stages: stages)
  }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    let config = try GeoffConfig(parameters: parameters)
    return outcome(of: GeoffRun.run(settings: config.runSettings, seed: seed), config: config)
  }

  /// The outcome reporting `record`: per-stage metrics for the stages the run had, and the series.
  public static func outcome(of record: GeoffRunRecord, config: GeoffConfig) -> Outcome {
    var metrics: [Metric] = []
    for (name, values) in [
      ("error_task", record.stageError), ("u_drift_task", record.stageInputWeightDrift),
      ("w_drift_task", record.stageOutputWeightDrift),
    ] {
      for (stage, value) in values.enumerated() { metrics.append(Metric("\(name)\(stage + 1)", value)) }
    }
    let step = Double(config.binSize)
    return Outcome(
      metrics: metrics,
      series: [
        Series(name: "error", xStart: step, xStep: step, values: record.binnedError),
        Series(name: "u_drift", xStart: step, xStep: step, values: record.inputWeightDrift),
        Series(name: "w_drift", xStart: step, xStep: step, values: record.outputWeightDrift),
      ])
  }
}

/// The validated settings of one GEOFF run: the training core's settings, filled in from the
/// parameters declared (once each) in ``parameters``.
public struct GeoffConfig: ExperimentConfig, Equatable {
  /// The training core's settings for this configuration.
  public var runSettings = GeoffRunSettings()

  public init() {}

  public static let experimentName = "geoff"

  public static let parameters: [ParameterDeclaration<GeoffConfig>] =
    ruleParameters + runParameters
    + ParameterDeclaration<GeoffConfig>.optimiserSettings(at: \.runSettings.learner.rule)

  private static let ruleParameters = ParameterDeclaration<GeoffConfig>.updateRule(
    at: \.runSettings.learner.rule,
    algorithmDoc:
      "Update rule: backprop (SGD), momentum, rmsprop, adam (TF1 defaults), crossprop (eqn 7) or crossprop-approx (eqn 8)."
  )

  private static let runParameters: [ParameterDeclaration<GeoffConfig>] = [
    .int(
      "examples_per_task", \.runSettings.task.examplesPerTask, in: 1...10_000_000, default: 5000,
      "Examples per stage; a multiple of bin_size."),
    .int(
      "stages", \.runSettings.task.stages, in: 3...GeoffExperiment.maximumStages, default: 3,
      "Stages: 3 plays A, B, C; 4 to 6 replay stages 1 to 3 exactly (6 is the authors' script)."),
    .int(
      "hidden_units", \.runSettings.learner.hiddenUnits, in: 1...100_000, default: 500,
      "tanh hidden units of the learner."),
    .int(
      "target_features", \.runSettings.task.features, in: 1...100_000, default: 1000,
      "Linear threshold units of the target network."),
    .int(
      "inputs", \.runSettings.task.inputs, \.runSettings.learner.inputs, in: 1...32, default: 20,
      "Binary inputs (the target adds a bias input)."),
    .double(
      "beta", \.runSettings.task.beta, in: 0...1, default: 0.6,
      "β of the LTU thresholds θ_j = β(m+1) − S_j."),
    .double(
      "change_fraction", \.runSettings.task.changeFraction, in: 0...1, default: 0.5,
      "Fraction of the target's output weights redrawn at each task switch."),
    .double(
      "noise_sd", \.runSettings.task.noiseStandardDeviation, in: 0...1000, default: 1.0,
      "SD of the Gaussian target noise."),
    .int(
      "bin_size", \.runSettings.binSize, in: 1...1_000_000, default: 100,
      "Examples per point of the error and drift series."),
    .int(
      "tail_examples", \.runSettings.tailExamples, in: 1...10_000_000, default: 500,
      "Final examples of each stage averaged into error_taskN; at most examples_per_task."),
    .choice(
      "error_convention", \.runSettings.errorConvention, default: .squared,
      "Recorded error: squared (δ²) or half_squared (½δ², the authors' code)."),
    .choice(
      "norm_convention", \.runSettings.normConvention, default: .l2,
      "Weight drift: l2 (‖·‖) or squared (‖·‖², the authors' code)."),
  ]

  public func check() throws {
    let task = runSettings.task
    if task.examplesPerTask % runSettings.binSize != 0 {
      throw ExperimentError(
        message:
          "geoff: examples_per_task (\(task.examplesPerTask)) must be a multiple of bin_size (\(runSettings.binSize))."
      )
    }
    if runSettings.tailExamples > task.examplesPerTask {
      throw ExperimentError(
        message:
          "geoff: tail_examples (\(runSettings.tailExamples)) must not exceed examples_per_task (\(task.examplesPerTask))."
      )
    }
  }

  /// Examples per series point.
  public var binSize: Int { runSettings.binSize }
  /// Total examples of the run: stages × examples per task.
  public var totalExamples: Int { runSettings.task.stages * runSettings.task.examplesPerTask }
  /// Points in each series.
  public var binCount: Int { totalExamples / binSize }
}
