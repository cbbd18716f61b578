import Foundation
import TrainingCore

/// A plain `Double` implementation of the GEOFF learner and its update rules, written straight
/// from the equations (loops, Foundation's tanh), to check the fused Float kernels against.
struct ReferenceNetwork {
  let inputs: Int
  let hidden: Int
  /// (inputs + 1) × hidden; row `inputs` holds the hidden biases.
  var u: [[Double]]
  var w: [Double]
  var b: Double
  /// Crossprop traces (inputs + 1) × hidden, and crossprop-approx traces per hidden unit.
  var h: [[Double]]
  var hApprox: [Double]
  /// Optimiser slots over the flat parameter vector (U rows, w, b).
  var slot1: [Double] = []
  var slot2: [Double] = []
  var step = 0

  init(_ learner: GeoffLearner) {
    let m = learner.settings.inputs
    let n = learner.settings.hiddenUnits
    inputs = m
    hidden = n
    let flat = learner.inputWeights.map(Double.init)
    let biases = learner.hiddenBiases.map(Double.init)
    u = (0...m).map { i in (0..<n).map { j in i < m ? flat[i * n + j] : biases[j] } }
    w = learner.outputWeights.map(Double.init)
    b = Double(learner.outputBias)
    h = Array(repeating: Array(repeating: 0, count: n), count: m + 1)
    hApprox = Array(repeating: 0, count: n)
  }

  func extended(_ x: UInt32) -> [Double] {
    (0...inputs).map { i in i == inputs ? 1 : Double((x >> UInt32(i)) & 1) }
  }

  func forward(_ x: UInt32) -> (phi: [Double], y: Double) {
    let xt = extended(x)
    let phi = (0..<hidden).map { j in Foundation.tanh((0...inputs).reduce(0.0) { $0 + xt[$1] * u[$1][j] }) }
    return (phi, (0..<hidden).reduce(b) { $0 + phi[$1] * w[$1] })
  }

  func loss(_ x: UInt32, _ target: Double) -> Double {
    let d = target - forward(x).y
    return 0.5 * d * d
  }

  /// ∂(½δ²)/∂(U, w, b).
  func gradient(_ x: UInt32, _ target: Double) -> (u: [[Double]], w: [Double], b: Double) {
    let xt = extended(x)
    let (phi, y) = forward(x)
    let delta = target - y
    let gu = (0...inputs).map { i in (0..<hidden).map { j in -delta * w[j] * (1 - phi[j] * phi[j]) * xt[i] } }
    return (gu, phi.map { -delta * $0 }, -delta)
  }

  var parameters: [Double] { u.flatMap { $0 } + w + [b] }

  mutating func setParameters(_ p: [Double]) {
    for i in 0...inputs { u[i] = Array(p[(i * hidden)..<((i + 1) * hidden)]) }
    w = Array(p[((inputs + 1) * hidden)..<((inputs + 2) * hidden)])
    b = p[p.count - 1]
  }

  mutating func learn(_ x: UInt32, _ target: Double, settings s: GeoffLearnerSettings) {
    let alpha = Double(s.rule.stepSize)
    let eta = Double(s.rule.eta)
    let xt = extended(x)
    let (phi, y) = forward(x)
    let delta = target - y
    let g = gradient(x, target)
    let flatGradient = g.u.flatMap { $0 } + g.w + [g.b]
    var p = parameters
    if slot1.isEmpty {
      slot1 = Array(
        repeating: s.rule.algorithm == .rmsprop ? Double(s.rule.rmspropInitialAccumulator) : 0, count: p.count
      )
      slot2 = Array(repeating: 0, count: p.count)
    }
    switch s.rule.algorithm {
    case .backprop:
      for k in p.indices { p[k] -= alpha * flatGradient[k] }
      setParameters(p)
    case .momentum:
      for k in p.indices {
        slot1[k] = Double(s.rule.momentum) * slot1[k] + flatGradient[k]
        p[k] -= alpha * slot1[k]
      }
      setParameters(p)
    case .rmsprop:
      let rho = Double(s.rule.rmspropDecay)
      for k in p.indices {
        slot1[k] = rho * slot1[k] + (1 - rho) * flatGradient[k] * flatGradient[k]
        p[k] -= alpha * flatGradient[k] / (slot1[k] + Double(s.rule.rmspropEpsilon)).squareRoot()
      }
      setParameters(p)
    case .adam:
      let (b1, b2) = (Double(s.rule.adamBeta1), Double(s.rule.adamBeta2))
      let t = Double(step + 1)
      let rate = alpha * (1 - pow(b2, t)).squareRoot() / (1 - pow(b1, t))
      for k in p.indices {
        slot1[k] = b1 * slot1[k] + (1 - b1) * flatGradient[k]
        slot2[k] = b2 * slot2[k] + (1 - b2) * flatGradient[k] * flatGradient[k]
        p[k] -= rate * slot1[k] / (slot2[k].squareRoot() + Double(s.rule.adamEpsilon))
      }
      setParameters(p)
    case .crossprop:
      let sign: Double = s.rule.etaForm == .paper ? -1 : 1
      for j in 0..<hidden {
        let dphi = 1 - phi[j] * phi[j]
        for i in 0...inputs {
          let grad = dphi * xt[i]
          let oldH = h[i][j]
          u[i][j] += alpha * delta * ((1 - eta) * phi[j] * oldH + eta * w[j] * grad)
          h[i][j] =
            oldH * (1 - alpha * (1 - eta) * phi[j] * phi[j]) + alpha * (delta + sign * eta * w[j] * phi[j])
            * grad
        }
      }
      lms(phi, delta, alpha)
    case .crosspropApprox:
      for j in 0..<hidden {
        let dphi = 1 - phi[j] * phi[j]
        let oldH = hApprox[j]
        for i in 0...inputs {
          u[i][j] += alpha * delta * ((1 - eta) * phi[j] * oldH + eta * w[j]) * dphi * xt[i]
        }
        if s.rule.etaForm == .paper {
          hApprox[j] =
            oldH * (1 - alpha * (1 - eta) * phi[j] * phi[j]) + alpha * (delta - eta * w[j] * phi[j])
        } else {
          hApprox[j] = oldH * (1 - alpha * phi[j] * phi[j]) + alpha * delta
        }
      }
      lms(phi, delta, alpha)
    }
    step += 1
  }

  private mutating func lms(_ phi: [Double], _ delta: Double, _ alpha: Double) {
    for j in 0..<hidden { w[j] += alpha * delta * phi[j] }
    b += alpha * delta
  }
}
