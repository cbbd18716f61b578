import Datasets
import SweepModel
import TrainingCore

/// The convolutional networks a sweep can name.
public enum ConvNetArchitecture: String, CaseIterable, Sendable {
  /// meta-experiments.md §3.2's smoke student: conv 5×5 → 6, pool, conv 5×5 → 12, pool, 64, head.
  case lenetSmoke = "lenet-smoke"
  /// The multi-task-teacher paper's LeNet [20, 50, 500, classes].
  case lenetPaper = "lenet-paper"
  /// §3.2's smoke ResNet-8 with GroupNorm (8/16/32 channels) for the CIFAR-shaped experiments.
  case resnet8GN = "resnet8-gn"
  /// The paper's CIFAR network: ResNet-32 with GroupNorm (16/32/64 channels, 8 groups).
  case resnet32GN = "resnet32-gn"

  /// The network for images of `input`'s shape and `classes` classes.
  func network(input: TensorShape, classes: Int) throws -> ConvNet {
    do {
      switch self {
      case .lenetSmoke: return try ConvNet.smokeLeNet(input: input, classes: classes)
      case .lenetPaper: return try ConvNet.paperLeNet(input: input, classes: classes)
      case .resnet8GN: return try ConvNet.resNet8GN(input: input, classes: classes)
      case .resnet32GN: return try ConvNet.resNet32GN(input: input, classes: classes)
      }
    } catch {
      throw ExperimentError(message: "\(rawValue) cannot take \(input) images: \(error)")
    }
  }
}

/// Pretrains a convolutional network on some classes of an image dataset (task A of the
/// multi-task-teacher paper: Fashion-MNIST classes 0-4, say) by minibatch SGD with momentum, and
/// hands its weights on as the artifact `network` (``ConvNet/binaryEncoded(parameters:)``) for
/// later stages to fine-tune, probe or meta-train from. A pool is a sweep of it over seeds.
///
/// - The defaults are the paper's LeNet recipe (meta-experiments.md §3.1b): SGD 0.01, momentum 0.5,
///   batch 64, 10 epochs. Each epoch visits the training images in an order drawn from stream
///   "order" with the epoch as index; an epoch is ⌊images / batch⌋ full batches (the last few
///   images of an order wait for the next epoch's).
/// - Pixels are bytes / 255. `readout_accuracy` is a linear readout (``LinearReadout``) of the
///   representation (the last hidden layer, after its ReLU) trained on the first `readout_images`
///   training images: the measure forgetting is judged by.
public enum ConvNetPretrainExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "convnet-pretrain",
    summary: "pretrains a LeNet on some classes of an image dataset; makes the artifact `network`",
    parameters: ConvNetPretrainConfig.parameterDescriptors,
    metrics: ["test_accuracy", "readout_accuracy", "final_loss"], series: ["train_loss", "test_accuracy"],
    seriesXLabel: "epoch", artifacts: ["network"]
  ).withFigures(titles: ["train_loss": "training loss", "test_accuracy": "test accuracy"])
    .withMetricDirections([
      "test_accuracy": .higherIsBetter, "readout_accuracy": .higherIsBetter, "final_loss": .lowerIsBetter,
    ])

  public static func validate(parameters: Parameters) throws {
    _ = try ConvNetPretrainConfig(parameters: parameters)
  }

  public static func resolve(parameters: Parameters) throws -> Parameters {
    let config = try ConvNetPretrainConfig(parameters: parameters)
    let (resolved, dataset) = try config.data.resolved(parameters)
    if let dataset { _ = try config.subsets(of: dataset) }
    return resolved
  }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    let config = try ConvNetPretrainConfig(parameters: parameters)
    let dataset = try config.data.loadPinned(experiment: descriptor.name)
    let (allTrain, test) = try config.subsets(of: dataset)
    let train = config.trainImages > 0 ? allTrain.prefix(config.trainImages) : allTrain
    guard train.count >= config.batch else {
      throw ExperimentError(
        message:
          "convnet-pretrain: \(train.count) training images are fewer than one batch of \(config.batch).")
    }
    let network = try config.architecture.network(
      input: TensorShape(channels: dataset.channels, height: dataset.rows, width: dataset.columns),
      classes: config.classList.count)
    var classifier = ConvNetClassifier(
      network: network, seed: seed,
      optimizer: MomentumSGD(learningRate: config.learningRate, momentum: config.momentum),
      batchCapacity: max(config.batch, 256))
    let pixels = dataset.pixelsPerImage
    var images = [Float](repeating: 0, count: config.batch * pixels)
    var labels = [Int32](repeating: 0, count: config.batch)
    var trainLoss: [Double] = []
    var testAccuracy: [Double] = []
    let testImages = test.pixels.map { Float($0) / 255 }
    for epoch in 0..<config.epochs {
      var order = Array(0..<train.count)
      var random = RandomStream(rootSeed: seed, stream: "order", indices: [UInt64(epoch)])
      random.shuffle(&order)
      var loss = 0.0
      let batches = train.count / config.batch
      for b in 0..<batches {
        for (slot, index) in order[(b * config.batch)..<((b + 1) * config.batch)].enumerated() {
          for k in 0..<pixels { images[slot * pixels + k] = Float(train.pixels[index * pixels + k]) / 255 }
          labels[slot] = Int32(train.labels[index])
        }
        loss += images.withUnsafeBufferPointer { images in
          labels.withUnsafeBufferPointer { classifier.step(images: images, labels: $0) }
        }
      }
      trainLoss.append(loss / Double(batches))
      testAccuracy.append(accuracy(of: &classifier, images: testImages, labels: test.labels))
    }
    var metrics = [
      Metric("test_accuracy", testAccuracy.last ?? 0), Metric("final_loss", trainLoss.last ?? 0),
    ]
    if config.readoutImages > 0 {
      let count = min(config.readoutImages, train.count)
      let representation = network.layers.count - 2
      let trainImages = train.pixels.prefix(count * pixels).map { Float($0) / 255 }
      let features = trainImages.withUnsafeBufferPointer {
        classifier.outputs(of: representation, images: $0, count: count)
      }
      let readout = LinearReadout.train(
        features: features, labels: train.labels.prefix(count).map(Int.init),
        dimensions: network.shapes[representation].count, classes: config.classList.count,
        settings: config.readout)
      let testFeatures = testImages.withUnsafeBufferPointer {
        classifier.outputs(of: representation, images: $0, count: test.count)
      }
      metrics.append(
        Metric(
          "readout_accuracy", readout.accuracy(features: testFeatures, labels: test.labels.map(Int.init))))
    }
    return Outcome(
      metrics: metrics,
      series: [
        Series(name: "train_loss", xStart: 1, xStep: 1, values: trainLoss),
        Series(name: "test_accuracy", xStart: 1, xStep: 1, values: testAccuracy),
      ],
      artifacts: [Artifact(name: "network", bytes: network.binaryEncoded(parameters: classifier.parameters))])
  }

  /// The fraction of `images` (count × pixels, in [0, 1]) whose largest logit is their label.
  static func accuracy(of classifier: inout ConvNetClassifier, images: [Float], labels: [UInt8]) -> Double {
    let logits = images.withUnsafeBufferPointer { classifier.outputs(images: $0, count: labels.count) }
    let classes = classifier.network.output.count
    let labels = labels.map(Int32.init)
    let correct = logits.withUnsafeBufferPointer { logits in
      labels.withUnsafeBufferPointer {
        SoftmaxCrossEntropy.correct(logits: logits, labels: $0, classes: classes)
      }
    }
    return Double(correct) / Double(labels.count)
  }
}

