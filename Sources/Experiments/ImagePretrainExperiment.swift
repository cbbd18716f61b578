import Datasets
import SweepModel
import TrainingCore

/// Trains one member of a checkpoint pool: a tanh/softmax classifier learns a subset of an image
/// dataset's classes online (Fashion-MNIST classes 0-4, say), one example a step, and hands its
/// weights on as the artifact `network` for later sweeps to fine-tune, probe or meta-train over.
/// A pool is a sweep of this experiment over seeds: each seed draws other initial weights.
///
/// The training images of the subset are visited in file order, from the start again when
/// `examples` exceeds them; the test accuracy is over the subset's test images. The dataset is
/// pinned like `crossprop-mnist`'s (``PinnedImageData``).
public enum ImagePretrainExperiment: Experiment {
  public static let descriptor = ExperimentDescriptor(
    name: "image-pretrain",
    summary: "trains a pool member on some classes of an image dataset; makes the artifact `network`",
    parameters: ImagePretrainConfig.parameterDescriptors,
    metrics: ["test_accuracy", "readout_accuracy", "tail_error", "tail_loss"], series: ["error_rate"],
    seriesXLabel: "examples seen", artifacts: ["network"]
  ).withFigures(titles: ["error_rate": "training error rate (mean of each bin)"]).withMetricDirections([
    "test_accuracy": .higherIsBetter, "readout_accuracy": .higherIsBetter, "tail_error": .lowerIsBetter,
    "tail_loss": .lowerIsBetter,
  ])

  public static func validate(parameters: Parameters) throws {
    _ = try ImagePretrainConfig(parameters: parameters)
  }

  public static func resolve(parameters: Parameters) throws -> Parameters {
    let config = try ImagePretrainConfig(parameters: parameters)
    let (resolved, dataset) = try config.data.resolved(parameters)
    if let dataset { _ = try config.subsets(of: dataset) }
    return resolved
  }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    let config = try ImagePretrainConfig(parameters: parameters)
    let dataset = try config.data.loadPinned(experiment: descriptor.name)
    let (train, test) = try config.subsets(of: dataset)
    var settings = config.classifier
    settings.inputs = dataset.pixelsPerImage
    settings.classes = config.classList.count
    var classifier = OnlineClassifier(settings: settings, seed: seed)
    let tailStart = config.examples - config.tailExamples
    var (tailLoss, tailErrors, binErrors) = (0.0, 0, 0)
    var errorRate: [Double] = []
    train.pixels.withUnsafeBufferPointer { pixels in
      for step in 0..<config.examples {
        let index = step % train.count
        let image = UnsafeBufferPointer(
          rebasing: pixels[(index * train.pixelsPerImage)..<((index + 1) * train.pixelsPerImage)])
        let label = Int(train.labels[index])
        let prediction = classifier.learn(image, label: label)
        let wrong = prediction.predictedClass == label ? 0 : 1
        binErrors += wrong
        if step >= tailStart {
          tailLoss += prediction.loss
          tailErrors += wrong
        }
        if (step + 1) % config.binSize == 0 {
          errorRate.append(Double(binErrors) / Double(config.binSize))
          binErrors = 0
        }
      }
    }
    var correct = 0
    test.pixels.withUnsafeBufferPointer { pixels in
      for index in 0..<test.count {
        let image = UnsafeBufferPointer(
          rebasing: pixels[(index * test.pixelsPerImage)..<((index + 1) * test.pixelsPerImage)])
        if classifier.predictedClass(image) == Int(test.labels[index]) { correct += 1 }
      }
    }
    var metrics = [Metric("test_accuracy", Double(correct) / Double(test.count))]
    if config.readoutImages > 0 {
      metrics.append(
        Metric(
          "readout_accuracy",
          readoutAccuracy(
            of: &classifier, train: train, test: test, images: config.readoutImages, settings: config.readout)
        ))
    }
    let bin = Double(config.binSize)
    return Outcome(
      metrics: metrics + [
        Metric("tail_error", Double(tailErrors) / Double(config.tailExamples)),
        Metric("tail_loss", tailLoss / Double(config.tailExamples)),
      ],
      series: [Series(name: "error_rate", xStart: bin, xStep: bin, values: errorRate)],
      artifacts: [Artifact(name: "network", bytes: classifier.networkBytes())])
  }

  /// The test accuracy of a linear readout (``LinearReadout``) of `classifier`'s hidden units,
  /// trained on the first `images` training images: how well the representation alone separates
  /// the classes, the measure forgetting is judged by.
  static func readoutAccuracy(
    of classifier: inout OnlineClassifier, train: LabeledImages, test: LabeledImages, images: Int,
    settings: LinearReadoutSettings
  ) -> Double {
    let classes = Int(max(train.labels.max() ?? 0, test.labels.max() ?? 0)) + 1
    let count = min(images, train.count)
    let readout = LinearReadout.train(
      features: hiddenFeatures(of: &classifier, train, count: count),
      labels: train.labels.prefix(count).map(Int.init), dimensions: classifier.settings.hiddenUnits,
      classes: classes, settings: settings)
    return readout.accuracy(
      features: hiddenFeatures(of: &classifier, test, count: test.count), labels: test.labels.map(Int.init))
  }

  /// The hidden activations of the first `count` images, one row each.
  static func hiddenFeatures(of classifier: inout OnlineClassifier, _ images: LabeledImages, count: Int)
    -> [Float]
  {
    images.pixels.withUnsafeBufferPointer { pixels in
      var out: [Float] = []
      out.reserveCapacity(count * classifier.settings.hiddenUnits)
      for index in 0..<count {
        out += classifier.hiddenActivations(
          UnsafeBufferPointer(
            rebasing: pixels[(index * images.pixelsPerImage)..<((index + 1) * images.pixelsPerImage)]))
      }
      return out
    }
  }
}

