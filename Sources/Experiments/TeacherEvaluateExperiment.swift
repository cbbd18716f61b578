import Datasets
import SweepModel
import TrainingCore

/// The meta-test of "Learning to Remember from a Multi-Task Teacher" (meta-experiments.md §3.1e):
/// from a pretrained network (input `network`) with a union head, one method learns task B on task
/// B's meta-test half, and linear readouts of the frozen representation measure what it keeps of
/// task A and what it learns of task B as it goes; the joint readout over both tasks' classes at the
/// end is Table 1's number. The method `ours` also needs the input `meta_state` (a
/// `teacher-metatrain` artifact); the other methods leave it unbound.
public enum TeacherEvaluateExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "teacher-evaluate",
    summary:
      "one method learns task B from a pretrained network (input `network`); readouts measure forgetting",
    parameters: TeacherEvaluateConfig.parameterDescriptors,
    metrics: [
      "joint_readout", "readout_a", "readout_b", "original_a", "forgetting_a", "delta_negative_fraction",
      "delta_cv",
    ],
    series: ["readout_a", "readout_b", "original_a", "delta_histogram"],
    seriesXLabel: "update step on task B",
    seriesXLabels: [
      "delta_histogram": "δ of the last step (bins of 0.1; the end bins hold everything beyond)"
    ]
  ).withFigures(titles: [
    "original_a": "task A accuracy of the original head", "readout_a": "task A accuracy of a linear readout",
    "readout_b": "task B accuracy of a linear readout",
    "delta_histogram": "share of the meta-learner's outputs δ at the last step",
  ]).withMetricDirections([
    "joint_readout": .higherIsBetter, "readout_a": .higherIsBetter, "readout_b": .higherIsBetter,
    "original_a": .higherIsBetter, "forgetting_a": .lowerIsBetter,
  ])

  /// Fig. 7's histogram of δ comes from `ours` only.
  public static func series(for parameters: Parameters) -> [String] {
    guard case .string(let method) = parameters["method"], method == ForgettingMethod.ours.rawValue else {
      return ["readout_a", "readout_b", "original_a"]
    }
    return descriptor.series
  }

  /// The fraction of `deltas` in each bin of 0.1 from −2 to 2 (40 bins), values beyond in the end
  /// bins: the meta-learners' outputs at the last meta-test step (Fig. 7).
  static func histogram(_ deltas: [Double]) -> [Double] {
    var bins = [Double](repeating: 0, count: 40)
    for delta in deltas where delta.isFinite {
      bins[min(39, max(0, Int(((delta + 2) * 10).rounded(.down))))] += 1
    }
    return bins.map { $0 / Double(max(1, deltas.count)) }
  }

  public static func validate(parameters: Parameters) throws {
    _ = try TeacherEvaluateConfig(parameters: parameters)
  }

  public static func resolve(parameters: Parameters) throws -> Parameters {
    try TeacherEvaluateConfig(parameters: parameters).tasks.resolved(parameters, experiment: descriptor.name)
  }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    throw ExperimentError(
      message:
        "teacher-evaluate starts from another run's artifact (its input 'network'): run it as a stage of a sweep graph"
    )
  }

  public static func run(parameters: Parameters, seed: UInt64, inputs: ArtifactInputs) throws -> Outcome {
    let config = try TeacherEvaluateConfig(parameters: parameters)
    let tasks = try config.tasks.loadTasks(experiment: descriptor.name)
    let (network, initial) = try TeacherMetaTrainExperiment.unionNetwork(
      inputs: inputs, parameters: parameters, tasks: tasks, seed: seed, experiment: descriptor.name)
    var meta: (settings: TeacherGuidedSettings, parameters: [[Float]])?
    if config.method == .ours {
      let bytes = try inputs.artifact(of: "meta_state", in: parameters, experiment: descriptor.name)
      let step = TeacherGuidedStep<Float>(network: network, settings: config.metaLearner, batchCapacity: 1)
      do {
        meta = (config.metaLearner, try TeacherMetaTrainingState(binary: bytes, step: step).meta)
      } catch {
        throw ExperimentError(
          message:
            "teacher-evaluate: the input 'meta_state' does not fit this network's meta-learners (hidden_units, "
            + "lstm_layers, groupnorm_rule, groupnorm_hidden_units and the network must be those of its "
            + "teacher-metatrain run): \(error)")
      }
    }
    let curves = ForgettingEvaluation.run(
      method: config.method, network: network, initial: initial,
      tasks: .init(
        trainA: tasks.trainA, testA: tasks.testA, trainB: tasks.trainB2, testB: tasks.testB,
        classesA: tasks.classesA,
        classesB: tasks.classesB),
      meta: meta, settings: config.evaluation, seed: seed)
    let deltas = curves.lastDeltas.map(Double.init)
    var negative = Double.nan
    var variation = Double.nan
    if !deltas.isEmpty {
      negative = Double(deltas.filter { $0 < 0 }.count) / Double(deltas.count)
      let mean = deltas.reduce(0, +) / Double(deltas.count)
      let variance = deltas.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(deltas.count)
      variation = variance.squareRoot() / abs(mean)
    }
    let every = Double(config.evaluation.evaluateEvery)
    return Outcome(
      metrics: [
        Metric("joint_readout", curves.jointReadout), Metric("readout_a", curves.readoutA.last ?? .nan),
        Metric("readout_b", curves.readoutB.last ?? .nan),
        Metric("original_a", curves.originalA.last ?? .nan),
        Metric("forgetting_a", (curves.readoutA.first ?? .nan) - (curves.readoutA.last ?? .nan)),
        Metric("delta_negative_fraction", negative), Metric("delta_cv", variation),
      ],
      series: [
        Series(name: "readout_a", xStart: 0, xStep: every, values: curves.readoutA),
        Series(name: "readout_b", xStart: 0, xStep: every, values: curves.readoutB),
        Series(name: "original_a", xStart: 0, xStep: every, values: curves.originalA),
      ]
        + (deltas.isEmpty
          ? [] : [Series(name: "delta_histogram", xStart: -1.95, xStep: 0.1, values: histogram(deltas))]))
  }
}

