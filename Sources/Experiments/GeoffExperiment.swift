import SweepModel
import TrainingCore

/// The crossprop paper's GEOFF continual regression (Veeriah, Zhang and Sutton 2017, Figs 1–3
/// left), as specified in notes/geoff-spec.md.
public enum GeoffExperiment: Experiment {
  /// The largest number of stages (A, B, C and their exact replay).
  public static let maximumStages = 6

  public static let descriptor = ExperimentDescriptor(
    name: "geoff", summary: "GEOFF continual regression (crossprop paper, Figs 1-3 left)",
    parameters: [
      ParameterDescriptor(
        "algorithm", .choice(LearningAlgorithm.allCases.map(\.rawValue)), default: .string("backprop"),
        "Update rule: backprop (SGD), momentum, rmsprop, adam (TF1 defaults), crossprop (eqn 7) or crossprop-approx (eqn 8)."
      ),
      ParameterDescriptor(
        "eta", .double(0...1), default: .double(0),
        "Crossprop's η: weight of backprop in the mix (1 is exactly backprop)."),
      ParameterDescriptor(
        "eta_form", .choice(EtaForm.allCases.map(\.rawValue)), default: .string("paper"),
        "Where η enters the trace updates: paper (eqns 7, 8) or code (the authors' TensorFlow)."),
      ParameterDescriptor(
        "step_size", .double(1e-12...10), default: .double(0.0005), "α, the step size of every algorithm."),
      ParameterDescriptor(
        "examples_per_task", .int(1...10_000_000), default: .int(5000),
        "Examples per stage; a multiple of bin_size."),
      ParameterDescriptor(
        "stages", .int(3...maximumStages), default: .int(3),
        "Stages: 3 plays A, B, C; 4 to 6 replay stages 1 to 3 exactly (6 is the authors' script)."),
      ParameterDescriptor(
        "hidden_units", .int(1...100_000), default: .int(500), "tanh hidden units of the learner."),
      ParameterDescriptor(
        "target_features", .int(1...100_000), default: .int(1000),
        "Linear threshold units of the target network."),
      ParameterDescriptor(
        "inputs", .int(1...32), default: .int(20), "Binary inputs (the target adds a bias input)."),
      ParameterDescriptor(
        "beta", .double(0...1), default: .double(0.6), "β of the LTU thresholds θ_j = β(m+1) − S_j."),
      ParameterDescriptor(
        "change_fraction", .double(0...1), default: .double(0.5),
        "Fraction of the target's output weights redrawn at each task switch."),
      ParameterDescriptor(
        "noise_sd", .double(0...1000), default: .double(1.0), "SD of the Gaussian target noise."),
      ParameterDescriptor(
        "bin_size", .int(1...1_000_000), default: .int(100),
        "Examples per point of the error and drift series."),
      ParameterDescriptor(
        "tail_examples", .int(1...10_000_000), default: .int(500),
        "Final examples of each stage averaged into error_taskN; at most examples_per_task."),
      ParameterDescriptor(
        "error_convention", .choice(ErrorConvention.allCases.map(\.rawValue)), default: .string("squared"),
        "Recorded error: squared (δ²) or half_squared (½δ², the authors' code)."),
      ParameterDescriptor(
        "norm_convention", .choice(NormConvention.allCases.map(\.rawValue)), default: .string("l2"),
        "Weight drift: l2 (‖·‖) or squared (‖·‖², the authors' code)."),
      ParameterDescriptor("momentum", .double(0...1), default: .double(0.9), "μ of momentum."),
      ParameterDescriptor("rmsprop_decay", .double(0...1), default: .double(0.9), "ρ of RMSProp."),
      ParameterDescriptor(
        "rmsprop_epsilon", .double(0...1), default: .double(1e-10), "ε of RMSProp, inside the square root."),
      ParameterDescriptor(
        "rmsprop_initial_accumulator", .double(0...1000), default: .double(1.0),
        "Initial RMSProp mean square (1 in TF1; 0 in Keras/PyTorch)."),
      ParameterDescriptor("adam_beta1", .double(0...1), default: .double(0.9), "β₁ of Adam."),
      ParameterDescriptor("adam_beta2", .double(0...1), default: .double(0.999), "β₂ of Adam."),
      ParameterDescriptor(
        "adam_epsilon", .double(0...1), default: .double(1e-8), "ε of Adam, outside the bias correction."),
    ],
    metrics: metricNames(stages: maximumStages), series: ["error", "u_drift", "w_drift"],
    seriesXLabel: "examples seen")

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

/// The validated settings of one GEOFF run, built from its parameters (each documented, with its
/// default, in ``GeoffExperiment/descriptor``).
public struct GeoffConfig: Sendable, Equatable {
  /// The update rule (backprop).
  public var algorithm: LearningAlgorithm
  /// Crossprop's η (0).
  public var eta: Double
  /// Paper or code form of η (paper).
  public var etaForm: EtaForm
  /// α (0.0005).
  public var stepSize: Double
  /// Examples per stage (5000).
  public var examplesPerTask: Int
  /// Stages, 3 to 6 (3).
  public var stages: Int
  /// Hidden units of the learner (500).
  public var hiddenUnits: Int
  /// LTUs of the target (1000).
  public var targetFeatures: Int
  /// Binary inputs (20).
  public var inputs: Int
  /// β of the thresholds (0.6).
  public var beta: Double
  /// Fraction of W\* redrawn per switch (0.5).
  public var changeFraction: Double
  /// Target noise SD (1).
  public var noiseSD: Double
  /// Examples per series point (100).
  public var binSize: Int
  /// Examples at the end of a stage averaged into its error (500).
  public var tailExamples: Int
  /// δ² or ½δ² (δ²).
  public var errorConvention: ErrorConvention
  /// ‖·‖ or ‖·‖² (‖·‖).
  public var normConvention: NormConvention
  /// μ of momentum (0.9).
  public var momentum: Double
  /// ρ of RMSProp (0.9).
  public var rmspropDecay: Double
  /// ε of RMSProp (1e-10).
  public var rmspropEpsilon: Double
  /// Initial RMSProp accumulator (1).
  public var rmspropInitialAccumulator: Double
  /// β₁ of Adam (0.9).
  public var adamBeta1: Double
  /// β₂ of Adam (0.999).
  public var adamBeta2: Double
  /// ε of Adam (1e-8).
  public var adamEpsilon: Double

