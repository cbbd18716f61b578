import Testing
import TrainingCore

private func lanes(_ x: Float) -> FloatLanes { FloatLanes(repeating: x) }

@Test func momentum_accumulatesGradients_withTF1Form() {
  let optimiser = Momentum(learningRate: 0.1, momentum: 0.9)
  let first = optimiser.update(gradient: lanes(2), state: Momentum.State())
  #expect(first.state.accumulator == lanes(2))
  #expect(first.change == lanes(-0.2))
  let second = optimiser.update(gradient: lanes(1), state: first.state)
  // a = 0.9·2 + 1 = 2.8, change = −0.1·2.8.
  #expect(second.state.accumulator == lanes(Float(0.9) * 2 + 1))
  #expect(second.change == lanes(-(Float(0.1) * (Float(0.9) * 2 + 1))))
}

@Test func rmsprop_startsAccumulatorAtOne_likeTF1() {
  let optimiser = RMSProp(learningRate: 0.01)
  #expect(optimiser.initialState.meanSquare == lanes(1))
  let step = optimiser.update(gradient: lanes(2), state: optimiser.initialState)
  // s = 0.9·1 + 0.1·4 = 1.3; change = −0.01·2/√(1.3 + 1e-10) = −0.0175412…
  #expect(abs(step.state.meanSquare[0] - 1.3) < 1e-6)
  #expect(abs(Double(step.change[0]) - (-0.01 * 2 / (1.3 as Double).squareRoot())) < 1e-8)
  // Starting at 0 instead (Keras) gives a step of about α·g/|g|/√0.1, much larger.
  let keras = RMSProp(learningRate: 0.01, initialAccumulator: 0)
  let kerasStep = keras.update(gradient: lanes(2), state: keras.initialState)
  #expect(abs(Double(kerasStep.change[0]) - (-0.01 * 2 / (0.4 as Double).squareRoot())) < 1e-7)
}

@Test func adam_biasCorrection_usesStepPlusOne_andEpsilonOutside() {
  let optimiser = Adam(learningRate: 0.001)
  // Step 0 (t = 1): m = 0.1g, v = 0.001g², rate = α·√0.001/0.1.
  let g: Float = 0.5
  let first = optimiser.update(step: 0, gradient: lanes(g), state: Adam.State())
  let rate1 = 0.001 * (0.001 as Double).squareRoot() / 0.1
  let m1 = 0.1 * 0.5
  let v1 = 0.001 * 0.25
  // 1 − β in Float carries a relative rounding of up to 5e-5 (1 − 0.999f = 0.00099998713).
  #expect(abs(Double(first.state.mean[0]) - m1) < 1e-6 * m1)
  #expect(abs(Double(first.state.meanSquare[0]) - v1) < 5e-5 * v1)
  let expected1 = -rate1 * m1 / (v1.squareRoot() + 1e-8)
  #expect(abs(Double(first.change[0]) - expected1) < 1e-4 * abs(expected1))
  #expect(abs(Double(first.change[0]) + 0.001) < 1e-7)  // ≈ −α·sign(g) on the first step
  // Step 1 (t = 2) with gradient −1.
  let second = optimiser.update(step: 1, gradient: lanes(-1), state: first.state)
  let m2 = 0.9 * m1 + 0.1 * -1.0
  let v2 = 0.999 * v1 + 0.001 * 1.0
  let rate2 = 0.001 * (1 - 0.999 * 0.999).squareRoot() / (1 - 0.9 * 0.9)
  let expected2 = -rate2 * m2 / (v2.squareRoot() + 1e-8)
  #expect(abs(Double(second.change[0]) - expected2) < 1e-4 * abs(expected2))
  let late = Float(0.001 * (1 - pow999(10000)).squareRoot() / (1 - pow9(10000)))
  #expect(abs(optimiser.correctedLearningRate(step: 9999) - late) <= late.ulp)
}

private func pow999(_ n: Int) -> Double { (0..<n).reduce(1.0) { x, _ in x * 0.999 } }
private func pow9(_ n: Int) -> Double { (0..<n).reduce(1.0) { x, _ in x * 0.9 } }

@Test func sgd_stepsAgainstTheGradient() {
  #expect(StochasticGradientDescent(learningRate: 0.5).update(gradient: lanes(4)) == lanes(-2))
}