/// The validated settings of one `image-pretrain` run.
public struct ImagePretrainConfig: ExperimentConfig, Equatable {
  /// The classifier and its update rule (its inputs and classes come from the data).
  public var classifier = OnlineClassifierSettings()
  /// The images, and the hash the sweep pinned them to.
  public var data = PinnedImageData()
  /// The classes learnt, as written in the sweep file ("0-4").
  public var classes = "0-4"
  /// Online steps (30,000: five passes over Fashion-MNIST's 0-4 would be 150,000).
  public var examples = 30_000
  /// Final steps averaged into `tail_error` and `tail_loss` (5,000).
  public var tailExamples = 5000
  /// Steps per point of the `error_rate` series (1,000).
  public var binSize = 1000
  /// Training images (the first of the classes learnt) a linear readout of the hidden units is
  /// trained on for `readout_accuracy` (2,000; 0 for none).
  public var readoutImages = 2000
  /// How that readout is trained.
  public var readout = LinearReadoutSettings()

  public init() {}

  public static let experimentName = "image-pretrain"

  public static let parameters: [ParameterDeclaration<ImagePretrainConfig>] =
    ParameterDeclaration<ImagePretrainConfig>.updateRule(
      at: \.classifier.rule, algorithms: LearningAlgorithm.allCases.filter { $0 != .crossprop },
      algorithmDoc: "Update rule: backprop (SGD), momentum, rmsprop, adam (TF1 defaults) or crossprop-approx."
    )
    + ParameterDeclaration<ImagePretrainConfig>.imageData(at: \.data) + [
      .text(
        "classes", \.classes, default: "0-4",
        "The classes learnt, as a range and/or list (\"0-4\", \"5-9\", \"0,2,4\"); relabelled 0, 1, ... in that order."
      ),
      .int(
        "examples", \.examples, in: 1...10_000_000, default: 30_000,
        "Online steps, through the classes' images in file order."),
      .int("hidden_units", \.classifier.hiddenUnits, in: 1...100_000, default: 1024, "tanh hidden units."),
      .int(
        "tail_examples", \.tailExamples, in: 1...10_000_000, default: 5000,
        "Final steps averaged into tail_error and tail_loss; at most examples."),
      .int(
        "bin_size", \.binSize, in: 1...10_000_000, default: 1000, "Steps per point of the error_rate series."),
      .int(
        "readout_images", \.readoutImages, in: 0...1_000_000, default: 2000,
        "Training images a linear readout of the hidden units learns from, for readout_accuracy on the test "
          + "images; 0 for none."),
      .int(
        "readout_steps", \.readout.steps, in: 1...100_000, default: 500,
        "Full-batch Adam steps of the readout (from zero weights, so it is deterministic)."),
      .float(
        "readout_step_size", \.readout.learningRate, in: 1e-6...10, default: 0.1,
        "Adam's step size for the readout."),
    ] + ParameterDeclaration<ImagePretrainConfig>.optimiserSettings(at: \.classifier.rule)

  public func check() throws {
    func problem(_ message: String) -> ExperimentError {
      ExperimentError(message: "image-pretrain: " + message)
    }
    _ = try ClassSubset.parse(classes, experiment: Self.experimentName)
    if tailExamples > examples {
      throw problem("tail_examples (\(tailExamples)) must not exceed examples (\(examples)).")
    }
    if examples % binSize != 0 {
      throw problem("examples (\(examples)) must be a multiple of bin_size (\(binSize)).")
    }
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