  /// Reads and checks `parameters`; a missing parameter takes its default.
  ///
  /// - Throws: ``ExperimentError`` naming the parameter and what to change.
  public init(parameters: Parameters) throws {
    let checked = try CheckedParameters(parameters, descriptor: GeoffExperiment.descriptor)
    let (double, int, word) = (checked.double, checked.int, checked.word)
    algorithm = LearningAlgorithm(rawValue: word("algorithm"))!
    eta = double("eta")
    etaForm = EtaForm(rawValue: word("eta_form"))!
    stepSize = double("step_size")
    examplesPerTask = int("examples_per_task")
    stages = int("stages")
    hiddenUnits = int("hidden_units")
    targetFeatures = int("target_features")
    inputs = int("inputs")
    beta = double("beta")
    changeFraction = double("change_fraction")
    noiseSD = double("noise_sd")
    binSize = int("bin_size")
    tailExamples = int("tail_examples")
    errorConvention = ErrorConvention(rawValue: word("error_convention"))!
    normConvention = NormConvention(rawValue: word("norm_convention"))!
    momentum = double("momentum")
    rmspropDecay = double("rmsprop_decay")
    rmspropEpsilon = double("rmsprop_epsilon")
    rmspropInitialAccumulator = double("rmsprop_initial_accumulator")
    adamBeta1 = double("adam_beta1")
    adamBeta2 = double("adam_beta2")
    adamEpsilon = double("adam_epsilon")
    if examplesPerTask % binSize != 0 {
      throw ExperimentError(
        message: "geoff: examples_per_task (\(examplesPerTask)) must be a multiple of bin_size (\(binSize)).")
    }
    if tailExamples > examplesPerTask {
      throw ExperimentError(
        message:
          "geoff: tail_examples (\(tailExamples)) must not exceed examples_per_task (\(examplesPerTask)).")
    }
  }

  /// Total examples of the run: stages × examples per task.
  public var totalExamples: Int { stages * examplesPerTask }
  /// Points in each series.
  public var binCount: Int { totalExamples / binSize }

  /// The training core's settings for this configuration.
  public var runSettings: GeoffRunSettings {
    var settings = GeoffRunSettings()
    settings.task.inputs = inputs
    settings.task.features = targetFeatures
    settings.task.beta = beta
    settings.task.changeFraction = changeFraction
    settings.task.noiseStandardDeviation = noiseSD
    settings.task.examplesPerTask = examplesPerTask
    settings.task.stages = stages
    settings.learner.inputs = inputs
    settings.learner.hiddenUnits = hiddenUnits
    settings.learner.algorithm = algorithm
    settings.learner.stepSize = Float(stepSize)
    settings.learner.eta = Float(eta)
    settings.learner.etaForm = etaForm
    settings.learner.momentum = Float(momentum)
    settings.learner.rmspropDecay = Float(rmspropDecay)
    settings.learner.rmspropEpsilon = Float(rmspropEpsilon)
    settings.learner.rmspropInitialAccumulator = Float(rmspropInitialAccumulator)
    settings.learner.adamBeta1 = Float(adamBeta1)
    settings.learner.adamBeta2 = Float(adamBeta2)
    settings.learner.adamEpsilon = Float(adamEpsilon)
    settings.binSize = binSize
    settings.tailExamples = tailExamples
    settings.errorConvention = errorConvention
    settings.normConvention = normConvention
    return settings
  }
}
