import Datasets
import SweepModel
import TrainingCore

#if canImport(Glibc)
  import Glibc
#endif

/// The crossprop paper's continual image classification (Veeriah, Zhang and Sutton 2017, Figs 1–3
/// right and Fig. 4), as notes/geoff-spec.md §3 specifies it: a 784–1024–10 classifier learns the
/// first 50,000 training images online with labels A, then shifted by one (B) and two (C).
///
/// The dataset is pinned: the coordinator reads it once and fills `dataset_sha256` in before run
/// keys are made (``resolve(parameters:)``), and a worker whose copy hashes differently refuses the
/// run, naming its host and both hashes, instead of computing a different one.
public enum CrosspropMNISTExperiment: Experiment {
  /// The largest number of stages (A, B, C and their exact replay).
  public static let maximumStages = 6
  /// The distinct labellings (A, B, C).
  public static let tasks = 3

  public static let descriptor = ExperimentDescriptor(
    name: "crossprop-mnist",
    summary: "continual image classification with shifted labels (crossprop paper, Figs 1-4 right)",
    parameters: CrosspropMNISTConfig.parameterDescriptors,
    metrics: metricNames(stages: maximumStages, maps: true),
    series: ["loss", "error_rate", "u_drift", "w_drift"], seriesXLabel: "examples seen",
    pointMaps: (1...maximumStages).map { "tsne_stage\($0)" }
  ).withFigures(
    titles: [
      "loss": "cross-entropy per example (mean of each bin)", "error_rate": "error rate (mean of each bin)",
      "u_drift": "‖U − U₀‖: drift of the input weights", "w_drift": "‖W − W₀‖: drift of the output weights",
    ], taskSwitches: { ExperimentDescriptor.switches(every: "examples_per_task", tasks: "stages", $0) }
  ).withMetricDirections(["error": .lowerIsBetter, "loss": .lowerIsBetter, "test_accuracy": .higherIsBetter])

  /// The metrics of a run of `stages` stages: per stage, the error rate and loss over its last
  /// `tail_examples` (`error_taskS`, `loss_taskS`), the drift of U and W during it, the test
  /// accuracy at its end under each labelling (`test_accuracy_stageS_taskT`), and with maps, the
  /// 5-NN accuracy of the original classes in its t-SNE map (`tsne_knn_stageS`).
  public static func metricNames(stages: Int, maps: Bool) -> [String] {
    var names = ["error_task", "loss_task", "u_drift_task", "w_drift_task"].flatMap { stem in
      (1...stages).map { "\(stem)\($0)" }
    }
    for stage in 1...stages {
      names += (1...tasks).map { "test_accuracy_stage\(stage)_task\($0)" }
    }
    if maps { names += (1...stages).map { "tsne_knn_stage\($0)" } }
    return names
  }

  public static func metrics(for parameters: Parameters) -> [String] {
    guard let config = try? CrosspropMNISTConfig(parameters: parameters) else { return descriptor.metrics }
    return metricNames(stages: config.run.stages, maps: config.run.embeddingImages > 0)
  }

  public static func validate(parameters: Parameters) throws {
    _ = try CrosspropMNISTConfig(parameters: parameters)
  }

