import Datasets
import SweepModel
import TrainingCore

/// Continual learning with gradient-reconstruction meta-networks ("Enabling Continual Learning in
/// Neural Networks with Meta Learning", meta-experiments.md §1): an MLP learns permuted-image tasks
/// in sequence; `meta-sign` trains a coordinate-wise predictor of each task's gradient and on later
/// tasks applies only the gradient coordinates whose sign agrees with the old tasks' predicted mean
/// (``ContinualRun``). Every task's test accuracy is measured every `evaluate_every` iterations:
/// the accuracy matrix, from which ACC, BWT, forgetting and start-of-task accuracy follow.
///
/// A chained run: a segment ends after `segment_steps` iterations or at a task's end, and any
/// segmentation gives the same bits.
public enum PermutedContinualExperiment: Experiment {
  /// The most tasks a run may have (the descriptor lists a series per task).
  public static let maxTasks = 10
  /// The diagnostic series after the per-task accuracies.
  static let diagnostics = [
    "theta_rms", "zeroed_fraction", "growing_fraction", "predictor_loss", "sign_agreement",
  ]

  public static let descriptor = ExperimentDescriptor(
    name: "permuted-continual",
    summary:
      "continual learning on permuted images: sgd, meta-sign (gradient-reconstruction predictors and the sign rule), "
      + "meta-sign-distill, oracle-sign, ewc",
    parameters: PermutedContinualConfig.parameterDescriptors,
    metrics: [
      "acc", "bwt", "forgetting", "start_accuracy_later", "zeroed_fraction", "growing_fraction",
      "sign_agreement",
      "diverged", "diverged_at",
    ]
      + (1...maxTasks).flatMap {
        ["after_task_\($0)", "final_task_\($0)", "start_task_\($0)", "forgetting_task_\($0)"]
      },
    series: (1...maxTasks).map { "task_\($0)" } + diagnostics,
    seriesXLabel: "iteration"
  ).withFigures(
    titles: (1...maxTasks).reduce(into: [
      "theta_rms": "RMS of θ", "zeroed_fraction": "fraction of coordinates the rule zeroes",
      "growing_fraction": "fraction of applied updates that grow |θⱼ|",
      "predictor_loss": "predictor regression loss",
      "sign_agreement": "sign agreement, predicted vs true old gradients",
    ]) { $0["task_\($1)"] = "test accuracy of task \($1)" },
    taskSwitches: { ExperimentDescriptor.switches(every: "iterations", tasks: "tasks", $0) }
  ).withMetricDirections([
    "acc": .higherIsBetter, "bwt": .higherIsBetter, "forgetting": .lowerIsBetter,
    "start_accuracy_later": .higherIsBetter, "after": .higherIsBetter, "final": .higherIsBetter,
    "start": .higherIsBetter,
  ])

  public static func validate(parameters: Parameters) throws {
    _ = try PermutedContinualConfig(parameters: parameters)
  }

  public static func resolve(parameters: Parameters) throws -> Parameters {
    let config = try PermutedContinualConfig(parameters: parameters)
    let (resolved, dataset) = try config.data.resolved(parameters)
    if let dataset { try config.checkShape(of: dataset) }
    return resolved
  }

  public static func metrics(for parameters: Parameters) -> [String] {
    guard let config = try? PermutedContinualConfig(parameters: parameters) else { return descriptor.metrics }
    let tasks = config.taskCount
    return descriptor.metrics.filter { name in
      guard let k = name.split(separator: "_").last.flatMap({ Int($0) }) else { return true }
      return k <= tasks && !(name.hasPrefix("forgetting_task_") && k == tasks)
    }
  }

