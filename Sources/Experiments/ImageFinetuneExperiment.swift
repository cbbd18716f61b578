import Datasets
import SweepModel
import TrainingCore

/// Fine-tunes a pretrained pool member on new classes and measures what its representation forgot.
///
/// The input `network` (an `image-pretrain` artifact) learnt task A (`task_a`, classes "0-4"); this
/// run trains it on task B (`task_b`, "5-9"), then judges the representation by a linear readout
/// (``LinearReadout``) of its hidden units on task A, before and after: `forgetting` is the
/// readout's task-A test accuracy lost. Two methods:
/// - `sgd`: every weight learns task B online, one example a step (backprop, plain SGD with
///   `step_size`), through task B's training images in file order; the network's own head (its
///   outputs relabelled to task B's classes) gives `task_b_accuracy`;
/// - `frozen`: the hidden layer does not change; a linear readout trained on task B's hidden units
///   is the new head. Task A's readout is then unchanged by construction (`forgetting` is exactly
///   0), the floor a method that protects the representation can reach.
///
/// Deterministic from (network, parameters): the seed only names the run (the graph gives it the
/// pool member's), since training visits images in file order and readouts start from zero.
public enum ImageFinetuneExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "image-finetune",
    summary:
      "fine-tunes a pretrained network (input `network`) on new classes; measures forgetting by readouts",
    parameters: ImageFinetuneConfig.parameterDescriptors,
    metrics: ["readout_a_before", "readout_a_after", "forgetting", "task_b_accuracy"], series: [],
    artifacts: ["network"]
  ).withMetricDirections([
    "readout_a_before": .higherIsBetter, "readout_a_after": .higherIsBetter, "forgetting": .lowerIsBetter,
    "task_b_accuracy": .higherIsBetter,
  ])

  public static func validate(parameters: Parameters) throws {
    _ = try ImageFinetuneConfig(parameters: parameters)
  }

  public static func resolve(parameters: Parameters) throws -> Parameters {
    let config = try ImageFinetuneConfig(parameters: parameters)
    let (resolved, dataset) = try config.data.resolved(parameters)
    if let dataset {
      _ = try config.images(of: dataset, classes: config.taskA)
      _ = try config.images(of: dataset, classes: config.taskB)
    }
    return resolved
  }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    throw ExperimentError(
      message:
        "image-finetune consumes the artifact of another run (its input 'network'): run it as a stage of a "
        + "sweep graph")
  }

  public static func run(parameters: Parameters, seed: UInt64, inputs: ArtifactInputs) throws -> Outcome {
    let config = try ImageFinetuneConfig(parameters: parameters)
    let network = try inputs.artifact(of: "network", in: parameters, experiment: descriptor.name)
    let dataset = try config.data.loadPinned(experiment: descriptor.name)
    let (trainA, testA) = try config.images(of: dataset, classes: config.taskA)
    let (trainB, testB) = try config.images(of: dataset, classes: config.taskB)
    var settings = OnlineClassifierSettings()
    settings.rule.algorithm = .backprop
    settings.rule.stepSize = config.stepSize
    var classifier: OnlineClassifier
    do {
      classifier = try OnlineClassifier(network: network, settings: settings)
    } catch {
      throw ExperimentError(message: "image-finetune: the input 'network' is not a network: \(error)")
    }
    guard classifier.settings.inputs == dataset.pixelsPerImage else {
      throw ExperimentError(
        message: "image-finetune: the network takes \(classifier.settings.inputs) pixels, but "
          + "\(config.data.description) has \(dataset.pixelsPerImage) a image")
    }
    func readout(_ train: LabeledImages, _ test: LabeledImages) -> Double {
      ImagePretrainExperiment.readoutAccuracy(
        of: &classifier, train: train, test: test, images: config.readoutImages, settings: config.readout)
    }
    let before = readout(trainA, testA)
    let after: Double
    let taskB: Double
    switch config.method {
    case .frozen:
      after = before
      taskB = readout(trainB, testB)
    case .sgd:
      guard classifier.settings.classes >= config.taskB.count else {
        throw ExperimentError(
          message:
            "image-finetune: the network has \(classifier.settings.classes) outputs, fewer than task_b's "
            + "\(config.taskB.count) classes")
      }
      trainB.pixels.withUnsafeBufferPointer { pixels in
        for step in 0..<config.examples {
          let index = step % trainB.count
          _ = classifier.learn(
            UnsafeBufferPointer(
              rebasing: pixels[(index * trainB.pixelsPerImage)..<((index + 1) * trainB.pixelsPerImage)]),
            label: Int(trainB.labels[index]))
        }
      }
      var correct = 0
      testB.pixels.withUnsafeBufferPointer { pixels in
        for index in 0..<testB.count {
          let image = UnsafeBufferPointer(
            rebasing: pixels[(index * testB.pixelsPerImage)..<((index + 1) * testB.pixelsPerImage)])
          if classifier.predictedClass(image) == Int(testB.labels[index]) { correct += 1 }
        }
      }
      taskB = Double(correct) / Double(testB.count)
      after = readout(trainA, testA)
    }
    return Outcome(
      metrics: [
        Metric("readout_a_before", before), Metric("readout_a_after", after),
        Metric("forgetting", before - after),
        Metric("task_b_accuracy", taskB),
      ],
      artifacts: [Artifact(name: "network", bytes: classifier.networkBytes())])
  }
}

