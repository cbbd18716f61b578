import SweepModel
import TrainingCore

/// An LSTM meta-trained by BPTT to be a fixed-weight learner of new functions (Younger, Hochreiter
/// and Conwell 2001, "Meta-learning with backpropagation"), network variant (a) "modern" of
/// notes/meta-experiments.md §2.
///
/// `run` meta-trains for `steps` steps in-process, then tests on fresh sequences. A chained run
/// can instead call ``runSegment(parameters:seed:from:steps:)`` repeatedly, shipping the
/// ``MetaTrainingState`` between workers, and ``outcome(parameters:seed:state:)`` at the end: the
/// result is bit-identical to `run`.
public enum LSTMMetaLearningExperiment: Experiment {
  /// Metric names, in order. τ₁ < τ₂ < τ₃ are the family's thresholds: 0.1/0.2/0.3 (Boolean) or
  /// 0.02/0.05/0.1 (continuous); the headline `cycles_to_learn_median` uses τ₂. The Boolean-only
  /// metrics (bayes_*, mse_xor, mse_xnor, bit_accuracy_after_20) are NaN for the other families.
  public static let metricNames = [
    "test_mse", "running_mean_mse", "bayes_bound_mse", "bayes_mse_test", "mse_xor", "mse_xnor",
    "bit_accuracy_after_20", "cycles_to_learn_median", "cycles_to_learn_mean_tau1",
    "cycles_to_learn_mean_tau2",
    "cycles_to_learn_mean_tau3", "cycles_to_learn_median_tau1", "cycles_to_learn_median_tau2",
    "cycles_to_learn_median_tau3", "final_training_mse", "best_validation_mse", "best_step",
    "clipped_fraction",
  ]

  public static let descriptor = ExperimentDescriptor(
    name: "lstm-metalearning",
    summary:
      "LSTM meta-trained by BPTT as a fixed-weight learner (Younger, Hochreiter, Conwell 2001, Table 1, Fig. 3)",
    parameters: LSTMMetaLearningConfig.parameterDescriptors,
    metrics: metricNames,
    series: ["training_mse", "validation_mse", "mean_abs_error_per_cycle", "mse_per_boolean_function"],
    seriesXLabel: "meta-training step",
    seriesXLabels: [
      "mean_abs_error_per_cycle": "cycle of a test sequence",
      "mse_per_boolean_function": "Boolean function f(x₁, x₂)",
    ],
    artifacts: ["meta_state"]
  ).withFigures(
    titles: [
      "training_mse": "training MSE", "validation_mse": "validation MSE",
      "mean_abs_error_per_cycle": "mean absolute error at each cycle of a test sequence",
      "mse_per_boolean_function": "test MSE of each Boolean function",
    ], categories: ["mse_per_boolean_function": DrawnFunction.booleanNames]
  ).withMetricDirections([
    "test_mse": .lowerIsBetter, "mse_xor": .lowerIsBetter, "mse_xnor": .lowerIsBetter,
    "running_mean_mse": .lowerIsBetter, "bayes_mse_test": .lowerIsBetter,
    "bit_accuracy_after_20": .higherIsBetter, "cycles_to_learn_median": .lowerIsBetter,
    "cycles_to_learn_mean": .lowerIsBetter, "final_training_mse": .lowerIsBetter,
    "best_validation_mse": .lowerIsBetter,
  ])

  public static func validate(parameters: Parameters) throws {
    _ = try LSTMMetaLearningConfig(parameters: parameters)
  }

