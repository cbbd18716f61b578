import Foundation
import Testing

@testable import TrainingCore

/// A plain `Double` implementation of the online classifier, written from the equations (loops,
/// Foundation's tanh and exp), to check the Float kernels and the gradient against.
private struct ReferenceClassifier {
  var u: [[Double]]  // (inputs + 1) × hidden; the last row holds the hidden biases
  var w: [[Double]]  // hidden × classes
  var o: [Double]  // classes

  init(_ c: OnlineClassifier) {
    let (d, n, k) = (c.settings.inputs, c.settings.hiddenUnits, c.settings.classes)
    let weights = c.inputWeights.map(Double.init)
    let biases = c.hiddenBiases.map(Double.init)
    u = (0...d).map { i in (0..<n).map { j in i < d ? weights[i * n + j] : biases[j] } }
    let outputs = c.outputWeights.map(Double.init)
    w = (0..<n).map { j in (0..<k).map { outputs[j * k + $0] } }
    o = c.outputBiases.map(Double.init)
  }

  /// φ, the softmax p and the loss of input `x` with label `label`.
  func forward(_ x: [Double], label: Int) -> (phi: [Double], p: [Double], loss: Double) {
    let n = w.count
    let phi = (0..<n).map { j in
      Foundation.tanh((0..<x.count).reduce(u[x.count][j]) { $0 + x[$1] * u[$1][j] })
    }
    let logits = (0..<o.count).map { k in (0..<n).reduce(o[k]) { $0 + w[$1][k] * phi[$1] } }
    let largest = logits.max()!
    let e = logits.map { Foundation.exp($0 - largest) }
    let sum = e.reduce(0, +)
    return (phi, e.map { $0 / sum }, Foundation.log(sum) - (logits[label] - largest))
  }

  /// ∂loss/∂u, ∂loss/∂w and ∂loss/∂o, from the equations.
  func gradient(_ x: [Double], label: Int) -> (u: [[Double]], w: [[Double]], o: [Double]) {
    let (phi, p, _) = forward(x, label: label)
    let delta = p.indices.map { (($0 == label) ? 1 : 0) - p[$0] }
    let s = phi.indices.map { j in delta.indices.reduce(0.0) { $0 + delta[$1] * w[j][$1] } }
    let xTilde = x + [1]
    let gu = xTilde.map { xi in phi.indices.map { j in -xi * s[j] * (1 - phi[j] * phi[j]) } }
    let gw = phi.map { f in delta.map { -$0 * f } }
    return (gu, gw, delta.map { -$0 })
  }
}

private func tinySettings(
  _ algorithm: LearningAlgorithm, inputs: Int = 6, hidden: Int = 5, classes: Int = 3, stepSize: Float = 0.05,
  eta: Float = 0
) -> OnlineClassifierSettings {
  var s = OnlineClassifierSettings()
  s.inputs = inputs
  s.hiddenUnits = hidden
  s.classes = classes
  s.rule.algorithm = algorithm
  s.rule.stepSize = stepSize
  s.rule.eta = eta
  return s
}

/// Images of `inputs` bytes, about `zeros` of them 0, from a fixed generator.
private func images(_ count: Int, inputs: Int, zeros: Double, seed: UInt64) -> [[UInt8]] {
  var random = RandomStream(rootSeed: seed, stream: "test-images")
  return (0..<count).map { _ in
    (0..<inputs).map { _ in random.uniformDouble() < zeros ? 0 : UInt8(1 + random.uniformDouble() * 254) }
  }
}

private func learn(_ c: inout OnlineClassifier, _ image: [UInt8], _ label: Int) -> OnlineClassifier.Prediction
{
  image.withUnsafeBufferPointer { c.learn($0, label: label) }
}

private func bits(_ c: OnlineClassifier) -> [UInt32] {
  (c.inputWeights + c.hiddenBiases + c.outputWeights + c.outputBiases).map(\.bitPattern)
}

