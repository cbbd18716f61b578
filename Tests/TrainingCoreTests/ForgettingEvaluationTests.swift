import Testing
import TrainingCore

/// Dense 6 → 5 (ReLU, the representation) → 4 classes, of which the first 2 are "task A's".
private let smallNetwork: ConvNet = {
  do {
    return try ConvNet(
      input: TensorShape(channels: 1, height: 2, width: 3),
      layers: [.dense(outputs: 5), .relu, .dense(outputs: 4)])
  } catch {
    fatalError("the small network: \(error)")
  }
}()

private func logits(_ p: [Double], _ x: [Double], count: Int) -> [Double] {
  var workspace = ConvNetWorkspace<Double>(network: smallNetwork, batchCapacity: count)
  smallNetwork.forward(parameters: p, input: x, batch: count, workspace: &workspace)
  return Array(workspace.output(2, network: smallNetwork))
}

private func logSoftmax(_ z: [Double]) -> [Double] {
  let top = z.max()!
  let sum = z.reduce(0) { $0 + (($1 - top) as Double).exponential() }
  return z.map { $0 - top - sum.logarithm() }
}

extension Double {
  fileprivate func exponential() -> Double { DeterministicMath.exp(self) }
  fileprivate func logarithm() -> Double { DeterministicMath.log(self) }
}

@Test func lwfGradient_isTheGradientOfCrossEntropyPlusDistillation() {
  // L = mean_n [−log softmax(z)_y − λ Σ_{k<A} softmax(z0_A/T)_k · log softmax(z_A/T)_k], by hand.
  var random = RandomStream(rootSeed: 2, stream: "lwf")
  let p = (0..<smallNetwork.parameterCount).map { _ in 2 * random.uniformDouble() - 1 }
  let anchor = (0..<smallNetwork.parameterCount).map { _ in 2 * random.uniformDouble() - 1 }
  let x = (0..<18).map { _ in random.uniformDouble() }
  let labels: [Int32] = [2, 3, 0]
  let (weight, temperature, classes) = (0.7, 2.0, 2)
  func loss(_ p: [Double]) -> Double {
    let z = logits(p, x, count: 3)
    let z0 = logits(anchor, x, count: 3)
    var total = 0.0
    for n in 0..<3 {
      let row = Array(z[(4 * n)..<(4 * n + 4)])
      total -= logSoftmax(row)[Int(labels[n])]
      let soft = logSoftmax(row.prefix(classes).map { $0 / temperature })
      let target = logSoftmax(z0[(4 * n)..<(4 * n + classes)].map { $0 / temperature }).map {
        $0.exponential()
      }
      total -= weight * zip(target, soft).reduce(0) { $0 + $1.0 * $1.1 }
    }
    return total / 3
  }
  var workspace = ConvNetWorkspace<Double>(network: smallNetwork, batchCapacity: 3)
  var anchorWorkspace = workspace
  let analytic = ForgettingEvaluation.crossEntropyGradient(
    network: smallNetwork, parameters: p, images: x, labels: labels, workspace: &workspace,
    distillation: (anchor: anchor, weight: weight, temperature: temperature, classes: classes),
    anchorWorkspace: &anchorWorkspace)
  var worst = 0.0
  for k in p.indices {
    var plus = p
    plus[k] += 1e-6
    var minus = p
    minus[k] -= 1e-6
    let numeric = (loss(plus) - loss(minus)) / 2e-6
    worst = max(worst, abs(numeric - analytic[k]) / max(abs(numeric) + abs(analytic[k]), 1e-4))
  }
  #expect(worst < 1e-6)
}

@Test func diagonalFisher_isTheExpectationOverTheModelsClasses_ofSquaredLogLikelihoodGradients() {
  // F_i = mean_n Σ_c p_c (∂ log p_c / ∂θ_i)², with the derivatives by central differences; zero on
  // the head rows of the classes not yet learnt (2 and 3).
  var random = RandomStream(rootSeed: 3, stream: "fisher")
  let p = (0..<smallNetwork.parameterCount).map { _ in 2 * random.uniformDouble() - 1 }
  let x = (0..<12).map { _ in random.uniformDouble() }
  let fisher = ForgettingEvaluation.diagonalFisher(
    network: smallNetwork, parameters: p, images: x, count: 2, oldClasses: 2)
  let head = smallNetwork.parameterRanges[2]!
  var worst = 0.0
  for i in p.indices {
    let isNewRow =
      (head.weights.contains(i) && (i - head.weights.lowerBound) / head.rowLength >= 2)
      || (head.biases.contains(i) && i - head.biases.lowerBound >= 2)
    if isNewRow {
      #expect(fisher[i] == 0)
      continue
    }
    var expected = 0.0
    for n in 0..<2 {
      let image = Array(x[(6 * n)..<(6 * n + 6)])
      let probabilities = logSoftmax(logits(p, image, count: 1)).map { $0.exponential() }
      for c in 0..<4 {
        var plus = p
        plus[i] += 1e-6
        var minus = p
        minus[i] -= 1e-6
        let derivative =
          (logSoftmax(logits(plus, image, count: 1))[c] - logSoftmax(logits(minus, image, count: 1))[c])
          / 2e-6
        expected += probabilities[c] * derivative * derivative
      }
    }
    expected /= 2
    worst = max(worst, abs(expected - fisher[i]) / max(abs(expected) + abs(fisher[i]), 1e-6))
  }
  #expect(worst < 1e-5)
}

@Test func freeze_readsTheSameRepresentationAtEveryStep_andSGDMovesIt() {
  var random = RandomStream(rootSeed: 4, stream: "tasks")
  func task(_ count: Int, _ classes: Range<Int32>) -> TeacherTaskImages {
    let labels = (0..<count).map { _ in classes.lowerBound + Int32(random.uniformInt(below: classes.count)) }
    let images = labels.flatMap { label in
      (0..<6).map { Float(random.uniformDouble()) + ($0 == Int(label) ? 1 : 0) }
    }
    return TeacherTaskImages(images: images, labels: labels, pixelsPerImage: 6)
  }
  let tasks = ForgettingEvaluation.Tasks(
    trainA: task(60, 0..<2), testA: task(40, 0..<2), trainB: task(60, 2..<4), testB: task(40, 2..<4),
    classesA: 2,
    classesB: 2)
  var settings = ForgettingEvaluationSettings()
  settings.steps = 20
  settings.evaluateEvery = 5
  settings.batch = 8
  settings.readoutImages = 60
  settings.readout.steps = 100
  settings.sgdLearningRate = 0.5
  let initial: [Float] = smallNetwork.initialParameters(seed: 1)
  let frozen = ForgettingEvaluation.run(
    method: .freeze, network: smallNetwork, initial: initial, tasks: tasks, meta: nil, settings: settings,
    seed: 1)
  #expect(frozen.steps == [0, 5, 10, 15, 20])
  #expect(
    Set(frozen.readoutA).count == 1 && Set(frozen.readoutB).count == 1 && Set(frozen.originalA).count == 1)
  let sgd = ForgettingEvaluation.run(
    method: .sgd, network: smallNetwork, initial: initial, tasks: tasks, meta: nil, settings: settings,
    seed: 1)
  #expect(sgd.readoutA[0] == frozen.readoutA[0])
  #expect(sgd.originalA != frozen.originalA || sgd.readoutB != frozen.readoutB)
  #expect((0...1).contains(sgd.jointReadout))
}