  public static func series(for parameters: Parameters) -> [String] {
    guard let config = try? PermutedContinualConfig(parameters: parameters) else { return descriptor.series }
    return (1...config.taskCount).map { "task_\($0)" } + diagnostics
  }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    guard
      case .finished(let outcome) = try runSegment(
        parameters: parameters, seed: seed, checkpoint: nil, maxSteps: 0)
    else { throw ExperimentError(message: "permuted-continual: a whole run ended early") }
    return outcome
  }

  public static func runSegment(parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?, maxSteps: Int)
    throws -> SegmentOutcome
  {
    let config = try PermutedContinualConfig(parameters: parameters)
    let dataset = try config.data.loadPinned(experiment: descriptor.name)
    let settings = config.runSettings
    var run = try ContinualRun(
      settings: settings, tasks: try config.tasks(from: dataset, seed: seed), seed: seed)
    var state = run.initialState()
    if let checkpoint {
      do {
        state = try ContinualState(binary: checkpoint, run: run)
      } catch {
        throw ExperimentError(message: "permuted-continual: cannot continue from the checkpoint: \(error)")
      }
    }
    // A whole run (maxSteps 0) goes on through the task boundaries a segment stops at.
    repeat {
      run.train(&state, maxIterations: maxSteps)
    } while maxSteps == 0 && !run.isFinished(state)
    guard run.isFinished(state) else {
      return .checkpoint(
        bytes: state.binaryEncoded(), stepsDone: state.task * settings.iterations + state.iteration,
        totalSteps: run.totalIterations)
    }
    return .finished(outcome(state, settings: settings, tasks: config.taskCount))
  }

  /// The run's metrics and curves from its final state (meta-experiments.md §1.4, with Lopez-Paz and
  /// Ranzato's definitions): R[i][j] is task j's accuracy at the end of task i; ACC the mean of the
  /// last row, BWT the mean over j < T of R[T][j] − R[j][j], forgetting of task j the largest
  /// R[i][j] over i from j to T − 1 minus R[T][j]; a task's start accuracy is at the first
  /// evaluation point after its training began.
  static func outcome(_ state: ContinualState, settings: ContinualSettings, tasks: Int) -> Outcome {
    let every = settings.evaluateEvery
    let perTask = settings.iterations / every
    // R[i]: the evaluation row at the end of task i.
    let r = (0..<tasks).map { state.accuracy[(1 + $0) * perTask] }
    let last = r[tasks - 1]
    let acc = last.reduce(0, +) / Double(tasks)
    // A diverged network (a non-finite minibatch loss) stopped training there; its accuracies
    // after that are what NaN logits predict.
    var metrics = [Metric("acc", acc), Metric("diverged", state.divergedAt == nil ? 0 : 1)]
    if let at = state.divergedAt { metrics.append(Metric("diverged_at", Double(at))) }
    var forgettings: [Double] = []
    for j in 0..<tasks {
      metrics.append(Metric("after_task_\(j + 1)", r[j][j]))
      metrics.append(Metric("final_task_\(j + 1)", last[j]))
      metrics.append(Metric("start_task_\(j + 1)", state.accuracy[j * perTask + 1][j]))
      if j < tasks - 1 {
        let forgetting = (j..<(tasks - 1)).map { r[$0][j] }.max()! - last[j]
        forgettings.append(forgetting)
        metrics.append(Metric("forgetting_task_\(j + 1)", forgetting))
      }
    }
    if tasks > 1 {
      metrics.append(
        Metric("bwt", (0..<(tasks - 1)).map { last[$0] - r[$0][$0] }.reduce(0, +) / Double(tasks - 1)))
      metrics.append(Metric("forgetting", forgettings.reduce(0, +) / Double(forgettings.count)))
    }
    // The spec's criterion (c) compares tasks 3-5's start; with fewer tasks, every task after the first.
    let later = tasks >= 3 ? Array(2..<tasks) : Array(1..<tasks)
    if !later.isEmpty {
      metrics.append(
        Metric(
          "start_accuracy_later",
          later.map { state.accuracy[$0 * perTask + 1][$0] }.reduce(0, +) / Double(later.count)))
    }
    let zeroed = state.zeroedFraction.suffix(from: min(perTask, state.zeroedFraction.count)).filter(
      \.isFinite)
    if !zeroed.isEmpty {
      metrics.append(Metric("zeroed_fraction", zeroed.reduce(0, +) / Double(zeroed.count)))
    }
    // The same mean over tasks after the first, of the fraction of updates that grew |θ_j|.
    let growing = state.growingFraction.suffix(from: min(perTask, state.growingFraction.count)).filter(
      \.isFinite)
    if !growing.isEmpty {
      metrics.append(Metric("growing_fraction", growing.reduce(0, +) / Double(growing.count)))
    }
    let agreements = state.signAgreement.filter(\.isFinite)
    if !agreements.isEmpty {
      metrics.append(Metric("sign_agreement", agreements.reduce(0, +) / Double(agreements.count)))
    }
    let x = Double(every)
    var series = (0..<tasks).map { k in
      Series(name: "task_\(k + 1)", xStart: 0, xStep: x, values: state.accuracy.map { $0[k] })
    }
    series += [
      Series(name: "theta_rms", xStart: 0, xStep: x, values: state.thetaRMS),
      Series(name: "zeroed_fraction", xStart: x, xStep: x, values: state.zeroedFraction),
      Series(name: "growing_fraction", xStart: x, xStep: x, values: state.growingFraction),
      Series(name: "predictor_loss", xStart: x, xStep: x, values: state.predictorLoss),
      Series(name: "sign_agreement", xStart: x, xStep: x, values: state.signAgreement),
    ]
    return Outcome(metrics: metrics, series: series)
  }
}