/// The validated settings of one `convnet-pretrain` run.
public struct ConvNetPretrainConfig: ExperimentConfig, Equatable {
  /// The network (lenet-smoke).
  public var architecture = ConvNetArchitecture.lenetSmoke
  /// The images, and the hash the sweep pinned them to.
  public var data = PinnedImageData()
  /// The classes learnt, as written in the sweep file ("0-4").
  public var classes = "0-4"
  /// Passes over the training images (10).
  public var epochs = 10
  /// Images per minibatch (64).
  public var batch = 64
  /// SGD's step size (0.01).
  public var learningRate: Float = 0.01
  /// SGD's momentum (0.5).
  public var momentum: Float = 0.5
  /// Training images used, the first of the classes in file order (0: all).
  public var trainImages = 0
  /// Training images the representation's linear readout learns from (2,000; 0 for none).
  public var readoutImages = 2000
  /// How that readout is trained.
  public var readout = LinearReadoutSettings()

  public init() {}

  public static let experimentName = "convnet-pretrain"

  public static let parameters: [ParameterDeclaration<ConvNetPretrainConfig>] =
    [
      .choice(
        "architecture", \.architecture, default: .lenetSmoke,
        "lenet-smoke (conv 6, conv 12, 64 hidden), lenet-paper (the paper's [20, 50, 500]), resnet8-gn "
          + "(3 stages of 8/16/32 channels with GroupNorm, for colour images) or resnet32-gn (the paper's "
          + "CIFAR ResNet-32, 16/32/64 channels, GroupNorm of 8 groups).")
    ] + ParameterDeclaration<ConvNetPretrainConfig>.imageData(at: \.data) + [
      .text(
        "classes", \.classes, default: "0-4",
        "The classes learnt, as a range and/or list (\"0-4\", \"5-9\", \"0,2,4\"); relabelled 0, 1, ... in that order."
      ),
      .int(
        "epochs", \.epochs, in: 1...1000, default: 10, "Passes over the training images, each in a new order."
      ),
      .int("batch", \.batch, in: 1...4096, default: 64, "Images per minibatch."),
      .float("learning_rate", \.learningRate, in: 1e-6...10, default: 0.01, "SGD's step size."),
      .float("momentum", \.momentum, in: 0...0.999, default: 0.5, "SGD's momentum (PyTorch's rule)."),
      .int(
        "train_images", \.trainImages, in: 0...10_000_000, default: 0,
        "Training images used, the first of the classes in file order; 0 for all."),
      .int(
        "readout_images", \.readoutImages, in: 0...1_000_000, default: 2000,
        "Training images a linear readout of the representation learns from, for readout_accuracy; 0 for none."
      ),
      .int(
        "readout_steps", \.readout.steps, in: 1...100_000, default: 500,
        "Full-batch Adam steps of the readout (from zero weights, so it is deterministic)."),
      .float(
        "readout_step_size", \.readout.learningRate, in: 1e-6...10, default: 0.1,
        "Adam's step size for the readout."),
    ]

  public func check() throws {
    _ = try ClassSubset.parse(classes, experiment: Self.experimentName)
    try data.check(experiment: Self.experimentName)
  }

  /// The classes learnt, in order (valid after ``check()``).
  public var classList: [UInt8] { (try? ClassSubset.parse(classes, experiment: Self.experimentName)) ?? [] }

  /// The training and test images of the classes learnt, relabelled.
  func subsets(of dataset: ImageDataset) throws -> (train: LabeledImages, test: LabeledImages) {
    try ClassSubset.images(
      of: dataset, classes: classList, written: classes, data: data, experiment: Self.experimentName)
  }
}
