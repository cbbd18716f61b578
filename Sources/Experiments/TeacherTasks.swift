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
  var classesB: Int
  var shape: TensorShape

  /// The tasks from `dataset`, each training set cut to its first `trainImages` (0: all) before
  /// task B's is halved.
  init(dataset: ImageDataset, config: TeacherDataConfig, experiment: String) throws {
    let a = try config.classesA(experiment: experiment)
    let b = try config.classesB(experiment: experiment)
    let (trainA, testA) = try ClassSubset.images(
      of: dataset, classes: a, written: config.taskA, data: config.data, experiment: experiment)
    let (trainB, testB) = try ClassSubset.images(
      of: dataset, classes: b, written: config.taskB, data: config.data, experiment: experiment)
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
    classesB = b.count
    shape = TensorShape(channels: 1, height: dataset.rows, width: dataset.columns)
  }
}

/// The data settings the meta-training and evaluation stages share.
public struct TeacherDataConfig: Sendable, Equatable {
  /// The images, and the hash the sweep pinned them to.
  public var data = PinnedImageData()
  /// Task A's classes, as the pretrained network learnt them ("0-4").
  public var taskA = "0-4"
  /// Task B's classes ("5-9").
  public var taskB = "5-9"
  /// Training images of each task used, the first in file order (0: all).
  public var trainImages = 0

  public init() {}

  func classesA(experiment: String) throws -> [UInt8] { try ClassSubset.parse(taskA, experiment: experiment) }
  func classesB(experiment: String) throws -> [UInt8] { try ClassSubset.parse(taskB, experiment: experiment) }

  /// `parameters` with the dataset pinned (``PinnedImageData/resolved(_:)``), after checking that
  /// both tasks have images in it: the `resolve` of every stage of the teacher graph.
  func resolved(_ parameters: Parameters, experiment: String) throws -> Parameters {
    let (resolved, dataset) = try data.resolved(parameters)
    if let dataset { _ = try TeacherTasks(dataset: dataset, config: self, experiment: experiment) }
    return resolved
  }

  func check(experiment: String) throws {
    let a = try classesA(experiment: experiment)
    let b = try classesB(experiment: experiment)
    if let shared = a.first(where: b.contains) {
      throw ExperimentError(
        message: "\(experiment): class \(shared) is in both task_a and task_b; make them disjoint.")
    }
    try data.check(experiment: experiment)
  }

  /// The parameters that set these fields of a config at `data`, `taskA`, `taskB` and
  /// `trainImages` (key paths into its ``TeacherDataConfig``).
  static func declarations<Config: ExperimentConfig>(
    data: WritableKeyPath<Config, PinnedImageData> & Sendable,
    taskA: WritableKeyPath<Config, String> & Sendable,
    taskB: WritableKeyPath<Config, String> & Sendable, trainImages: WritableKeyPath<Config, Int> & Sendable
  ) -> [ParameterDeclaration<Config>] {
    ParameterDeclaration<Config>.imageData(at: data) + [
      .text(
        "task_a", taskA, default: "0-4", "Task A's classes, as the pretrained network learnt them (\"0-4\")."),
      .text("task_b", taskB, default: "5-9", "Task B's classes (\"5-9\")."),
      .int(
        "train_images", trainImages, in: 0...10_000_000, default: 0,
        "Training images of each task used, the first in file order (0: all); task B's are halved into "
          + "meta-training (first half) and meta-test (second half) images."),
    ]
  }
}