/// The validated settings of one `permuted-continual` run; defaults are meta-experiments.md §1.2's
/// smoke column.
public struct PermutedContinualConfig: ExperimentConfig, Equatable {
  public var data = PinnedImageData()
  public var settings = ContinualSettings()
  public var taskCount = 3
  /// 28 (the images as they are) or 14 (2 × 2 average pooling, the smoke size).
  public var side = 14
  public var hiddenText = "64,64"
  public var predictorHiddenText = "32,32"
  public var permuteFirst = false
  public var trainImages = 0

  public init() {}

  public static let experimentName = "permuted-continual"

  public static let parameters: [ParameterDeclaration<PermutedContinualConfig>] =
    ParameterDeclaration<PermutedContinualConfig>.imageData(at: \.data) + [
      .int(
        "side", \.side, in: 14...28, default: 14, "Image side: 28 as stored, or 14 by 2 × 2 average pooling."),
      .int(
        "tasks", \.taskCount, in: 1...PermutedContinualExperiment.maxTasks, default: 3,
        "Permuted tasks in sequence."),
      .bool(
        "permute_first", \.permuteFirst, default: false,
        "Whether task 1 is permuted too (false: task 1 is the images as they are)."),
      .int(
        "train_images", \.trainImages, in: 0...10_000_000, default: 0,
        "Training images used, the first (0: all)."),
      .choice("method", \.settings.method, default: .metaSign, ContinualMethod.summary),
      .int("iterations", \.settings.iterations, in: 1...10_000_000, default: 400, "SGD iterations per task."),
      .int("batch", \.settings.batch, in: 1...4096, default: 32, "Images per minibatch."),
      .float("learning_rate", \.settings.learningRate, in: 1e-8...10, default: 0.01, "SGD's step size α."),
      .text(
        "hidden", \.hiddenText, default: "64,64", "The main network's hidden ReLU layers (\"256,256,256\")."),
      .text(
        "predictor_hidden", \.predictorHiddenText, default: "32,32",
        "The predictor's hidden ReLU layers (\"256,256,256\" in the paper)."),
      .float(
        "predictor_learning_rate", \.settings.predictorLearningRate, in: 1e-8...1, default: 1e-3,
        "Adam's step size for the predictors and the distillation."),
      .int(
        "predictor_coordinates", \.settings.predictorCoordinates, in: 0...100_000_000, default: 0,
        "Coordinates per predictor regression step: 0 for all, m for m drawn per step."),
      .int(
        "chunk", \.settings.chunk, in: 1...10_000_000, default: 16_384,
        "Coordinates per predictor chunk (memory: chunk × the widest predictor layer); 4096 lets threads share "
          + "a small network's coordinates. Results differ in the last bits between chunk sizes."),
      .int(
        "threads", \.settings.threads, in: 1...256, default: 1,
        "Threads over predictor chunks (results do not depend on it)."),
      .int(
        "evaluate_every", \.settings.evaluateEvery, in: 1...10_000_000, default: 50,
        "Iterations between evaluations of every task (it must divide iterations)."),
      .int(
        "test_images", \.settings.testImages, in: 1...1_000_000, default: 500,
        "Test images per task at each evaluation (the first)."),
      .int(
        "distill_steps", \.settings.distillSteps, in: 1...1_000_000, default: 200,
        "meta-sign-distill: Adam steps per distillation."),
      .int(
        "distill_grid", \.settings.distillGrid, in: 2...10_000_000, default: 8192,
        "meta-sign-distill: grid points over θ's range (θ's own values are added)."),
      .double("ewc_weight", \.settings.ewcWeight, in: 0...1e12, default: 100, "ewc: λ."),
      .int(
        "fisher_images", \.settings.fisherImages, in: 1...1_000_000, default: 200, "ewc: images per Fisher."),
      .int(
        "oracle_images", \.settings.oracleImages, in: 1...100_000, default: 64,
        "oracle-sign and the sign-agreement diagnostic: each old task's stored minibatch."),
    ]

