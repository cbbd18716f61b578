import Datasets
import SweepModel
import TrainingCore

/// The images of the multi-task-teacher paper's two tasks, labelled for the union head: task A's
/// classes are 0 ..< |A| (as the pretrained head has them), task B's follow. Task B's training
/// images are cut in two (meta-experiments.md §3.1d, Exp 1): the first half, D_B1, for
/// meta-training; the second, D_B2, for meta-testing every method.
struct TeacherTasks {
  var trainA: TeacherTaskImages
  var testA: TeacherTaskImages
  var trainB1: TeacherTaskImages
  var trainB2: TeacherTaskImages
  var testB: TeacherTaskImages
  var classesA: Int
  /// The union head's task-B rows: task B's classes, or `b_classes` when classes are drawn.
  var classesB: Int
  /// Task B's classes the images hold (labelled from ``classesA`` on, in task_b's order): all of
  /// them, or an evaluation's class sample.
  var heldClassesB: Int
  var shape: TensorShape

  /// The tasks from `datasetA` and `datasetB` (one dataset twice when both tasks come from it),
  /// each training set cut to its first `trainImages` (0: all) before task B's is halved.
  init(datasetA: ImageDataset, datasetB: ImageDataset, config: TeacherDataConfig, experiment: String) throws {
    func size(_ d: ImageDataset) -> String { "\(d.channels) × \(d.rows) × \(d.columns)" }
    guard size(datasetA) == size(datasetB) else {
      throw ExperimentError(
        message:
          "\(experiment): task A's images (\(config.data.description)) are \(size(datasetA)) but task B's "
          + "(\(config.dataForB.description)) are \(size(datasetB)): one network reads both.")
    }
    let a = try config.classesA(experiment: experiment)
    let b = try config.heldClassesB(experiment: experiment)
    let (trainA, testA) = try ClassSubset.images(
      of: datasetA, classes: a, written: config.taskA, data: config.data, experiment: experiment)
    let (trainB, testB) = try ClassSubset.images(
      of: datasetB, classes: b, written: config.taskB, data: config.dataForB, experiment: experiment)
    func images(_ images: LabeledImages, offset: Int, range: Range<Int>? = nil) -> TeacherTaskImages {
      let range = range ?? 0..<images.count
      let pixels = images.pixelsPerImage
      return TeacherTaskImages(
        images: images.pixels[(range.lowerBound * pixels)..<(range.upperBound * pixels)].map {
          Float($0) / 255
        },
        labels: images.labels[range].map { Int32($0) + Int32(offset) }, pixelsPerImage: pixels)
    }
    let limitA = config.trainImages > 0 ? min(config.trainImages, trainA.count) : trainA.count
    let limitB = config.trainImages > 0 ? min(config.trainImages, trainB.count) : trainB.count
    guard limitB >= 2 else {
      throw ExperimentError(message: "\(experiment): task B needs at least 2 training images to halve.")
    }
    self.trainA = images(trainA, offset: 0, range: 0..<limitA)
    self.testA = images(testA, offset: 0)
    self.trainB1 = images(trainB, offset: a.count, range: 0..<(limitB / 2))
    self.trainB2 = images(trainB, offset: a.count, range: (limitB / 2)..<limitB)
    self.testB = images(testB, offset: a.count)
    classesA = a.count
    classesB = config.drawnClassesB > 0 ? config.drawnClassesB : b.count
    heldClassesB = b.count
    if config.drawnClassesB > 0 {
      for (half, images) in [("meta-training", trainB1), ("meta-test", trainB2)] {
        let present = Set(images.labels)
        if let missing = b.indices.first(where: { !present.contains(Int32(a.count + $0)) }) {
          throw ExperimentError(
            message:
              "\(experiment): task B's class \(b[missing]) has no training images in the \(half) half "
              + "(train_images \(config.trainImages)); every class b_classes draws from needs some.")
        }
      }
    }
    shape = TensorShape(channels: datasetA.channels, height: datasetA.rows, width: datasetA.columns)
  }
}

/// The data settings the meta-training and evaluation stages share.
public struct TeacherDataConfig: Sendable, Equatable {
  /// The images of task A (and of task B unless ``taskBFromOtherDataset``), and the hash the
  /// sweep pinned them to.
  public var data = PinnedImageData()
  /// Whether task B's images come from ``dataB`` (MNIST → Fashion-MNIST, SynthDigits →
  /// SynthGratings) rather than from ``data``.
  public var taskBFromOtherDataset = false
  /// Task B's images when ``taskBFromOtherDataset``.
  public var dataB = PinnedImageData()
  /// Task A's classes, as the pretrained network learnt them ("0-4").
  public var taskA = "0-4"
  /// Task B's classes ("5-9").
  public var taskB = "5-9"
  /// Training images of each task used, the first in file order (0: all).
  public var trainImages = 0
  /// Exp 2: task-B classes drawn from ``taskB``'s, per episode in meta-training and per class
  /// sample in evaluation (0: no drawing, task B is all of them).
  public var drawnClassesB = 0
  /// Exp 2's evaluation: which class sample (1, 2, ...) of ``drawnClassesB`` classes is task B
  /// (0 in meta-training).
  public var classSampleB = 0

  public init() {}

  /// Where task B's images come from.
  var dataForB: PinnedImageData { taskBFromOtherDataset ? dataB : data }

  func classesA(experiment: String) throws -> [UInt8] { try ClassSubset.parse(taskA, experiment: experiment) }
  func classesB(experiment: String) throws -> [UInt8] { try ClassSubset.parse(taskB, experiment: experiment) }

