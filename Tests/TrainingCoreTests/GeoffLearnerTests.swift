import Testing
import TrainingCore

private func settings(_ algorithm: LearningAlgorithm, eta: Float = 0, form: EtaForm = .paper)
  -> GeoffLearnerSettings
{
  var s = GeoffLearnerSettings()
  s.rule.algorithm = algorithm
  s.rule.eta = eta
  s.rule.etaForm = form
  return s
}

/// Runs `steps` online steps of GEOFF data (seed 11) and returns the learner.
private func trained(_ s: GeoffLearnerSettings, steps: Int, seed: UInt64 = 11) -> GeoffLearner {
  var taskSettings = GeoffTaskSettings()
  taskSettings.examplesPerTask = steps
  let task = GeoffTask(settings: taskSettings, seed: seed)
  var learner = GeoffLearner(settings: s, seed: seed)
  for k in 0..<steps { learner.learn(task.taskData[0].inputs[k], target: Float(task.taskData[0].targets[k])) }
  return learner
}

private func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
  a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0 == 0 && $1 == 0) }
}

private func sameWeights(_ a: GeoffLearner, _ b: GeoffLearner) -> Bool {
  sameBits(a.inputWeights, b.inputWeights) && sameBits(a.hiddenBiases, b.hiddenBiases)
    && sameBits(a.outputWeights, b.outputWeights) && a.outputBias == b.outputBias
}

@Test func crossprop_withEtaOne_isBitIdenticalToBackprop() {
  let backprop = trained(settings(.backprop), steps: 200)
  #expect(sameWeights(trained(settings(.crossprop, eta: 1), steps: 200), backprop))
  #expect(sameWeights(trained(settings(.crossprop, eta: 1, form: .code), steps: 200), backprop))
  // And it moved: the comparison is not between two untouched networks.
  #expect(!sameWeights(backprop, GeoffLearner(settings: settings(.backprop), seed: 11)))
}

@Test func crosspropApprox_withEtaOne_isBitIdenticalToBackprop() {
  let backprop = trained(settings(.backprop), steps: 200)
  #expect(sameWeights(trained(settings(.crosspropApprox, eta: 1), steps: 200), backprop))
  #expect(sameWeights(trained(settings(.crosspropApprox, eta: 1, form: .code), steps: 200), backprop))
}

@Test func crosspropAndApprox_agreeAfterStepOne_andDifferAfterStepTwo() {
  for eta: Float in [0, 0.5] {
    let full1 = trained(settings(.crossprop, eta: eta), steps: 1)
    let approx1 = trained(settings(.crosspropApprox, eta: eta), steps: 1)
    #expect(sameWeights(full1, approx1))
    let full2 = trained(settings(.crossprop, eta: eta), steps: 2)
    let approx2 = trained(settings(.crosspropApprox, eta: eta), steps: 2)
    let gap = zip(full2.inputWeights, approx2.inputWeights).map { abs($0 - $1) }.max()!
    #expect(gap > 1e-6, "max |ΔU| after step 2 was \(gap) at η = \(eta)")
  }
}

@Test func backpropGradient_agreesWithCentralFiniteDifferences() {
  var s = GeoffLearnerSettings()
  s.inputs = 3
  s.hiddenUnits = 5
  var reference = ReferenceNetwork(GeoffLearner(settings: s, seed: 3))
  // Scale U down so the units are not saturated and every derivative is exercised.
  for i in 0...reference.inputs { reference.u[i] = reference.u[i].map { $0 * 0.3 } }
  for x: UInt32 in [0b000, 0b101, 0b111] {
    let target = 0.7
    let g = reference.gradient(x, target)
    let analytic = g.u.flatMap { $0 } + g.w + [g.b]
    let p = reference.parameters
    for k in p.indices {
      let e = 1e-6
      var plus = reference
      var minus = reference
      var pp = p
      pp[k] += e
      plus.setParameters(pp)
      pp[k] -= 2 * e
      minus.setParameters(pp)
      let numeric = (plus.loss(x, target) - minus.loss(x, target)) / (2 * e)
      #expect(abs(numeric - analytic[k]) <= 1e-7 + 1e-6 * abs(analytic[k]), "parameter \(k), x = \(x)")
    }
  }
}

/// Every algorithm's fused Float kernel follows the Double reference of its equations on a small,
/// padded shape (5 hidden units stored in a chunk of 8).
@Test(arguments: [
  (LearningAlgorithm.backprop, Float(0), EtaForm.paper), (.momentum, 0, .paper), (.rmsprop, 0, .paper),
  (.adam, 0, .paper), (.crossprop, 0, .paper), (.crossprop, 0.5, .paper), (.crossprop, 0.5, .code),
  (.crosspropApprox, 0, .paper), (.crosspropApprox, 0.5, .paper), (.crosspropApprox, 0.5, .code),
])
func learnerKernels_followTheDoubleReference(algorithm: LearningAlgorithm, eta: Float, form: EtaForm) {
  var s = settings(algorithm, eta: eta, form: form)
  s.inputs = 4
  s.hiddenUnits = 5
  s.rule.stepSize = 0.01
  var learner = GeoffLearner(settings: s, seed: 5)
  let start = ReferenceNetwork(learner)
  var reference = start
  var random = RandomStream(seed: 6)
  for _ in 0..<30 {
    let x = UInt32(random.fairBits(count: 4))
    let target = Float(random.normal() * 3)
    let predicted = learner.predict(x)
    #expect(abs(Double(predicted) - reference.forward(x).y) < 1e-4 * (1 + abs(Double(predicted))))
    learner.learn(x, target: target)
    reference.learn(x, Double(target), settings: s)
  }
  let fast =
    learner.inputWeights.map(Double.init) + learner.hiddenBiases.map(Double.init)
    + learner.outputWeights.map(Double.init) + [Double(learner.outputBias)]
  let exact = reference.parameters
  let initial = start.parameters
  let scale = zip(exact, initial).map { abs($0 - $1) }.max()!
  #expect(scale > 1e-4, "the reference barely moved")
  // Compare the change from the start: rounding of Float arithmetic and of our tanh only.
  let worst = (0..<exact.count).map { abs((fast[$0] - initial[$0]) - (exact[$0] - initial[$0])) }.max()!
  #expect(worst <= 2e-3 * scale, "worst deviation \(worst) against change scale \(scale)")
}

@Test func learners_atTheSameSeed_startFromTheSameWeights() {
  let a = GeoffLearner(settings: settings(.adam), seed: 21)
  let b = GeoffLearner(settings: settings(.crossprop, eta: 0.5), seed: 21)
  let c = GeoffLearner(settings: settings(.backprop), seed: 22)
  #expect(sameWeights(a, b))
  #expect(!sameWeights(a, c))
}

@Test func initialWeights_areStandardNormal() {
  let learner = GeoffLearner(settings: GeoffLearnerSettings(), seed: 1)
  let all = learner.inputWeights + learner.hiddenBiases + learner.outputWeights
  let mean = all.reduce(0, +) / Float(all.count)
  let variance = all.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(all.count)
  #expect(abs(mean) < 0.03)
  #expect(abs(variance - 1) < 0.05)
}
