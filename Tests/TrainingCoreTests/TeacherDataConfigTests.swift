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

private func message(_ body: () throws -> Any) -> String {
  do {
    _ = try body()
    return ""
  } catch {
    return "\(error)"
  }
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