  /// Reads the dataset (once a process) and pins its hash into `dataset_sha256`; one given in the
  /// sweep file is kept unread, so a coordinator without the files can still serve workers that
  /// have them.
  public static func resolve(parameters: Parameters) throws -> Parameters {
    let config = try CrosspropMNISTConfig(parameters: parameters)
    let (resolved, dataset) = try config.data.resolved(parameters)
    if let dataset { try config.check(against: dataset) }
    return resolved
  }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    let config = try CrosspropMNISTConfig(parameters: parameters)
    let dataset = try config.data.loadPinned(experiment: descriptor.name)
    try config.check(against: dataset)
    var settings = config.run
    settings.classifier.inputs = dataset.pixelsPerImage
    settings.classifier.classes = dataset.classes
    let record = LabelShiftRun.run(
      settings: settings,
      train: LabeledImages(
        pixels: dataset.train.images, labels: dataset.train.labels, pixelsPerImage: dataset.pixelsPerImage),
      test: LabeledImages(
        pixels: dataset.test.images, labels: dataset.test.labels, pixelsPerImage: dataset.pixelsPerImage),
      seed: seed)
    let labels = dataset.train.labels.prefix(settings.embeddingImages).map(Int.init)
    let maps = record.hiddenActivations.map { activations in
      TSNE(settings: config.tsne).embed(
        Points(widening: activations, dimensions: settings.classifier.hiddenUnits), seed: seed
      ).points
    }
    return outcome(of: record, maps: maps, labels: labels, binSize: settings.binSize)
  }

  /// The outcome reporting `record` and the t-SNE `maps` (one per stage, or none) of images with
  /// original classes `labels`.
  static func outcome(of record: LabelShiftRunRecord, maps: [Points], labels: [Int], binSize: Int) -> Outcome
  {
    var metrics: [Metric] = []
    for (name, values) in [
      ("error_task", record.stageErrorRate), ("loss_task", record.stageLoss),
      ("u_drift_task", record.stageInputWeightDrift), ("w_drift_task", record.stageOutputWeightDrift),
    ] {
      for (stage, value) in values.enumerated() { metrics.append(Metric("\(name)\(stage + 1)", value)) }
    }
    for (stage, accuracies) in record.testAccuracy.enumerated() {
      for (task, accuracy) in accuracies.enumerated() {
        metrics.append(Metric("test_accuracy_stage\(stage + 1)_task\(task + 1)", accuracy))
      }
    }
    for (stage, map) in maps.enumerated() {
      metrics.append(
        Metric("tsne_knn_stage\(stage + 1)", nearestNeighbourAccuracy(points: map, labels: labels)))
    }
    let step = Double(binSize)
    var series = [
      Series(name: "loss", xStart: step, xStep: step, values: record.binnedLoss),
      Series(name: "error_rate", xStart: step, xStep: step, values: record.binnedErrorRate),
      Series(name: "u_drift", xStart: step, xStep: step, values: record.inputWeightDrift),
      Series(name: "w_drift", xStart: step, xStep: step, values: record.outputWeightDrift),
    ]
    for (stage, map) in maps.enumerated() {
      let name = "tsne_stage\(stage + 1)"
      for dimension in 0..<map.dimensions {
        series.append(
          Series(
            name: "\(name)_\(dimension == 0 ? "x" : "y")", xStart: 0, xStep: 1,
            values: (0..<map.count).map { map[$0, dimension] }))
      }
      series.append(Series(name: "\(name)_label", xStart: 0, xStep: 1, values: labels.map(Double.init)))
    }
    return Outcome(metrics: metrics, series: series)
  }

  /// The names of `dataset`'s classes, by label, for legends.
  public static func classNames(dataset: String) -> [String] {
    if dataset == ImageDatasetName.fashionMNIST.rawValue {
      return [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
        "Ankle boot",
      ]
    }
    return (0..<10).map { "\($0)" }
  }

}

/// The validated settings of one `crossprop-mnist` run.
public struct CrosspropMNISTConfig: ExperimentConfig, Equatable {
  /// The training core's settings (the classifier's inputs and classes come from the dataset).
  public var run = LabelShiftRunSettings()
  /// The t-SNE of the hidden activations kept after each stage.
  public var tsne = TSNESettings()
  /// The images, and the hash the sweep pinned them to.
  public var data = PinnedImageData()

  public init() {}

  public static let experimentName = "crossprop-mnist"

