import Testing
import TrainingCore

/// L(θ) = Σ_k ⟨C_k, δ_k(θ)⟩ over a window of `inputs.count` steps from `start`: every δ of the
/// window, with fixed inputs and the state at the window's start held constant.
private func windowLoss(
  _ shape: LayerMetaLearnerShape, _ parameters: [Double], start: LayerMetaLearner.State<Double>,
  inputs: [[Double]], weights: [[Double]]
) -> Double {
  var state = start
  var loss = 0.0
  for (k, z) in inputs.enumerated() {
    let delta = LayerMetaLearner.step(shape: shape, parameters: parameters, inputs: z, state: &state).delta
    if !weights[k].isEmpty { loss += zip(delta, weights[k]).reduce(0) { $0 + $1.0 * $1.1 } }
  }
  return loss
}

@Test func metaLearnerGradient_throughATruncatedWindow_matchesCentralDifferences() {
  let shape = LayerMetaLearnerShape(inputs: 5, outputs: 3, hidden: 4, layers: 3)
  let neurons = 2
  var random = RandomStream(rootSeed: 4, stream: "meta-check")
  // Start away from the initial head (V = 0), so every parameter's gradient is exercised.
  var parameters: [Double] = LayerMetaLearner.initialParameters(shape: shape, seed: 4, layer: 0)
  for k in parameters.indices { parameters[k] += 0.4 * (2 * random.uniformDouble() - 1) }
  let z = (0..<5).map { _ in (0..<(neurons * shape.inputs)).map { _ in 2 * random.uniformDouble() - 1 } }
  // Two steps before the window leave a non-zero state, which the window treats as a constant.
  var state = LayerMetaLearner.State<Double>(shape: shape, neurons: neurons)
  for k in 0..<2 {
    _ = LayerMetaLearner.step(shape: shape, parameters: parameters, inputs: z[k], state: &state)
  }
  let start = state
  let window = Array(z[2...])
  // The middle step's δ has no loss of its own: its gradient still flows through the state.
  let weights = [0, 1, 2].map { k in
    k == 1 ? [] : (0..<(neurons * shape.outputs)).map { _ in 2 * random.uniformDouble() - 1 }
  }
  var records: [LayerMetaLearner.StepRecord<Double>] = []
  for input in window {
    records.append(
      LayerMetaLearner.step(shape: shape, parameters: parameters, inputs: input, state: &state).record)
  }
  var gradient = [Double](repeating: 0, count: shape.parameterCount)
  LayerMetaLearner.backward(
    shape: shape, parameters: parameters, window: records, outputGradients: weights, gradient: &gradient)
  var worst = 0.0
  for k in parameters.indices {
    var plus = parameters
    plus[k] += 1e-5
    var minus = parameters
    minus[k] -= 1e-5
    let numeric =
      (windowLoss(shape, plus, start: start, inputs: window, weights: weights)
        - windowLoss(shape, minus, start: start, inputs: window, weights: weights)) / 2e-5
    worst = max(worst, abs(numeric - gradient[k]) / max(abs(numeric) + abs(gradient[k]), 1e-4))
  }
  #expect(worst < 1e-6, "worst relative error \(worst) over \(parameters.count) parameters")
}

@Test func metaLearner_startsAsPlainSGD_deltaOneEverywhere() {
  let shape = LayerMetaLearnerShape(inputs: 7, outputs: 4, hidden: 6, layers: 2)
  let parameters: [Float] = LayerMetaLearner.initialParameters(shape: shape, seed: 1, layer: 2)
  var state = LayerMetaLearner.State<Float>(shape: shape, neurons: 3)
  let inputs = (0..<21).map { Float($0) / 10 - 1 }
  let delta = LayerMetaLearner.step(shape: shape, parameters: parameters, inputs: inputs, state: &state).delta
  #expect(delta.count == 12)
  #expect(delta.allSatisfy { abs($0 - 1) < 1e-6 }, "\(delta)")
  #expect(state.h[0].contains { $0 != 0 })
}