@Test func referenceGradient_matchesCentralFiniteDifferences() {
  let classifier = OnlineClassifier(settings: tinySettings(.backprop), seed: 3)
  var reference = ReferenceClassifier(classifier)
  // Weights of N(0, 1) saturate the units; smaller ones make every derivative count.
  for i in reference.u.indices { reference.u[i] = reference.u[i].map { $0 * 0.3 } }
  let x = [0, 0.4, 0, 0.9, 0.2, 1]
  let label = 2
  let g = reference.gradient(x, label: label)
  let h = 1e-6
  func check(_ analytic: Double, _ perturb: (inout ReferenceClassifier, Double) -> Void) {
    var plus = reference
    perturb(&plus, h)
    var minus = reference
    perturb(&minus, -h)
    let numeric = (plus.forward(x, label: label).loss - minus.forward(x, label: label).loss) / (2 * h)
    #expect(abs(numeric - analytic) <= 1e-7 + 1e-6 * abs(analytic), "numeric \(numeric) analytic \(analytic)")
  }
  for i in reference.u.indices {
    for j in reference.u[i].indices { check(g.u[i][j]) { $0.u[i][j] += $1 } }
  }
  for j in reference.w.indices {
    for k in reference.w[j].indices { check(g.w[j][k]) { $0.w[j][k] += $1 } }
  }
  for k in reference.o.indices { check(g.o[k]) { $0.o[k] += $1 } }
}

@Test func backpropStep_isTheDoubleReferencesGradientStep() {
  var classifier = OnlineClassifier(settings: tinySettings(.backprop), seed: 4)
  let reference = ReferenceClassifier(classifier)
  let image: [UInt8] = [0, 90, 0, 255, 17, 200]
  let x = image.map { Double($0) / 255 }
  let before = reference.forward(x, label: 1)
  let prediction = learn(&classifier, image, 1)
  #expect(abs(prediction.loss - before.loss) <= 1e-5 * max(1, before.loss))
  let g = reference.gradient(x, label: 1)
  let after = ReferenceClassifier(classifier)
  let alpha = Double(Float(0.05))
  for i in after.u.indices {
    for j in after.u[i].indices {
      #expect(
        abs(after.u[i][j] - (reference.u[i][j] - alpha * g.u[i][j])) <= 2e-6 * max(1, abs(after.u[i][j])))
    }
  }
  for j in after.w.indices {
    for k in after.w[j].indices {
      #expect(
        abs(after.w[j][k] - (reference.w[j][k] - alpha * g.w[j][k])) <= 2e-6 * max(1, abs(after.w[j][k])))
    }
  }
  for k in after.o.indices { #expect(abs(after.o[k] - (reference.o[k] - alpha * g.o[k])) <= 2e-6) }
}

@Test(arguments: [LearningAlgorithm.momentum, .rmsprop, .adam])
func optimiserSteps_matchTF1sFormulas_onTheReferenceGradient(algorithm: LearningAlgorithm) {
  var classifier = OnlineClassifier(settings: tinySettings(algorithm, stepSize: 0.01), seed: 5)
  let start = ReferenceClassifier(classifier)
  let steps: [([UInt8], Int)] = [([0, 90, 0, 255, 17, 200], 1), ([40, 0, 0, 3, 0, 99], 2)]
  // The optimiser's state per u weight, in Double; only u is compared (w and o step alike).
  var a = start.u.map { $0.map { _ in 0.0 } }
  var m = a
  var v = a
  var s = start.u.map { $0.map { _ in 1.0 } }  // TF1's RMSProp accumulator starts at 1
  var u = start.u
  for (t, (image, label)) in steps.enumerated() {
    var current = ReferenceClassifier(classifier)
    current.u = u
    let g = current.gradient(image.map { Double($0) / 255 }, label: label).u
    for i in u.indices {
      for j in u[i].indices {
        let alpha = 0.01
        switch algorithm {
        case .momentum:
          a[i][j] = 0.9 * a[i][j] + g[i][j]
          u[i][j] -= alpha * a[i][j]
        case .rmsprop:
          s[i][j] = 0.9 * s[i][j] + 0.1 * g[i][j] * g[i][j]
          u[i][j] -= alpha * g[i][j] / (s[i][j] + 1e-10).squareRoot()
        default:
          m[i][j] = 0.9 * m[i][j] + 0.1 * g[i][j]
          v[i][j] = 0.999 * v[i][j] + 0.001 * g[i][j] * g[i][j]
          let n = Double(t + 1)
          let rate = alpha * (1 - pow(0.999, n)).squareRoot() / (1 - pow(0.9, n))
          u[i][j] -= rate * m[i][j] / (v[i][j].squareRoot() + 1e-8)
        }
      }
    }
    _ = learn(&classifier, image, label)
  }
  let after = ReferenceClassifier(classifier)
  for i in u.indices {
    for j in u[i].indices {
      #expect(abs(after.u[i][j] - u[i][j]) <= 2e-5 * max(1, abs(u[i][j])), "\(i),\(j)")
    }
  }
}