  /// Task B's classes as the tasks hold them: all of task_b, or in an evaluation with class
  /// sample r ≥ 1, the ``drawnClassesB`` of them that `RandomStream(rootSeed: r, stream:
  /// "teacher.bsample")` chooses, in task_b's order. A sample depends on r alone, so every method
  /// and seed of a graph meets the same five samples.
  public func heldClassesB(experiment: String) throws -> [UInt8] {
    let all = try classesB(experiment: experiment)
    guard drawnClassesB > 0, classSampleB > 0 else { return all }
    var random = RandomStream(rootSeed: UInt64(classSampleB), stream: "teacher.bsample")
    return random.choose(drawnClassesB, below: all.count).map { all[$0] }
  }

  /// Both tasks' images on a worker, each checked against its pinned hash.
  func loadTasks(experiment: String) throws -> TeacherTasks {
    let datasetA = try data.loadPinned(experiment: experiment)
    let datasetB = taskBFromOtherDataset ? try dataB.loadPinned(experiment: experiment) : datasetA
    return try TeacherTasks(datasetA: datasetA, datasetB: datasetB, config: self, experiment: experiment)
  }

  /// `parameters` with the datasets pinned (``PinnedImageData/resolved(_:hashParameter:)``), after
  /// checking that both tasks have images in them when both were read: the `resolve` of every
  /// stage of the teacher graph.
  func resolved(_ parameters: Parameters, experiment: String) throws -> Parameters {
    var (resolved, datasetA) = try data.resolved(parameters)
    var datasetB = datasetA
    if taskBFromOtherDataset {
      (resolved, datasetB) = try dataB.resolved(resolved, hashParameter: "dataset_b_sha256")
    }
    // A hash given in the sweep file leaves its dataset unread here, and the workers check it.
    if let a = datasetA, let b = datasetB {
      _ = try TeacherTasks(datasetA: a, datasetB: b, config: self, experiment: experiment)
    }
    return resolved
  }

  func check(experiment: String) throws {
    let a = try classesA(experiment: experiment)
    let b = try classesB(experiment: experiment)
    if !taskBFromOtherDataset, let shared = a.first(where: b.contains) {
      throw ExperimentError(
        message:
          "\(experiment): class \(shared) is in both task_a and task_b of one dataset; make them disjoint "
          + "(or take task B from dataset_b).")
    }
    if drawnClassesB > b.count {
      throw ExperimentError(
        message:
          "\(experiment): b_classes is \(drawnClassesB) but task_b has only \(b.count) classes to draw from.")
    }
    try data.check(experiment: experiment)
    if taskBFromOtherDataset { try dataB.check(experiment: experiment, hashParameter: "dataset_b_sha256") }
  }

  /// The parameters that set the ``TeacherDataConfig`` at `tasks`; `data`, `taskA`, `taskB` and
  /// `trainImages` are key paths to its fields (appended key paths are not `Sendable`).
  static func declarations<Config: ExperimentConfig>(
    at tasks: WritableKeyPath<Config, TeacherDataConfig> & Sendable,
    data: WritableKeyPath<Config, PinnedImageData> & Sendable,
    taskA: WritableKeyPath<Config, String> & Sendable,
    taskB: WritableKeyPath<Config, String> & Sendable, trainImages: WritableKeyPath<Config, Int> & Sendable
  ) -> [ParameterDeclaration<Config>] {
    ParameterDeclaration<Config>.imageData(at: data) + [
      ParameterDeclaration(
        ParameterDescriptor(
          "dataset_b", .choice(["same"] + ImageDatasetName.allCases.map(\.rawValue)),
          default: .string("same"),
          "Task B's images: same (from dataset) or another dataset (mnist -> fashion-mnist, "
            + "synth-digits -> synth-gratings).")
      ) { config, value in
        guard case .string(let word) = value else { return }
        config[keyPath: tasks].taskBFromOtherDataset = word != "same"
        if let name = ImageDatasetName(rawValue: word) { config[keyPath: tasks].dataB.dataset = name }
      },
      ParameterDeclaration(
        ParameterDescriptor(
          "data_dir_b", .text, default: .string(""),
          "dataset_b's folder, as data_dir is dataset's (absolute; empty for its standard place).")
      ) { config, value in
        if case .string(let text) = value { config[keyPath: tasks].dataB.dataDirectory = text }
      },
      ParameterDeclaration(
        ParameterDescriptor(
          "dataset_b_sha256", .text, default: .string(""),
          "SHA-256 of dataset_b, as dataset_sha256 is dataset's (empty: the coordinator pins its copy).")
      ) { config, value in
        if case .string(let text) = value { config[keyPath: tasks].dataB.datasetSHA256 = text }
      },
      .text(
        "task_a", taskA, default: "0-4",
        "Task A's classes, as the pretrained network learnt them (\"0-4\")."),
      .text("task_b", taskB, default: "5-9", "Task B's classes (\"5-9\")."),
      ParameterDeclaration(
        ParameterDescriptor(
          "b_classes", .int(0...255), default: .int(0),
          "Exp 2: task-B classes drawn from task_b's, afresh for every meta-training episode (with the head's "
            + "task-B rows) and per b_sample in evaluation; 0: task B is all of task_b.")
      ) { config, value in
        if case .int(let n) = value { config[keyPath: tasks].drawnClassesB = n }
      },
      .int(
        "train_images", trainImages, in: 0...10_000_000, default: 0,
        "Training images of each task used, the first in file order (0: all); task B's are halved into "
          + "meta-training (first half) and meta-test (second half) images."),
    ]
  }
}