  public static let parameters: [ParameterDeclaration<CrosspropMNISTConfig>] =
    ParameterDeclaration<CrosspropMNISTConfig>.updateRule(
      at: \.run.classifier.rule, algorithms: LearningAlgorithm.allCases.filter { $0 != .crossprop },
      algorithmDoc:
        "Update rule: backprop (SGD), momentum, rmsprop, adam (TF1 defaults) or crossprop-approx (eqn 8); "
        + "full crossprop is not run on images.")
    + ParameterDeclaration<CrosspropMNISTConfig>.imageData(at: \.data) + runParameters
    + ParameterDeclaration<CrosspropMNISTConfig>.optimiserSettings(at: \.run.classifier.rule)

  private static let runParameters: [ParameterDeclaration<CrosspropMNISTConfig>] = [
    .int(
      "examples_per_task", \.run.examplesPerTask, in: 1...1_000_000, default: 50_000,
      "Training images per stage, the first ones in file order; a multiple of bin_size."),
    .int(
      "stages", \.run.stages, in: 3...CrosspropMNISTExperiment.maximumStages, default: 3,
      "Stages: 3 plays A, B, C; 4 to 6 replay them with the same images (6 is the authors' script)."),
    .int("hidden_units", \.run.classifier.hiddenUnits, in: 1...100_000, default: 1024, "tanh hidden units."),
    .int(
      "bin_size", \.run.binSize, in: 1...1_000_000, default: 1000,
      "Examples per point of the loss, error and drift series."),
    .int(
      "tail_examples", \.run.tailExamples, in: 1...1_000_000, default: 5000,
      "Final examples of each stage averaged into error_taskN and loss_taskN; at most examples_per_task."),
    .choice(
      "norm_convention", \.run.normConvention, default: .l2,
      "Weight drift: l2 (‖·‖) or squared (‖·‖², the authors' code)."),
    .int(
      "embedding_images", \.run.embeddingImages, in: 0...20_000, default: 0,
      "Training images whose hidden activations are mapped by t-SNE after every stage (Fig. 4: 2500); 0 for none."
    ),
    .double(
      "tsne_perplexity", \.tsne.perplexity, in: 1...1000, default: 20,
      "Perplexity of the t-SNE maps (van der Maaten's reference settings otherwise: 50 PCA dimensions)."),
    .int(
      "tsne_iterations", \.tsne.iterations, in: 1...100_000, default: 1000,
      "Gradient steps of each t-SNE map."),
  ]

  public func check() throws {
    func problem(_ message: String) -> ExperimentError {
      ExperimentError(message: "crossprop-mnist: " + message)
    }
    if run.examplesPerTask % run.binSize != 0 {
      throw problem(
        "examples_per_task (\(run.examplesPerTask)) must be a multiple of bin_size (\(run.binSize)).")
    }
    if run.tailExamples > run.examplesPerTask {
      throw problem(
        "tail_examples (\(run.tailExamples)) must not exceed examples_per_task (\(run.examplesPerTask)).")
    }
    if run.embeddingImages > 0 && Double(run.embeddingImages) <= tsne.perplexity * 3 {
      throw problem(
        "embedding_images (\(run.embeddingImages)) must exceed 3 × tsne_perplexity (\(tsne.perplexity)) for a "
          + "t-SNE map, or be 0.")
    }
    try data.check(experiment: Self.experimentName)
  }

  /// What must hold between these settings and `dataset`'s size.
  func check(against dataset: ImageDataset) throws {
    if run.examplesPerTask > dataset.train.count {
      throw ExperimentError(
        message:
          "crossprop-mnist: examples_per_task (\(run.examplesPerTask)) exceeds the \(dataset.train.count) training "
          + "images of \(datasetDescription).")
    }
    if run.embeddingImages > dataset.train.count {
      throw ExperimentError(
        message:
          "crossprop-mnist: embedding_images (\(run.embeddingImages)) exceeds the \(dataset.train.count) training "
          + "images of \(datasetDescription).")
    }
    if dataset.classes < CrosspropMNISTExperiment.tasks {
      throw ExperimentError(
        message: "crossprop-mnist: \(datasetDescription) has \(dataset.classes) classes; label shifts need 3."
      )
    }
  }

  /// The dataset and where it comes from, for messages.
  var datasetDescription: String { data.description }
}