/// How `image-finetune` treats the pretrained network.
public enum FinetuneMethod: String, CaseIterable, Sendable {
  /// Every weight learns task B.
  case sgd
  /// The representation stays; a linear readout learns task B.
  case frozen
}

/// The validated settings of one `image-finetune` run.
public struct ImageFinetuneConfig: ExperimentConfig, Equatable {
  /// The input network's SHA-256, set by the graph.
  public var network = ""
  public var method = FinetuneMethod.sgd
  /// The images, and the hash the sweep pinned them to.
  public var data = PinnedImageData()
  /// The classes the network learnt, as written ("0-4").
  public var taskAClasses = "0-4"
  /// The classes it learns now ("5-9").
  public var taskBClasses = "5-9"
  /// Online steps of `sgd` on task B (10,000).
  public var examples = 10_000
  /// α of `sgd` (0.0005).
  public var stepSize: Float = 0.0005
  /// Training images each readout learns from (2,000).
  public var readoutImages = 2000
  /// How the readouts are trained.
  public var readout = LinearReadoutSettings()

  public init() {}

  public static let experimentName = "image-finetune"

  public static let parameters: [ParameterDeclaration<ImageFinetuneConfig>] =
    [
      ParameterDeclaration(
        ParameterDescriptor(
          "network", .artifact(isList: false), default: .string(""),
          "Input: the pretrained network (an image-pretrain run's artifact `network`), bound by the graph.")
      ) { config, value in
        if case .string(let hash) = value { config.network = hash }
      },
      .choice(
        "method", \.method, default: .sgd,
        "sgd: every weight learns task B; frozen: the representation stays and a linear readout learns task B."
      ),
      .text("task_a", \.taskAClasses, default: "0-4", "The classes the network learnt (\"0-4\")."),
      .text("task_b", \.taskBClasses, default: "5-9", "The classes it learns now (\"5-9\")."),
      .int(
        "examples", \.examples, in: 1...10_000_000, default: 10_000,
        "Online steps of sgd through task B's images in file order."),
      .float("step_size", \.stepSize, in: 1e-12...10, default: 0.0005, "α of sgd."),
      .int(
        "readout_images", \.readoutImages, in: 1...1_000_000, default: 2000,
        "Training images each linear readout learns from (task A's before and after, task B's for frozen)."),
      .int(
        "readout_steps", \.readout.steps, in: 1...100_000, default: 500,
        "Full-batch Adam steps of each readout (from zero weights, so it is deterministic)."),
      .float(
        "readout_step_size", \.readout.learningRate, in: 1e-6...10, default: 0.1,
        "Adam's step size for the readouts."
      ),
    ] + ParameterDeclaration<ImageFinetuneConfig>.imageData(at: \.data)

  public func check() throws {
    let a = try ClassSubset.parse(taskAClasses, experiment: Self.experimentName)
    let b = try ClassSubset.parse(taskBClasses, experiment: Self.experimentName)
    if let shared = a.first(where: b.contains) {
      throw ExperimentError(
        message: "image-finetune: class \(shared) is in both task_a and task_b; make them disjoint.")
    }
    try data.check(experiment: Self.experimentName)
  }

  /// The classes of task A and of task B (valid after ``check()``).
  var taskA: [UInt8] { (try? ClassSubset.parse(taskAClasses, experiment: Self.experimentName)) ?? [] }
  var taskB: [UInt8] { (try? ClassSubset.parse(taskBClasses, experiment: Self.experimentName)) ?? [] }

  func images(of dataset: ImageDataset, classes: [UInt8]) throws -> (
    train: LabeledImages, test: LabeledImages
  ) {
    try ClassSubset.images(
      of: dataset, classes: classes, written: classes.map(String.init).joined(separator: ","), data: data,
      experiment: Self.experimentName)
  }
}