  /// ``settings`` with the layer sizes `hidden` and `predictor_hidden` give (after ``check()``).
  public var runSettings: ContinualSettings {
    var out = settings
    out.hidden = (try? Self.layers(hiddenText, "hidden")) ?? []
    out.predictorHidden = (try? Self.layers(predictorHiddenText, "predictor_hidden")) ?? []
    return out
  }

  public func check() throws {
    _ = try Self.layers(hiddenText, "hidden")
    _ = try Self.layers(predictorHiddenText, "predictor_hidden")
    guard side == 14 || side == 28 else {
      throw ExperimentError(message: "permuted-continual parameter side: 14 or 28, not \(side).")
    }
    if settings.iterations % settings.evaluateEvery != 0 {
      throw ExperimentError(
        message:
          "permuted-continual: evaluate_every (\(settings.evaluateEvery)) must divide iterations (\(settings.iterations)), "
          + "so that every task ends at an evaluation.")
    }
    try data.check(experiment: Self.experimentName)
  }

  /// "64,64" read: one or more layer sizes, 1-65,536 each.
  static func layers(_ text: String, _ name: String) throws -> [Int] {
    let sizes = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) >= 1 && $0! <= 65_536 }) else {
      throw ExperimentError(
        message: "permuted-continual parameter \(name): '\(text)' must list layer sizes, as \"64,64\".")
    }
    return sizes.map { $0! }
  }

  /// Refuses a dataset whose images are not 28 × 28 grey ones.
  func checkShape(of dataset: ImageDataset) throws {
    guard dataset.channels == 1, dataset.rows == 28, dataset.columns == 28 else {
      throw ExperimentError(
        message:
          "permuted-continual: \(data.description) has \(dataset.channels) × \(dataset.rows) × \(dataset.columns) images; "
          + "permuted tasks take 28 × 28 grey ones (MNIST, Fashion-MNIST, SynthDigits).")
    }
  }

  /// The permuted tasks of `dataset` for a run with root seed `seed`.
  public func tasks(from dataset: ImageDataset, seed: UInt64) throws -> PermutedTasks {
    try checkShape(of: dataset)
    let count = trainImages > 0 ? min(trainImages, dataset.train.count) : dataset.train.count
    let pooling = side == 14
    func pixels(_ split: ImageSplit, count: Int) -> [Float] {
      let source = split.images
      guard pooling else { return source[0..<(count * 784)].map { Float($0) / 255 } }
      var out = [Float](repeating: 0, count: count * 196)
      for n in 0..<count {
        for i in 0..<14 {
          for j in 0..<14 {
            let top = n * 784 + 2 * i * 28 + 2 * j
            let sum = Int(source[top]) + Int(source[top + 1]) + Int(source[top + 28]) + Int(source[top + 29])
            out[n * 196 + i * 14 + j] = Float(sum) / (4 * 255)
          }
        }
      }
      return out
    }
    return PermutedTasks(
      trainImages: pixels(dataset.train, count: count),
      trainLabels: dataset.train.labels.prefix(count).map { Int32($0) },
      testImages: pixels(dataset.test, count: dataset.test.count),
      testLabels: dataset.test.labels.map { Int32($0) },
      pixels: side * side, classes: dataset.classes, tasks: taskCount, seed: seed, permuteFirst: permuteFirst)
  }
}

extension ContinualMethod {
  /// What `metasweep experiments` says of the choice.
  static let summary =
    "The update on tasks after the first: sgd, meta-sign (predicted old gradients), meta-sign-distill (one "
    + "distilled predictor), oracle-sign (true old gradients on a stored minibatch) or ewc."
}