  /// Every series but the curves of a run too short for one point: `training_mse` needs
  /// `curve_bin` steps, `validation_mse` needs `validation_every` steps (and is never made when
  /// `validation_every` is 0).
  public static func series(for parameters: Parameters) -> [String] {
    guard case .int(let steps) = parameters["steps"], case .int(let bin) = parameters["curve_bin"],
      case .int(let every) = parameters["validation_every"]
    else { return descriptor.series }
    return descriptor.series.filter { name in
      switch name {
      case "training_mse": steps >= bin
      case "validation_mse": every > 0 && steps >= every
      default: true
      }
    }
  }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    let config = try LSTMMetaLearningConfig(parameters: parameters)
    let state = MetaTraining.train(
      MetaTrainingState(settings: config.trainingSettings, seed: seed), settings: config.trainingSettings,
      seed: seed,
      steps: config.steps)
    return outcome(config: config, seed: seed, state: state)
  }

  /// Runs `steps` meta-training steps from `state` (nil: from initialisation) and returns the new
  /// state: the unit of a chained run. Segments of any sizes summing to `steps` give the state
  /// `run` reaches.
  ///
  /// - Throws: ``ExperimentError`` for bad parameters, or a state made under other settings.
  public static func runSegment(
    parameters: Parameters, seed: UInt64, from state: MetaTrainingState?, steps: Int
  )
    throws -> MetaTrainingState
  {
    let config = try LSTMMetaLearningConfig(parameters: parameters)
    let settings = config.trainingSettings
    let start = state ?? MetaTrainingState(settings: settings, seed: seed)
    guard start.settingsFingerprint == settings.fingerprint else {
      throw ExperimentError(
        message: "lstm-metalearning: the checkpoint was made with other parameters; start afresh.")
    }
    return MetaTraining.train(start, settings: settings, seed: seed, steps: steps)
  }

  /// One lease of a chained run: at most `maxSteps` steps (0: all remaining) from the binary
  /// `checkpoint` (nil: from initialisation). The last segment returns the run's outcome.
  ///
  /// - Throws: ``ExperimentError`` for bad parameters, or a checkpoint that is corrupt, from
  ///   another build or version, or made under other settings.
  public static func runSegment(parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?, maxSteps: Int)
    throws
    -> SegmentOutcome
  {
    let config = try LSTMMetaLearningConfig(parameters: parameters)
    var state: MetaTrainingState?
    if let checkpoint {
      do {
        state = try MetaTrainingState(binary: checkpoint)
      } catch {
        throw ExperimentError(message: "lstm-metalearning: cannot continue from the checkpoint: \(error)")
      }
    }
    let done = state?.step ?? 0
    guard done <= config.steps else {
      throw ExperimentError(
        message:
          "lstm-metalearning: the checkpoint is at step \(done), beyond the run's \(config.steps) steps.")
    }
    let remaining = config.steps - done
    let steps = maxSteps > 0 ? min(maxSteps, remaining) : remaining
    let next = try runSegment(parameters: parameters, seed: seed, from: state, steps: steps)
    if next.step >= config.steps {
      return .finished(outcome(config: config, seed: seed, state: next))
    }
    return .checkpoint(bytes: next.binaryEncoded(), stepsDone: next.step, totalSteps: config.steps)
  }

  /// The outcome of a finished (possibly chained) run whose final state is `state`.
  public static func outcome(parameters: Parameters, seed: UInt64, state: MetaTrainingState) throws -> Outcome
  {
    outcome(config: try LSTMMetaLearningConfig(parameters: parameters), seed: seed, state: state)
  }

  static func outcome(config: LSTMMetaLearningConfig, seed: UInt64, state: MetaTrainingState) -> Outcome {
    let settings = config.trainingSettings
    let tested =
      config.testsBestParameters && state.bestValidationMSE.isFinite ? state.bestParameters : state.parameters
    let network = LSTMNetwork(shape: settings.shape, parameters: tested)
    let evaluation = MetaEvaluation(
      network: network, settings: config.testSequenceSettings, length: config.testLength,
      count: config.testSequences,
      seed: seed, threads: config.threads)
    let m = evaluation.cyclesToLearnMean
    let med = evaluation.cyclesToLearnMedian
    let values: [Double] = [
      evaluation.meanSquaredError, evaluation.runningMeanBaselineMSE, evaluation.bayesBoundMSE,
      evaluation.bayesMSEOnTestSequences, evaluation.perFunctionMSE[DrawnFunction.xorIndex],
      evaluation.perFunctionMSE[DrawnFunction.xnorIndex], evaluation.bitAccuracyAfterCycle20, med[1], m[0],
      m[1], m[2],
      med[0], med[1], med[2], state.trainingCurve.last ?? .nan, state.bestValidationMSE,
      Double(state.bestStep),
      state.step > 0 ? Double(state.clippedSteps) / Double(state.step) : 0,
    ]
    let bin = Double(settings.curveBin)
    let every = Double(max(1, settings.validationEvery))
    return Outcome(
      metrics: zip(metricNames, values).map { Metric($0, $1) },
      series: [
        Series(name: "training_mse", xStart: bin, xStep: bin, values: state.trainingCurve),
        Series(name: "validation_mse", xStart: every, xStep: every, values: state.validationCurve),
        Series(
          name: "mean_abs_error_per_cycle", xStart: 1, xStep: 1, values: evaluation.meanAbsoluteErrorPerCycle),
        Series(name: "mse_per_boolean_function", xStart: 0, xStep: 1, values: evaluation.perFunctionMSE),
      ],
      // The final meta-state (parameters, Adam's moments, curves): its SHA-256, journaled, tells
      // whether two runs ended bit for bit alike, whichever workers and rounds computed them.
      artifacts: [Artifact(name: "meta_state", bytes: state.binaryEncoded())])
  }
}

