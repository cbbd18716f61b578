import Testing
import TrainingCore

/// A tiny random problem in Double: parameters (with non-trivial biases), inputs and targets.
private func tinyProblem(shape: LSTMShape, length: Int, seed: UInt64) -> (
  p: [Double], x: [Double], y: [Double]
) {
  var random = RandomStream(rootSeed: seed, stream: "gradient-check")
  let p = (0..<shape.parameterCount).map { _ in (2 * random.uniformDouble() - 1) * 0.8 }
  let x = (0..<(length * shape.inputs)).map { _ in 2 * random.uniformDouble() - 1 }
  let y = (0..<length).map { _ in
    shape.readout == .sigmoid ? random.uniformDouble() : 2 * random.uniformDouble() - 1
  }
  return (p, x, y)
}

/// Worst relative error, per block, of the analytic gradient against central differences
/// (h = 1e-5; |a − n|/max(|a| + |n|, 1e-4), the floor keeping round-off on near-zero entries out).
private func gradientCheck(shape: LSTMShape, length: Int = 5, seed: UInt64 = 7) -> [(String, Double)] {
  let (p, x, y) = tinyProblem(shape: shape, length: length, seed: seed)
  let scale = 1 / Double(length)
  let analytic = LSTMNetwork.lossAndGradient(shape: shape, parameters: p, inputs: x, targets: y, scale: scale)
    .gradient
  var out: [(String, Double)] = []
  for block in shape.blocks {
    var worst = 0.0
    for k in block.range {
      let h = 1e-5
      var plus = p
      plus[k] += h
      var minus = p
      minus[k] -= h
      let numeric =
        (LSTMNetwork.loss(shape: shape, parameters: plus, inputs: x, targets: y, scale: scale)
          - LSTMNetwork.loss(shape: shape, parameters: minus, inputs: x, targets: y, scale: scale)) / (2 * h)
      let error = abs(numeric - analytic[k]) / max(abs(numeric) + abs(analytic[k]), 1e-4)
      worst = max(worst, error)
    }
    out.append((block.name, worst))
  }
  return out
}

@Test func lstmGradient_matchesCentralDifferences_inEveryBlock_withoutDenseLayer() {
  for (name, error) in gradientCheck(shape: LSTMShape(inputs: 3, hidden: 3)) {
    #expect(error < 1e-6, "\(name): relative error \(error)")
  }
}

@Test func lstmGradient_matchesCentralDifferences_inEveryBlock_withDenseLayer() {
  for (name, error) in gradientCheck(shape: LSTMShape(inputs: 3, hidden: 3, dense: 4)) {
    #expect(error < 1e-6, "\(name): relative error \(error)")
  }
}

@Test func lstmGradient_matchesCentralDifferences_withLinearReadout() {
  for (name, error) in gradientCheck(
    shape: LSTMShape(inputs: 3, hidden: 3, dense: 2, readout: .linear), seed: 11)
  {
    #expect(error < 1e-6, "\(name): relative error \(error)")
  }
}

@Test func floatAndDoubleNetworks_agreeToFloatPrecision() {
  let shape = LSTMShape(inputs: 3, hidden: 12)
  let (p, x, y) = tinyProblem(shape: shape, length: 20, seed: 3)
  let double = LSTMNetwork.lossAndGradient(shape: shape, parameters: p, inputs: x, targets: y, scale: 0.05)
  let float = LSTMNetwork.lossAndGradient(
    shape: shape, parameters: p.map { Float($0) }, inputs: x.map { Float($0) }, targets: y.map { Float($0) },
    scale: Float(0.05))
  #expect(abs(float.loss - double.loss) < 1e-5 * double.loss)
  var worst = 0.0
  for k in 0..<shape.parameterCount {
    worst = max(worst, abs(Double(float.gradient[k]) - double.gradient[k]))
  }
  #expect(worst < 1e-5)
}

@Test func layout_isContiguous_andForgetBiasStartsAtOne() {
  let shape = LSTMShape(inputs: 3, hidden: 12, dense: 40)
  var next = 0
  for block in shape.blocks {
    #expect(block.range.lowerBound == next)
    next = block.range.upperBound
  }
  #expect(next == shape.parameterCount)
  #expect(shape.parameterCount == 15 * 48 + 48 + 12 * 40 + 40 + 40 + 1)
  let network = LSTMNetwork(shape: shape, seed: 1)
  for u in 0..<12 {
    #expect(network.parameters[shape.gateBiasOffset + u] == 0)
    #expect(network.parameters[shape.gateBiasOffset + 12 + u] == 1)
  }
}

@Test func doubleTanh_isOddBoundedAndAccurate() {
  #expect(DeterministicMath.tanh(0.0) == 0)
  #expect(DeterministicMath.tanh(30.0) == 1)
  #expect(DeterministicMath.tanh(-0.3) == -DeterministicMath.tanh(0.3))
  // tanh(0.5) = 0.46211715726000974 (to 17 digits).
  #expect(abs(DeterministicMath.tanh(0.5) - 0.462_117_157_260_009_74) < 4e-16)
  #expect(abs(DeterministicMath.sigmoid(0.0) - 0.5) == 0)
}

@Test func laneGroup_givesTheOneSequenceGradient_bitForBit() {
  for shape in [LSTMShape(inputs: 3, hidden: 5), LSTMShape(inputs: 3, hidden: 4, dense: 3)] {
    let network = LSTMNetwork(shape: shape, seed: 2)
    let sequences = (0..<6).map {
      MetaSequence.training(settings: SequenceSettings(), length: 9, seed: 4, step: 0, index: $0)
    }
    var lanes = LSTMLaneWorkspace(shape: shape, length: 9)
    network.parameters.withUnsafeBufferPointer {
      lanes.run(parameters: $0, sequences: sequences[...], scale: 0.125)
    }
    for (b, sequence) in sequences.enumerated() {
      let one = LSTMNetwork.lossAndGradient(
        shape: shape, parameters: network.parameters, inputs: sequence.inputs, targets: sequence.targets,
        scale: Float(0.125))
      #expect(
        (0..<shape.parameterCount).map { lanes.gradient[$0][b].bitPattern } == one.gradient.map(\.bitPattern))
      #expect(abs(lanes.squaredErrors[b] * 0.125 - one.loss) <= 1e-12 * max(1, one.loss))
    }
  }
}
