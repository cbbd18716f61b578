import Datasets
import Experiments
import Foundation
import SweepModel
import Testing

/// SynthDigits (28 × 28) and SynthGratings (28 × 28 and 14 × 14) written as IDX folders.
private let folders: Result<(digits: String, gratings: String, smallGratings: String), any Error> = Result {
  let root = FileManager.default.temporaryDirectory.appendingPathComponent(
    "metasweep-teacher-data-\(UUID().uuidString)")
  func write(_ dataset: ImageDataset, _ name: String) throws -> String {
    let folder = root.appendingPathComponent(name).path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try dataset.writeIDX(to: folder, compression: .none)
    return folder
  }
  func settings(side: Int) -> SynthImageSettings {
    SynthImageSettings {
      $0.trainCount = 100
      $0.testCount = 50
      $0.side = side
    }
  }
  return (
    try write(SynthDigits.makeDataset(settings(side: 28)), "digits"),
    try write(SynthGratings.makeDataset(settings(side: 28)), "gratings"),
    try write(SynthGratings.makeDataset(settings(side: 14)), "gratings-14")
  )
}

private func evaluation(_ extra: Parameters) throws -> Parameters {
  var parameters: Parameters = [
    "dataset": .string("mnist"), "data_dir": .string(try folders.get().digits), "method": .string("sgd"),
    "network": .string(String(repeating: "ab", count: 32)),
  ]
  parameters.merge(extra) { _, new in new }
  return parameters
}

@Test func teacherTasks_fromOneDataset_mustBeDisjoint_fromTwo_mayShareClassNumbers() throws {
  let overlapping = try evaluation(["task_a": .string("0-4"), "task_b": .string("4-9")])
  #expect(
    message { try TeacherEvaluateExperiment.validate(parameters: overlapping) }.contains("class 4 is in both")
  )
  let twoDatasets = try evaluation([
    "task_a": .string("0-4"), "task_b": .string("0-4"), "dataset_b": .string("fashion-mnist"),
    "data_dir_b": .string(try folders.get().gratings),
  ])
  try TeacherEvaluateExperiment.validate(parameters: twoDatasets)
  let resolved = try TeacherEvaluateExperiment.resolve(parameters: twoDatasets)
  let gratings = try DatasetSource.fashionMNIST(directory: try folders.get().gratings).load()
  let digits = try DatasetSource.mnist(directory: try folders.get().digits).load()
  #expect(resolved["dataset_b_sha256"] == .string(gratings.sha256))
  #expect(resolved["dataset_sha256"] == .string(digits.sha256))
  // Task B from the same dataset pins nothing for dataset_b.
  let same = try TeacherEvaluateExperiment.resolve(parameters: try evaluation([:]))
  #expect(same["dataset_b_sha256"] == nil)
}

@Test func teacherTasks_fromDatasetsOfTwoImageSizes_areRefused_namingBoth() throws {
  let parameters = try evaluation([
    "dataset_b": .string("fashion-mnist"), "data_dir_b": .string(try folders.get().smallGratings),
  ])
  let text = message { try TeacherEvaluateExperiment.resolve(parameters: parameters) }
  #expect(text.contains("28 × 28") && text.contains("14 × 14") && text.contains("one network"), "\(text)")
  let badHash = try evaluation(["dataset_b": .string("synth-gratings"), "dataset_b_sha256": .string("abc")])
  #expect(
    message { try TeacherEvaluateExperiment.validate(parameters: badHash) }.contains("dataset_b_sha256"))
}

@Test func exp2ClassSamples_dependOnTheSampleAlone_andAreChecked() throws {
  let drawing = try evaluation(["task_a": .string("0-1"), "task_b": .string("2-9"), "b_classes": .int(3)])
  #expect(
    message { try TeacherEvaluateExperiment.validate(parameters: drawing) }.contains("b_classes and b_sample")
  )
  var sampled = drawing
  sampled["b_sample"] = .int(1)
  try TeacherEvaluateExperiment.validate(parameters: sampled)
  func held(_ extra: Parameters) throws -> [UInt8] {
    try TeacherEvaluateConfig(parameters: sampled.merging(extra) { _, new in new }).tasks.heldClassesB(
      experiment: "test")
  }
  let first = try held([:])
  #expect(first.count == 3 && first == first.sorted() && first.allSatisfy { (2...9).contains($0) })
  // Another method sees the same classes; other samples see others.
  #expect(try held(["method": .string("freeze")]) == first)
  let samples = try (1...5).map { try held(["b_sample": .int($0)]) }
  #expect(Set(samples).count > 1, "\(samples)")
  // Without b_classes task B is all of task_b.
  #expect(
    try TeacherEvaluateConfig(
      parameters: try evaluation(["task_a": .string("0-1"), "task_b": .string("2-9")])
    )
    .tasks.heldClassesB(experiment: "test") == Array(2...9))
  var tooMany = sampled
  tooMany["b_classes"] = .int(9)
  #expect(message { try TeacherEvaluateExperiment.validate(parameters: tooMany) }.contains("only 8 classes"))
  var alone = try evaluation([:])
  alone["b_sample"] = .int(2)
  #expect(message { try TeacherEvaluateExperiment.validate(parameters: alone) }.contains("b_sample"))
}
