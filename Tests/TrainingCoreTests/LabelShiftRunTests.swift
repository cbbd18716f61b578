import Testing

@testable import TrainingCore

/// Images of 64 pixels in 4 classes: class c lights pixels 16c..<16c+16, with noise elsewhere.
private func blocks(_ count: Int, seed: UInt64) -> LabeledImages {
  var random = RandomStream(rootSeed: seed, stream: "blocks")
  var pixels: [UInt8] = []
  var labels: [UInt8] = []
  for _ in 0..<count {
    let label = random.uniformInt(below: 4)
    labels.append(UInt8(label))
    pixels += (0..<64).map { i in
      i / 16 == label
        ? UInt8(180 + random.uniformDouble() * 75)
        : random.bernoulli(0.1) ? UInt8(random.uniformDouble() * 60) : 0
    }
  }
  return LabeledImages(pixels: pixels, labels: labels, pixelsPerImage: 64)
}

private func settings(_ algorithm: LearningAlgorithm = .adam) -> LabelShiftRunSettings {
  var s = LabelShiftRunSettings()
  s.classifier.inputs = 64
  s.classifier.hiddenUnits = 16
  s.classifier.classes = 4
  s.classifier.rule.algorithm = algorithm
  s.classifier.rule.stepSize = 0.01
  s.examplesPerTask = 1200
  s.binSize = 100
  s.tailExamples = 300
  s.embeddingImages = 10
  return s
}

@Test func labelShiftRun_learnsEachTask_inTurn_andRecordsEverySeries() {
  let (train, test) = (blocks(1200, seed: 1), blocks(400, seed: 2))
  let record = LabelShiftRun.run(settings: settings(), train: train, test: test, seed: 3)
  #expect(record.binnedLoss.count == 36 && record.binnedErrorRate.count == 36)
  #expect(record.inputWeightDrift.count == 36 && record.outputWeightDrift.count == 36)
  #expect(record.stageErrorRate.count == 3 && record.testAccuracy.map(\.count) == [3, 3, 3])
  #expect(record.hiddenActivations.map(\.count) == [10 * 16, 10 * 16, 10 * 16])
  #expect(record.hiddenActivations[0] != record.hiddenActivations[1])
  // After each stage the classifier knows that stage's labelling best.
  for stage in 0..<3 {
    let accuracy = record.testAccuracy[stage]
    #expect(accuracy[stage] > 0.9, "stage \(stage): \(accuracy)")
    #expect(accuracy[stage] == accuracy.max(), "stage \(stage): \(accuracy)")
  }
  // Each switch of labels costs errors that the end of every stage has unlearnt.
  for first in [12, 24] {
    #expect(
      record.binnedErrorRate[first] > record.binnedErrorRate[first - 1] + 0.05, "\(record.binnedErrorRate)")
  }
  #expect(record.stageErrorRate.allSatisfy { $0 < 0.05 }, "\(record.stageErrorRate)")
  // U keeps moving away from its start.
  #expect(
    record.stageInputWeightDrift[0] > 0 && record.stageInputWeightDrift[2] > record.stageInputWeightDrift[0])
}

@Test func labelShiftRun_isBitIdentical_forTheSameSeed() {
  let (train, test) = (blocks(1200, seed: 1), blocks(400, seed: 2))
  let a = LabelShiftRun.run(settings: settings(.crosspropApprox), train: train, test: test, seed: 4)
  let b = LabelShiftRun.run(settings: settings(.crosspropApprox), train: train, test: test, seed: 4)
  #expect(a.binnedLoss.map(\.bitPattern) == b.binnedLoss.map(\.bitPattern))
  #expect(a.hiddenActivations.joined().map(\.bitPattern) == b.hiddenActivations.joined().map(\.bitPattern))
  #expect(a == b)
}

@Test func taskB_labels_areTaskAs_rolledLeftByOne() {
  var s = settings()
  s.stages = 6
  #expect((0..<6).map(s.shift) == [0, 1, 2, 0, 1, 2])
  #expect(s.distinctTasks == 3)
  // Label 0 under B is class 9 of 10, as rolling the one-hot vector left by one gives.
  #expect((0 + 10 - s.shift(stage: 1)) % 10 == 9)
}
