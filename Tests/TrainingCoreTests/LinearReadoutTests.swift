import Testing
import TrainingCore

/// `count` points of `classes` Gaussian blobs in `dimensions` dimensions, centres `spread` apart on
/// the axes, drawn from `seed`.
private func blobs(count: Int, classes: Int, dimensions: Int, spread: Double, seed: UInt64) -> (
  [Float], [Int]
) {
  var random = RandomStream(rootSeed: seed, stream: "blobs")
  var features: [Float] = []
  var labels: [Int] = []
  for index in 0..<count {
    let label = index % classes
    labels.append(label)
    for j in 0..<dimensions { features.append(Float(random.normal() + (j % classes == label ? spread : 0))) }
  }
  return (features, labels)
}

@Test func readoutGradient_matchesCentralFiniteDifferencesOfItsLoss() {
  let (features, labels) = blobs(count: 7, classes: 3, dimensions: 11, spread: 1, seed: 3)
  var random = RandomStream(rootSeed: 5, stream: "weights")
  let weights = (0..<(3 * 12)).map { _ in Float(random.normal() * 0.3) }
  let readout = LinearReadout(dimensions: 11, classes: 3, weights: weights)
  let gradient = readout.lossAndGradient(features: features, labels: labels).gradient
  for index in weights.indices {
    let h: Float = 1e-2
    var plus = weights
    var minus = weights
    plus[index] += h
    minus[index] -= h
    let up = LinearReadout(dimensions: 11, classes: 3, weights: plus).lossAndGradient(
      features: features, labels: labels
    ).loss
    let down = LinearReadout(dimensions: 11, classes: 3, weights: minus).lossAndGradient(
      features: features, labels: labels
    ).loss
    let numeric = (up - down) / Double(plus[index] - minus[index])
    #expect(abs(numeric - Double(gradient[index])) < 2e-4 + 1e-3 * abs(numeric), "weight \(index)")
  }
}

@Test func readout_separatesSeparableClasses_andIsAPureFunctionOfItsData() {
  let (features, labels) = blobs(count: 300, classes: 4, dimensions: 20, spread: 6, seed: 1)
  let readout = LinearReadout.train(features: features, labels: labels, dimensions: 20, classes: 4)
  #expect(readout.accuracy(features: features, labels: labels) == 1)
  let (test, testLabels) = blobs(count: 200, classes: 4, dimensions: 20, spread: 6, seed: 2)
  #expect(readout.accuracy(features: test, labels: testLabels) > 0.97)
  #expect(LinearReadout.train(features: features, labels: labels, dimensions: 20, classes: 4) == readout)
  let untrained = LinearReadout(dimensions: 20, classes: 4)
  #expect(
    untrained.accuracy(features: test, labels: testLabels) == 0.25, "zero weights: every logit ties, class 0")
}

@Test func readout_isTrainedToConvergence_soMoreStepsBarelyMoveItsAccuracy() {
  // Overlapping classes: the loss has a minimum, which 500 full-batch Adam steps reach.
  let (features, labels) = blobs(count: 400, classes: 3, dimensions: 16, spread: 1.2, seed: 7)
  let (test, testLabels) = blobs(count: 400, classes: 3, dimensions: 16, spread: 1.2, seed: 8)
  var settings = LinearReadoutSettings()
  let standard = LinearReadout.train(features: features, labels: labels, dimensions: 16, classes: 3)
  settings.steps = 2000
  let longer = LinearReadout.train(
    features: features, labels: labels, dimensions: 16, classes: 3, settings: settings)
  let (lossStandard, lossLonger) = (
    standard.lossAndGradient(features: features, labels: labels).loss,
    longer.lossAndGradient(features: features, labels: labels).loss
  )
  #expect(lossStandard - lossLonger < 0.01, "\(lossStandard) then \(lossLonger)")
  #expect(
    abs(
      standard.accuracy(features: test, labels: testLabels)
        - longer.accuracy(features: test, labels: testLabels))
      <= 0.005)
}