@Test(arguments: [
  (LearningAlgorithm.backprop, Float(0)), (.crosspropApprox, 0), (.crosspropApprox, 0.5), (.momentum, 0),
  (.rmsprop, 0), (.adam, 0),
])
func sparseInputs_giveTheDenseComputationsBits(algorithm: LearningAlgorithm, eta: Float) {
  var sparse = OnlineClassifier(
    settings: tinySettings(algorithm, inputs: 50, hidden: 20, classes: 10, stepSize: 0.01, eta: eta), seed: 6)
  var denseSettings = sparse.settings
  denseSettings.isDense = true
  var dense = OnlineClassifier(settings: denseSettings, seed: 6)
  for (index, image) in images(60, inputs: 50, zeros: 0.6, seed: 1).enumerated() {
    let a = learn(&sparse, image, index % 10)
    let b = learn(&dense, image, index % 10)
    #expect(a == b)
  }
  #expect(bits(sparse) == bits(dense))
  #expect(sparse.squaredDrift(from: OnlineClassifier(settings: sparse.settings, seed: 6)).input > 0)
}

@Test func crosspropApproxWithEtaOne_isBackprop_bitForBit() {
  var approx = OnlineClassifier(settings: tinySettings(.crosspropApprox, eta: 1), seed: 7)
  var backprop = OnlineClassifier(settings: tinySettings(.backprop), seed: 7)
  for (index, image) in images(40, inputs: 6, zeros: 0.3, seed: 2).enumerated() {
    _ = learn(&approx, image, index % 3)
    _ = learn(&backprop, image, index % 3)
  }
  #expect(bits(approx) == bits(backprop))
}

@Test func classifier_learnsClassesThatDifferInWhichPixelsAreOn() {
  var settings = tinySettings(.adam, inputs: 64, hidden: 16, classes: 4, stepSize: 0.01)
  settings.rule.algorithm = .adam
  var classifier = OnlineClassifier(settings: settings, seed: 8)
  var random = RandomStream(rootSeed: 9, stream: "test-classes")
  func sample() -> ([UInt8], Int) {
    let label = Int(random.uniformDouble() * 4)
    // Class c lights pixels 16c..<16c+16, with noise elsewhere.
    let image = (0..<64).map { i in
      i / 16 == label
        ? UInt8(200 + random.uniformDouble() * 55)
        : random.uniformDouble() < 0.1 ? UInt8(random.uniformDouble() * 80) : 0
    }
    return (image, label)
  }
  for _ in 0..<2000 {
    let (image, label) = sample()
    _ = learn(&classifier, image, label)
  }
  var correct = 0
  for _ in 0..<200 {
    let (image, label) = sample()
    if image.withUnsafeBufferPointer({ classifier.predictedClass($0) }) == label { correct += 1 }
  }
  #expect(correct >= 180, "\(correct) of 200")
}

@Test func sameSeed_givesBitIdenticalWeights_andAnotherSeedOthers() {
  func run(_ seed: UInt64) -> [UInt32] {
    var c = OnlineClassifier(settings: tinySettings(.crosspropApprox, eta: 0.5), seed: seed)
    for (index, image) in images(30, inputs: 6, zeros: 0.3, seed: 3).enumerated() {
      _ = learn(&c, image, index % 3)
    }
    return bits(c)
  }
  #expect(run(11) == run(11))
  #expect(run(11) != run(12))
}

// MARK: - Crossprop's traces are the derivatives they stand for

/// The model crossprop's meta-gradient differentiates (paper eqns 7, 8 with η = 0): one output
/// y = w·φ + b learnt by LMS, w ← w + α·δ·φ, with the hidden activations given, and a
/// perturbation that reaches w only through the LMS update (the prediction's direct dependence is
/// backprop's term, which η mixes in). Returns w after `phis.count` steps when `epsilon` is added
/// to φ_j in every update.
private func lmsWeights(
  phis: [[Double]], targets: [Double], w0: [Double], alpha: Double, perturbed j: Int, by epsilon: Double
) -> [Double] {
  var w = w0
  for (phi, target) in zip(phis, targets) {
    let y = zip(w, phi).reduce(0) { $0 + $1.0 * $1.1 }
    let delta = target - y
    for m in w.indices { w[m] += alpha * delta * (phi[m] + (m == j ? epsilon : 0)) }
  }
  return w
}

