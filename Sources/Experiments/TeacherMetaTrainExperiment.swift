import Datasets
import SweepModel
import TrainingCore

/// Meta-trains the per-layer meta-learners of "Learning to Remember from a Multi-Task Teacher"
/// (meta-experiments.md §3.1d) from a pretrained network (input `network`, a `convnet-pretrain`
/// artifact that learnt task A): every episode starts a student and a multi-task teacher from it,
/// with a union head over task A's and task B's classes, and the meta-learners learn to keep the
/// student's representation where the teacher's goes while the student learns task B alone, on
/// task B's meta-training half.
///
/// A chained run: a segment stops at a truncation boundary (where the checkpoint needs no open
/// window), and any segmentation gives the same bits. The artifact `meta_state` is the final
/// ``TeacherMetaTrainingState``, which `teacher-evaluate` reads for the method `ours`.
public enum TeacherMetaTrainExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "teacher-metatrain",
    summary:
      "meta-trains per-layer LSTM meta-learners with a multi-task teacher (input `network`); artifact `meta_state`",
    parameters: TeacherMetaTrainConfig.parameterDescriptors,
    metrics: ["final_episode_steps", "final_mean_loss", "inner_steps"],
    series: ["episode_steps", "episode_final_loss", "episode_mean_loss", "tau", "window", "episode_member"],
    seriesXLabel: "episode",
    artifacts: ["meta_state"]
  ).withFigures(titles: [
    "episode_steps": "steps taken in the episode", "episode_final_loss": "loss at the episode's last step",
    "episode_mean_loss": "mean loss over the episode", "tau": "curriculum threshold τ",
    "window": "truncation window K", "episode_member": "pool member of the episode",
  ])

  public static func validate(parameters: Parameters) throws {
    _ = try TeacherMetaTrainConfig(parameters: parameters)
  }

  public static func resolve(parameters: Parameters) throws -> Parameters {
    try TeacherMetaTrainConfig(parameters: parameters).tasks.resolved(parameters, experiment: descriptor.name)
  }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    throw ExperimentError(
      message:
        "teacher-metatrain starts from another run's artifact (its input 'network'): run it as a stage of a sweep graph"
    )
  }

  public static func run(parameters: Parameters, seed: UInt64, inputs: ArtifactInputs) throws -> Outcome {
    guard
      case .finished(let outcome) = try runSegment(
        parameters: parameters, seed: seed, inputs: inputs, checkpoint: nil, maxSteps: 0)
    else { throw ExperimentError(message: "teacher-metatrain: a whole run ended early") }
    return outcome
  }

  public static func runSegment(
    parameters: Parameters, seed: UInt64, inputs: ArtifactInputs, checkpoint: [UInt8]?, maxSteps: Int
  ) throws -> SegmentOutcome {
    let config = try TeacherMetaTrainConfig(parameters: parameters)
    let tasks = try config.tasks.loadTasks(experiment: descriptor.name)
    let (network, pool) = try unionNetworks(
      inputs: inputs, parameters: parameters, tasks: tasks, seed: seed, experiment: descriptor.name)
    var settings = config.training
    settings.classesPerEpisode = config.tasks.drawnClassesB
    var step = TeacherGuidedStep<Float>(
      network: network, settings: settings.step, batchCapacity: settings.batchA + settings.batchB)
    var state = TeacherMetaTrainingState(step: step, settings: settings, seed: seed)
    if let checkpoint {
      do {
        state = try TeacherMetaTrainingState(binary: checkpoint, step: step)
      } catch {
        throw ExperimentError(message: "teacher-metatrain: cannot continue from the checkpoint: \(error)")
      }
    }
    TeacherMetaTraining.train(
      &state, step: &step, settings: settings, pool: pool, taskA: tasks.trainA, taskB: tasks.trainB1,
      taskBClasses: tasks.heldClassesB, seed: seed, maxInnerSteps: maxSteps)
    guard state.isFinished else {
      return .checkpoint(
        bytes: state.binaryEncoded(), stepsDone: state.episode * settings.maxSteps + state.stepInEpisode,
        totalSteps: settings.episodes * settings.maxSteps)
    }
    let tail = max(1, settings.episodes / 10)
    func tailMean(_ values: [Double]) -> Double {
      values.suffix(tail).reduce(0, +) / Double(min(tail, values.count))
    }
    return .finished(
      Outcome(
        metrics: [
          Metric("final_episode_steps", tailMean(state.episodeSteps)),
          Metric("final_mean_loss", tailMean(state.episodeMeanLoss)),
          Metric("inner_steps", Double(state.innerSteps)),
        ],
        series: [
          Series(name: "episode_steps", xStart: 1, xStep: 1, values: state.episodeSteps),
          Series(name: "episode_final_loss", xStart: 1, xStep: 1, values: state.episodeFinalLoss),
          Series(name: "episode_mean_loss", xStart: 1, xStep: 1, values: state.episodeMeanLoss),
          Series(
            name: "tau", xStart: 1, xStep: 1, values: (0..<settings.episodes).map(settings.tau(episode:))),
          Series(
            name: "window", xStart: 1, xStep: 1,
            values: (0..<settings.episodes).map { Double(settings.window(episode: $0)) }),
        ]
          // Which pool member each episode started from, when there is a pool.
          + (pool.count < 2
            ? []
            : [
              Series(
                name: "episode_member", xStart: 1, xStep: 1,
                values: (0..<settings.episodes).map {
                  Double(TeacherMetaTraining.poolMember(episode: $0, count: pool.count, seed: seed))
                })
            ]),
        artifacts: [Artifact(name: "meta_state", bytes: state.binaryEncoded())]))
  }

  /// The input networks (one, or a pool) with their union heads (task B's rows drawn from `seed`,
  /// the same for every member), checked against the tasks' images and classes and against each
  /// other: a pool's members must share one architecture.
  static func unionNetworks(
    inputs: ArtifactInputs, parameters: Parameters, tasks: TeacherTasks, seed: UInt64, experiment: String
  ) throws -> (ConvNet, [[Float]]) {
    let members = try inputs.artifacts(of: "network", in: parameters, experiment: experiment).map {
      try unionNetwork(bytes: $0, tasks: tasks, seed: seed, experiment: experiment)
    }
    if let other = members.firstIndex(where: { $0.0 != members[0].0 }) {
      throw ExperimentError(
        message:
          "\(experiment): the pool's networks differ in architecture (member 0 and member \(other)): meta-training "
          + "steers one architecture.")
    }
    return (members[0].0, members.map(\.1))
  }

  /// The input network with its union head (task B's rows drawn from `seed`), checked against the
  /// tasks' images and classes.
  static func unionNetwork(
    inputs: ArtifactInputs, parameters: Parameters, tasks: TeacherTasks, seed: UInt64, experiment: String
  ) throws -> (ConvNet, [Float]) {
    try unionNetwork(
      bytes: try inputs.artifact(of: "network", in: parameters, experiment: experiment), tasks: tasks,
      seed: seed, experiment: experiment)
  }

  private static func unionNetwork(bytes: [UInt8], tasks: TeacherTasks, seed: UInt64, experiment: String)
    throws
    -> (ConvNet, [Float])
  {
    let pretrained: (network: ConvNet, parameters: [Float])
    do {
      pretrained = try ConvNet.decode(bytes)
    } catch {
      throw ExperimentError(
        message: "\(experiment): the input 'network' is not a convnet-pretrain network: \(error)")
    }
    guard pretrained.network.input == tasks.shape, pretrained.network.output.count == tasks.classesA else {
      throw ExperimentError(
        message:
          "\(experiment): the input network takes \(pretrained.network.input) images into \(pretrained.network.output.count) "
          + "classes, but task A has \(tasks.classesA) classes of \(tasks.shape) images.")
    }
    do {
      return try pretrained.network.withUnionHead(
        parameters: pretrained.parameters, newClasses: tasks.classesB, seed: seed)
    } catch {
      throw ExperimentError(message: "\(experiment): \(error)")
    }
  }
}