extension ForgettingMethod {
  /// For `metasweep experiments`.
  static let summary =
    "freeze, sgd, sgd-0.1, lwf, ewc, ours (the meta-learners; needs the input meta_state) or teacher (multi-task SGD)."
}

/// The validated settings of one `teacher-evaluate` run; defaults are meta-experiments.md §3.2's
/// smoke column.
public struct TeacherEvaluateConfig: ExperimentConfig, Equatable {
  /// The inputs' SHA-256s, set by the graph.
  public var network = ""
  public var metaState = ""
  public var method = ForgettingMethod.sgd
  public var tasks = TeacherDataConfig()
  public var evaluation = ForgettingEvaluationSettings()
  /// The meta-learners' size, as in the teacher-metatrain run that made `meta_state`.
  public var metaLearner = TeacherGuidedSettings.smoke

  public init() {}

  public static let experimentName = "teacher-evaluate"

  public static let parameters: [ParameterDeclaration<TeacherEvaluateConfig>] =
    [
      ParameterDeclaration(
        ParameterDescriptor(
          "network", .artifact(isList: false), default: .string(""),
          "Input: the pretrained network (a convnet-pretrain run's artifact `network`), bound by the graph.")
      ) { config, value in
        if case .string(let hash) = value { config.network = hash }
      },
      ParameterDeclaration(
        ParameterDescriptor(
          "meta_state", .artifact(isList: false), default: .string(""),
          "Input of method ours: the meta-learners (a teacher-metatrain run's artifact `meta_state`).")
      ) { config, value in
        if case .string(let hash) = value { config.metaState = hash }
      }.optionalInput(),
      .choice("method", \.method, default: .sgd, ForgettingMethod.summary),
    ]
    + TeacherDataConfig.declarations(
      at: \.tasks, data: \.tasks.data, taskA: \.tasks.taskA, taskB: \.tasks.taskB,
      trainImages: \.tasks.trainImages) + [
      .int(
        "b_sample", \.tasks.classSampleB, in: 0...1_000_000, default: 0,
        "Exp 2: which sample (1, 2, ...) of b_classes classes of task_b is task B; the same classes for every "
          + "method and seed (0 without b_classes)."),
      .int(
        "steps", \.evaluation.steps, in: 1...1_000_000, default: 100, "Updates on task B's meta-test images."),
      .int("batch", \.evaluation.batch, in: 1...4096, default: 64, "Images per update."),
      .int(
        "evaluate_every", \.evaluation.evaluateEvery, in: 1...1_000_000, default: 25,
        "Steps between readouts."),
      .float(
        "sgd_learning_rate", \.evaluation.sgdLearningRate, in: 1e-8...10, default: 0.01,
        "sgd's learning rate."),
      .float("sgd_momentum", \.evaluation.sgdMomentum, in: 0...0.999, default: 0.5, "sgd's momentum."),
      .float("step_size", \.evaluation.stepSize, in: 1e-8...10, default: 0.05, "α of ours and the teacher."),
      .double("lwf_weight", \.evaluation.lwfWeight, in: 0...1e9, default: 1, "LwF's λ."),
      .double(
        "lwf_temperature", \.evaluation.lwfTemperature, in: 1e-3...1e3, default: 2, "LwF's temperature T."),
      .double("ewc_weight", \.evaluation.ewcWeight, in: 0...1e12, default: 1, "EWC's λ."),
      .int(
        "fisher_images", \.evaluation.fisherImages, in: 1...1_000_000, default: 1000,
        "Task-A images EWC's exact diagonal Fisher averages over."),
      .int(
        "readout_images", \.evaluation.readoutImages, in: 1...1_000_000, default: 2000,
        "Training images each linear readout learns from."),
      .int(
        "readout_steps", \.evaluation.readout.steps, in: 1...100_000, default: 500,
        "Full-batch Adam steps of each readout (from zero weights, so it is deterministic)."),
      .float(
        "readout_step_size", \.evaluation.readout.learningRate, in: 1e-6...10, default: 0.1,
        "Adam's step size for the readouts."),
      .int(
        "hidden_units", \.metaLearner.hidden, in: 1...1024, default: 16,
        "ours: the meta-learners' LSTM units."),
      .int(
        "lstm_layers", \.metaLearner.lstmLayers, in: 1...8, default: 2,
        "ours: the meta-learners' LSTM layers."),
      .choice(
        "groupnorm_rule", \.metaLearner.groupNormRule, default: .sgd,
        "ours: how GroupNorm's γ and β learn, as in the teacher-metatrain run (sgd or meta)."
      ).keyedOnlyWhenSet(),
      .int(
        "groupnorm_hidden_units", \.metaLearner.groupNormHidden, in: 1...1024, default: 16,
        "ours: the GroupNorm meta-learners' LSTM units (groupnorm_rule meta)."
      ).keyedOnlyWhenSet(),
    ]

  public func check() throws {
    try tasks.check(experiment: Self.experimentName)
    if (tasks.drawnClassesB > 0) != (tasks.classSampleB > 0) {
      throw ExperimentError(
        message:
          "teacher-evaluate: b_classes and b_sample go together: with b_classes > 0, b_sample (1, 2, ...) names "
          + "the class sample task B is; without it, b_sample must be 0.")
    }
    if method == .ours && metaState.isEmpty {
      throw ExperimentError(
        message:
          "teacher-evaluate: method ours needs the meta-learners: bind the input meta_state to a teacher-metatrain "
          + "stage's artifact meta_state (select: same-seed).")
    }
    if evaluation.steps % evaluation.evaluateEvery != 0 {
      throw ExperimentError(
        message:
          "teacher-evaluate: steps (\(evaluation.steps)) must be a multiple of evaluate_every (\(evaluation.evaluateEvery))."
      )
    }
  }
}