@Test func crosspropApproxTrace_isTheFiniteDifferenceDerivative_ofTheOutputWeightWithRespectToItsUnit() {
  // One hidden unit, so the derivation's dropped cross terms (other units' weights) are absent.
  var random = RandomStream(rootSeed: 13, stream: "trace-check")
  let steps = 40
  let phis = (0..<steps).map { _ in [random.uniformDouble() * 2 - 1] + Array(repeating: 0.0, count: 7) }
  let targets = (0..<steps).map { _ in random.normal() }
  let alpha = 0.05
  let w0 = [0.7] + Array(repeating: 0.0, count: 7)
  // The Float kernel's trace, advanced step by step with the model's δ.
  var traces = [FloatLanes](repeating: .zero, count: 1)
  var signal = [FloatLanes](repeating: .zero, count: 1)
  var w = w0
  for (phi, target) in zip(phis, targets) {
    let delta = Float(target - zip(w, phi).reduce(0) { $0 + $1.0 * $1.1 })
    let phiLanes = [FloatLanes(phi.map(Float.init))]
    let wLanes = [FloatLanes(w.map(Float.init))]
    withUnsafePointer(to: delta) { deltas in
      CrosspropApprox.backpropagate(
        outputs: 1, chunks: 1, deltas: deltas, activations: phiLanes, outputWeights: wLanes, traces: &traces,
        signal: &signal, eta: 0, form: .paper, stepSize: Float(alpha))
    }
    for m in w.indices { w[m] += alpha * Double(delta) * phi[m] }
  }
  let h = 1e-5
  let plus = lmsWeights(phis: phis, targets: targets, w0: w0, alpha: alpha, perturbed: 0, by: h)
  let minus = lmsWeights(phis: phis, targets: targets, w0: w0, alpha: alpha, perturbed: 0, by: -h)
  let numeric = (plus[0] - minus[0]) / (2 * h)
  #expect(
    abs(Double(traces[0][0]) - numeric) <= 1e-4 * max(1, abs(numeric)), "trace \(traces[0][0]) vs \(numeric)")
  #expect(abs(numeric) > 0.01)
}

@Test func crosspropTrace_isTheFiniteDifferenceDerivative_ofTheOutputWeightWithRespectToAnInputWeight() {
  // One input, one hidden unit: φ = tanh(u·x + b). h tracks ∂w/∂u in the model above, where u
  // moves φ through ∂φ/∂u = (1 − φ²)·x.
  var random = RandomStream(rootSeed: 14, stream: "trace-check")
  let steps = 40
  let xs = (0..<steps).map { _ in random.uniformDouble() < 0.5 ? 0.0 : 1.0 }
  let targets = (0..<steps).map { _ in random.normal() }
  let (u, b, alpha) = (0.4, -0.2, 0.05)
  let phis = xs.map { [Foundation.tanh(u * $0 + b)] + Array(repeating: 0.0, count: 7) }
  var h = FloatLanes.zero
  var w = 0.7
  for (index, x) in xs.enumerated() {
    let phi = phis[index][0]
    let delta = targets[index] - w * phi
    let k = Crossprop.coefficients(
      delta: Float(delta), eta: 0, form: .paper, stepSize: Float(alpha),
      activation: FloatLanes(repeating: Float(phi)),
      outputWeight: FloatLanes(repeating: Float(w)), derivative: FloatLanes(repeating: Float(1 - phi * phi)))
    h =
      Crossprop.update(
        weight: .zero, trace: h, input: FloatLanes(repeating: Float(x)), coefficients: k,
        stepSize: Float(alpha)
      ).trace
    w += alpha * delta * phi
  }
  // Perturbing u by ε moves each φ by (1 − φ²)·x·ε to first order: the model's perturbation of φ.
  let epsilon = 1e-5
  func finalWeight(_ e: Double) -> Double {
    var w = 0.7
    for (index, x) in xs.enumerated() {
      let phi = phis[index][0]
      let perturbedPhi = Foundation.tanh((u + e) * x + b)
      w += alpha * (targets[index] - w * phi) * perturbedPhi
    }
    return w
  }
  let numeric = (finalWeight(epsilon) - finalWeight(-epsilon)) / (2 * epsilon)
  #expect(abs(Double(h[0]) - numeric) <= 1e-4 * max(1, abs(numeric)), "trace \(h[0]) vs \(numeric)")
  #expect(abs(numeric) > 0.01)
}