/// The validated settings of one `teacher-metatrain` run; defaults are meta-experiments.md §3.2's
/// smoke column.
public struct TeacherMetaTrainConfig: ExperimentConfig, Equatable {
  /// The input network's SHA-256, set by the graph.
  public var network = ""
  public var tasks = TeacherDataConfig()
  public var training = TeacherMetaTrainingSettings()

  public init() {}

  public static let experimentName = "teacher-metatrain"

  public static let parameters: [ParameterDeclaration<TeacherMetaTrainConfig>] =
    [
      ParameterDeclaration(
        ParameterDescriptor(
          "network", .artifact(isList: true), default: .string(""),
          "Input: the pretrained network (a convnet-pretrain run's artifact `network`), or a pool of them "
            + "(select all-but-held-out), each episode starting from one drawn from the run's seed; bound by the graph."
        )
      ) { config, value in
        if case .string(let hash) = value { config.network = hash }
      }
    ]
    + TeacherDataConfig.declarations(
      at: \.tasks, data: \.tasks.data, taskA: \.tasks.taskA, taskB: \.tasks.taskB,
      trainImages: \.tasks.trainImages) + [
      .int("episodes", \.training.episodes, in: 1...1_000_000, default: 80, "Meta-training episodes."),
      .int(
        "max_steps", \.training.maxSteps, in: 1...100_000, default: 60,
        "T_max: inner steps at most per episode."),
      .int("batch_a", \.training.batchA, in: 1...4096, default: 64, "Task-A images in the teacher's batch."),
      .int("batch_b", \.training.batchB, in: 1...4096, default: 64, "Task-B images in both batches."),
      .double(
        "step_size", \.training.step.stepSize, in: 1e-6...10, default: 0.05,
        "α of the student and the teacher."),
      .double(
        "loss_scale", \.training.step.lossScale, in: 1e-6...1e6, default: 300,
        "c, the feature loss's coefficient."),
      .double("huber", \.training.step.huber, in: 1e-6...1e6, default: 1, "The Huber loss's δ."),
      .int(
        "hidden_units", \.training.step.hidden, in: 1...1024, default: 16,
        "Units of each meta-learner LSTM layer."),
      .int(
        "lstm_layers", \.training.step.lstmLayers, in: 1...8, default: 2,
        "Stacked LSTM layers per meta-learner."),
      .choice(
        "groupnorm_rule", \.training.step.groupNormRule, default: .sgd,
        "How GroupNorm's γ and β learn: sgd (plain SGD, like the biases) or meta (a meta-learner per GroupNorm "
          + "layer, as the paper's CIFAR ResNets: each channel's [γ, β, ∂γ, ∂β] in, δ of γ and β out)."
      ).keyedOnlyWhenSet(),
      .int(
        "groupnorm_hidden_units", \.training.step.groupNormHidden, in: 1...1024, default: 16,
        "Units of each LSTM layer of the GroupNorm meta-learners (groupnorm_rule meta)."
      ).keyedOnlyWhenSet(),
      .float(
        "meta_learning_rate", \.training.metaLearningRate, in: 1e-8...1, default: 1e-3,
        "Adam's step size for the meta-learners."),
      .double(
        "tau_start", \.training.tauStart, in: 0...1e9, default: 20, "τ_0: an episode ends when L exceeds τ_i."
      ),
      .double("tau_step", \.training.tauStep, in: 0...1e9, default: 5, "Δτ per curriculum level."),
      .double("tau_max", \.training.tauMax, in: 0...1e9, default: 30, "τ_max."),
      .int(
        "window_start", \.training.windowStart, in: 1...1000, default: 3,
        "K_0: inner steps per truncation window."),
      .int("window_step", \.training.windowStep, in: 0...1000, default: 1, "ΔK per curriculum level."),
      .int("window_max", \.training.windowMax, in: 1...1000, default: 5, "K_max."),
      .int(
        "level_episodes", \.training.levelEpisodes, in: 1...1_000_000, default: 25,
        "E: episodes per curriculum level."),
    ]

  public func check() throws {
    try tasks.check(experiment: Self.experimentName)
    if training.windowMax < training.windowStart {
      throw ExperimentError(message: "teacher-metatrain: window_max must be at least window_start.")
    }
  }
}