/// Which Boolean functions meta-training draws from.
public enum BooleanFunctionSet: String, Sendable, Equatable, CaseIterable {
  /// All 16.
  case all
  /// All but XOR and XNOR (the B14 probe; testing keeps all 16).
  case noXor = "no-xor"
}

/// Which parameters an lstm-metalearning run tests.
public enum TestedParameters: String, Sendable, Equatable, CaseIterable {
  /// Those after the last step.
  case final
  /// Those of the lowest validation MSE so far (the final ones if never validated).
  case best
}

/// The validated settings of one lstm-metalearning run, filled in from the parameters declared
/// (once each) in ``parameters``.
public struct LSTMMetaLearningConfig: ExperimentConfig, Equatable {
  /// Meta-training settings as the parameters set them (the Boolean function mask aside:
  /// ``trainingSettings`` applies ``booleanFunctions``).
  public var training = MetaTrainingSettings()
  /// Which Boolean functions meta-training draws (all).
  public var booleanFunctions = BooleanFunctionSet.all
  /// Meta-training steps (8000).
  public var steps = 8000
  /// Test sequences (500).
  public var testSequences = 500
  /// Cycles per test sequence (256).
  public var testLength = 256
  /// Cycles per function at test in stream mode (256).
  public var testSegmentLength = 256
  /// Which parameters are tested (final).
  public var testedParameters = TestedParameters.final

  public init() {}

  public static let experimentName = "lstm-metalearning"

