import Datasets
import Experiments
import Foundation
import SweepModel
import Testing
import TrainingCore

/// 600 training and 200 test SynthDigits images written as an MNIST folder.
private let digits: Result<(folder: String, dataset: ImageDataset), any Error> = Result {
  let dataset = try SynthDigits.makeDataset(
    SynthImageSettings {
      $0.seed = 3
      $0.trainCount = 600
      $0.testCount = 200
    })
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
    "metasweep-permuted-\(UUID().uuidString)"
  ).path
  try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  try dataset.writeIDX(to: directory, compression: .none)
  return (directory, dataset)
}

private func parameters(_ overrides: Parameters = [:]) throws -> Parameters {
  var parameters: Parameters = [
    "dataset": .string("mnist"), "data_dir": .string(try digits.get().folder), "tasks": .int(3),
    "iterations": .int(60), "batch": .int(32), "learning_rate": .double(0.2), "hidden": .string("32"),
    "predictor_hidden": .string("8,8"), "evaluate_every": .int(20), "test_images": .int(100),
    "distill_steps": .int(5), "distill_grid": .int(64), "fisher_images": .int(50), "ewc_weight": .double(5),
  ]
  parameters.merge(overrides) { _, new in new }
  return try PermutedContinualExperiment.resolve(parameters: parameters)
}

@Test func permutedContinual_reportsTheAccuracyMatrix_andChainsBitIdentically() throws {
  for method in ["sgd", "meta-sign", "ewc"] {
    let p = try parameters(["method": .string(method)])
    let whole = try PermutedContinualExperiment.run(parameters: p, seed: 2)
    // 3 tasks × 60 iterations, an evaluation every 20: 10 points per task curve.
    #expect(
      whole.series.map(\.name) == [
        "task_1", "task_2", "task_3", "theta_rms", "zeroed_fraction", "growing_fraction", "predictor_loss",
        "sign_agreement",
      ])
    #expect(whole.series[0].values.count == 10 && whole.series[4].values.count == 9)
    let names = whole.metrics.map(\.name)
    #expect(
      ["acc", "bwt", "forgetting", "after_task_3", "final_task_1", "start_task_2", "forgetting_task_2"]
        .allSatisfy(names.contains))
    #expect(!names.contains("forgetting_task_3") && !names.contains("after_task_4"))
    #expect(Set(names).isSubset(of: PermutedContinualExperiment.metrics(for: p)))
    // Task 1 is learnt, and SGD forgets some of it by the end.
    let after1 = try #require(whole.metric("after_task_1"))
    #expect(after1 > 0.4, "\(method): \(after1)")
    if method == "sgd" { #expect(try #require(whole.metric("final_task_1")) < after1) }
    var checkpoint: [UInt8]?
    var outcome: Outcome?
    var segments = 0
    while outcome == nil {
      switch try PermutedContinualExperiment.runSegment(
        parameters: p, seed: 2, checkpoint: checkpoint, maxSteps: 25)
      {
      case .finished(let o): outcome = o
      case .checkpoint(let bytes, _, _): checkpoint = bytes
      }
      segments += 1
    }
    // 25-iteration segments that also stop at task ends: 25, 25, 10 per task.
    #expect(segments == 9)
    #expect(
      outcome!.metrics == whole.metrics
        && outcome!.series.map(\.values).description == whole.series.map(\.values).description)
  }
}

@Test func permutedContinual_refusesBadSettings_andDamagedCheckpoints_andRecordsDivergence() throws {
  #expect(
    message { try parameters(["hidden": .string("64,x")]) }.contains(
      "parameter hidden: '64,x' must list layer sizes"))
  #expect(
    message { try parameters(["evaluate_every": .int(25)]) }.contains(
      "evaluate_every (25) must divide iterations (60)"))
  let p = try parameters(["method": .string("meta-sign")])
  guard
    case .checkpoint(var bytes, let done, let total) = try PermutedContinualExperiment.runSegment(
      parameters: p, seed: 2, checkpoint: nil, maxSteps: 7)
  else {
    Issue.record("no checkpoint after 7 of 180 iterations")
    return
  }
  #expect(done == 7 && total == 180)
  bytes[bytes.count / 2] ^= 0x40
  #expect(
    message {
      try PermutedContinualExperiment.runSegment(parameters: p, seed: 2, checkpoint: bytes, maxSteps: 7)
    }
    .contains("cannot continue from the checkpoint"))
  // A checkpoint of another network is refused, not misread.
  guard
    case .checkpoint(let other, _, _) = try PermutedContinualExperiment.runSegment(
      parameters: try parameters(["hidden": .string("16")]), seed: 2, checkpoint: nil, maxSteps: 7)
  else { return }
  #expect(
    message {
      try PermutedContinualExperiment.runSegment(parameters: p, seed: 2, checkpoint: other, maxSteps: 7)
    }
    .contains("disagree"))
  // A diverged network is a result, not a failure: it stops training where its loss stopped being
  // finite (in task 2, under EWC's absurd λ), and its curves show what it predicts from then on.
  let diverging = try parameters(["method": .string("ewc"), "ewc_weight": .double(1e9)])
  let outcome = try PermutedContinualExperiment.run(parameters: diverging, seed: 2)
  #expect(outcome.metric("diverged") == 1)
  let at = try #require(outcome.metric("diverged_at"))
  #expect((60..<120).contains(at), "\(at)")
  #expect(outcome.series(named: "task_1")!.values.count == 10)
  #expect(!(outcome.series(named: "theta_rms")!.values.last! < 1000), "the weights blew up")
  #expect(try PermutedContinualExperiment.run(parameters: p, seed: 2).metric("diverged") == 0)
}

@Test func permutedTasks_at14Pixels_averageEach2x2Block() throws {
  var config = PermutedContinualConfig()
  config.side = 14
  config.taskCount = 2
  let dataset = try digits.get().dataset
  let tasks = try config.tasks(from: dataset, seed: 1)
  #expect(tasks.pixels == 196 && tasks.trainLabels.count == 600 && tasks.testLabels.count == 200)
  let image = Array(dataset.train.images[(7 * 784)..<(8 * 784)]).map { Float($0) }
  for (i, j) in [(0, 0), (6, 9), (13, 13)] {
    let expected =
      (image[2 * i * 28 + 2 * j] + image[2 * i * 28 + 2 * j + 1] + image[(2 * i + 1) * 28 + 2 * j]
        + image[(2 * i + 1) * 28 + 2 * j + 1]) / (4 * 255)
    #expect(abs(tasks.trainImages[7 * 196 + i * 14 + j] - expected) < 1e-6)
  }
  config.side = 28
  #expect(try config.tasks(from: dataset, seed: 1).trainImages[7 * 784 + 400] == image[400] / 255)
}

@Test func softmaxCrossEntropy_ofNonFiniteLogits_isNaN_withAZeroGradient() {
  let logits: [Float] = [1, .nan, 2, 0.5, 0.2, 0.1]
  var gradient = [Float](repeating: 7, count: 6)
  let loss = logits.withUnsafeBufferPointer { logits in
    gradient.withUnsafeMutableBufferPointer { gradient in
      [Int32(0), 1].withUnsafeBufferPointer { labels in
        SoftmaxCrossEntropy.loss(logits: logits, labels: labels, classes: 3, gradient: gradient)
      }
    }
  }
  #expect(loss.isNaN && gradient.allSatisfy { $0 == 0 })
}