  public static let parameters: [ParameterDeclaration<LSTMMetaLearningConfig>] = [
    .choice(
      "family", \.training.sequences.family, default: .boolean,
      "Function family: boolean (16 two-input functions), semilinear (½(1+tanh(w·x+w3))) or quadratic (rescaled to [0.2, 0.8])."
    ),
    .choice(
      "boolean_functions", \.booleanFunctions, default: .all,
      "Boolean functions drawn in meta-training: all 16, or no-xor (the B14 probe: XOR and XNOR left out; testing keeps all 16)."
    ),
    .int(
      "hidden_units", \.training.shape.hidden, in: 1...1024, default: 12,
      "LSTM units H (24 for the quadratic row)."),
    .int(
      "dense_units", \.training.shape.dense, in: 0...1024, default: 0,
      "Units of a dense tanh layer after the LSTM; 0 for none (40 for quadratic)."),
    .choice(
      "readout", \.training.shape.readout, default: .sigmoid, "Output unit: sigmoid (the paper) or linear."),
    .int(
      "sequence_length_train", \.training.trainingLength, in: 1...100_000, default: 64,
      "Cycles per meta-training sequence, L_train."),
    .int("batch", \.training.batchSize, in: 1...4096, default: 32, "Sequences per meta-training step, B."),
    .int("steps", \.steps, in: 0...100_000_000, default: 8000, "Meta-training steps (the budget)."),
    .float("learning_rate", \.training.learningRate, in: 1e-9...1, default: 0.003, "Adam's step size α."),
    .float(
      "clip_norm", \.training.clipNorm, in: 1e-9...1e9, default: 1.0,
      "Largest global gradient norm; larger gradients are scaled down."),
    .choice(
      "mode", \.training.sequences.mode, default: .episodic,
      "episodic (one function per sequence, state reset) or stream (function switches every segment, no reset)."
    ),
    .int(
      "segment_length", \.training.sequences.segmentLength, in: 1...1_000_000, default: 64,
      "Stream mode: cycles per function in meta-training."),
    .int(
      "test_segment_length", \.testSegmentLength, in: 1...1_000_000, default: 256,
      "Stream mode: cycles per function at test."),
    .int("test_sequences", \.testSequences, in: 1...1_000_000, default: 500, "Fresh test sequences."),
    .int("test_length", \.testLength, in: 1...1_000_000, default: 256, "Cycles per test sequence."),
    .int(
      "validation_every", \.training.validationEvery, in: 0...100_000_000, default: 500,
      "Steps between validations that keep the best-so-far parameters; 0 for none."),
    .int(
      "validation_sequences", \.training.validationSequences, in: 1...100_000, default: 64,
      "Validation sequences (length sequence_length_train)."),
    .choice(
      "test_parameters", \.testedParameters, default: .final,
      "Parameters tested: final (after the last step) or best (lowest validation MSE so far; final if never validated)."
    ),
    .int(
      "curve_bin", \.training.curveBin, in: 1...1_000_000, default: 100,
      "Steps averaged into one training-curve point."),
    .int(
      "threads", \.training.threads, in: 1...256, default: 1,
      "Threads for per-sequence gradients and testing; results do not depend on it."),
    .int(
      "shards", \.training.shards, in: 1...4096, default: 1,
      "Shards of each step's batch (at most batch). Above 1 a coordinator runs the run in rounds: each step's "
        + "shards go to any workers and are summed in shard order, bit-identical to one process with the same "
        + "shards, whatever the worker count."
    ).keyedOnlyWhenSet(),
  ]

  public func check() throws {
    if training.shards > training.batchSize {
      throw ExperimentError(
        message:
          "lstm-metalearning: shards (\(training.shards)) must be at most batch (\(training.batchSize)): a shard "
          + "holds at least one sequence.")
    }
    if booleanFunctions == .noXor && training.sequences.family != .boolean {
      throw ExperimentError(message: "lstm-metalearning: boolean_functions no-xor needs family boolean.")
    }
  }

  /// The meta-training settings of the run.
  public var trainingSettings: MetaTrainingSettings {
    var settings = training
    if booleanFunctions == .noXor {
      settings.sequences.booleanFunctionMask =
        0xFFFF & ~(1 << UInt16(DrawnFunction.xorIndex)) & ~(1 << UInt16(DrawnFunction.xnorIndex))
    }
    return settings
  }

  /// Threads for testing (the training threads).
  public var threads: Int { training.threads }

  /// Whether the best-validation parameters are tested instead of the final ones.
  public var testsBestParameters: Bool { testedParameters == .best }

  /// Test sequences: the training family and mode with every Boolean function allowed, and the
  /// test segment length in stream mode.
  public var testSequenceSettings: SequenceSettings {
    var s = training.sequences
    s.booleanFunctionMask = 0xFFFF
    s.segmentLength = testSegmentLength
    return s
  }
}
