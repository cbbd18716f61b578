/// How a network of the crossprop paper updates its weights (Veeriah, Zhang and Sutton 2017).
public enum LearningAlgorithm: String, Sendable, Equatable, CaseIterable {
  /// Backprop with plain SGD (``StochasticGradientDescent``).
  case backprop
  /// Backprop with TF1 momentum (``Momentum``).
  case momentum
  /// Backprop with TF1 RMSProp (``RMSProp``).
  case rmsprop
  /// Backprop with TF1 Adam (``Adam``).
  case adam
  /// Crossprop, eqn 7 (``Crossprop``), with LMS on the output layer.
  case crossprop
  /// Crossprop-approx, eqn 8 (``CrosspropApprox``), with LMS on the output layer.
  case crosspropApprox = "crossprop-approx"

  /// Whether the rule steps every parameter through an optimiser with state (momentum, RMSProp,
  /// Adam), which ``OptimiserRows`` carries out.
  public var usesOptimiser: Bool { self == .momentum || self == .rmsprop || self == .adam }
}

/// Where η enters crossprop's trace updates.
public enum EtaForm: String, Sendable, Equatable, CaseIterable {
  /// The paper's eqns 7 and 8: h uses (δ − η·w·φ) and the decay 1 − α(1−η)φ². The default.
  case paper
  /// The authors' TensorFlow code: crossprop's h uses (δ + η·w·φ) (a sign slip), and
  /// crossprop-approx's h ignores η: h ← h(1 − αφ²) + αδ.
  case code
}

/// An update rule and its settings, shared by every network of the crossprop paper (the GEOFF
/// regressor and the image classifier); defaults are TF1's, as the authors ran them.
public struct UpdateRule: Sendable, Equatable {
  /// The rule (backprop).
  public var algorithm: LearningAlgorithm = .backprop
  /// α, the step size of every algorithm (0.0005).
  public var stepSize: Float = 0.0005
  /// η, the crossprop mix of backprop into the meta-gradient (0; 1 is exactly backprop).
  public var eta: Float = 0
  /// Paper or authors'-code form of η in the trace updates (paper).
  public var etaForm: EtaForm = .paper
  /// μ of momentum (0.9).
  public var momentum: Float = 0.9
  /// ρ of RMSProp (0.9).
  public var rmspropDecay: Float = 0.9
  /// ε of RMSProp, inside the square root (1e-10).
  public var rmspropEpsilon: Float = 1e-10
  /// The initial RMSProp accumulator (1, TF1's quirk).
  public var rmspropInitialAccumulator: Float = 1
  /// β₁ of Adam (0.9).
  public var adamBeta1: Float = 0.9
  /// β₂ of Adam (0.999).
  public var adamBeta2: Float = 0.999
  /// ε of Adam, outside the bias correction (1e-8).
  public var adamEpsilon: Float = 1e-8

  public init() {}
}

/// One step of momentum, RMSProp or Adam over rows of parameters, whose optimiser state sits at
/// fixed distances after them (`first` and `second` chunks further on), as both networks of the
/// crossprop paper lay out their slabs.
///
/// A row whose gradient is exactly 0 (an input that was 0 this step) goes through
/// ``stepWithoutGradient(_:first:second:count:)``, which drops the terms that are then exactly 0
/// (g, g², RMSProp's change) and so gives the same bits as stepping it with g = 0.
public struct OptimiserRows: Sendable {
  private let algorithm: LearningAlgorithm
  private let momentum: Momentum
  private let rmsprop: RMSProp
  private let adam: Adam
  /// Adam's bias-corrected step size for this step.
  private let rate: Float

  /// The step of 0-based index `step` (Adam's t is `step + 1`) of `rule`, which must use an
  /// optimiser (``LearningAlgorithm/usesOptimiser``).
  public init(rule: UpdateRule, step: Int) {
    precondition(rule.algorithm.usesOptimiser, "OptimiserRows steps momentum, RMSProp and Adam only")
    algorithm = rule.algorithm
    momentum = Momentum(learningRate: rule.stepSize, momentum: rule.momentum)
    rmsprop = RMSProp(
      learningRate: rule.stepSize, decay: rule.rmspropDecay, epsilon: rule.rmspropEpsilon,
      initialAccumulator: rule.rmspropInitialAccumulator)
    adam = Adam(
      learningRate: rule.stepSize, beta1: rule.adamBeta1, beta2: rule.adamBeta2, epsilon: rule.adamEpsilon)
    rate = rule.algorithm == .adam ? adam.correctedLearningRate(step: step) : 0
  }

  /// Steps eight parameters `p` with gradient `g`.
  @inline(__always)
  public func step(_ p: UnsafeMutablePointer<FloatLanes>, first: Int, second: Int, gradient g: FloatLanes) {
    switch algorithm {
    case .momentum: stepMomentum(p, first, g)
    case .rmsprop: stepRMSProp(p, first, g)
    default: stepAdam(p, first, second, g)
    }
  }

  /// Steps `count` chunks of parameters from `p` with the gradients `gradients`.
  @inline(__always)
  public func step(
    _ p: UnsafeMutablePointer<FloatLanes>, first: Int, second: Int, gradients: UnsafePointer<FloatLanes>,
    count: Int
  ) {
    // One switch a row, not a chunk: each loop is then one rule's arithmetic alone.
    switch algorithm {
    case .momentum: for c in 0..<count { stepMomentum(p + c, first, gradients[c]) }
    case .rmsprop: for c in 0..<count { stepRMSProp(p + c, first, gradients[c]) }
    default: for c in 0..<count { stepAdam(p + c, first, second, gradients[c]) }
    }
  }

  /// Steps `count` chunks of parameters from `p` with the gradients `x`·`gradients` (a row of input
  /// weights whose input was `x`).
  @inline(__always)
  public func step(
    _ p: UnsafeMutablePointer<FloatLanes>, first: Int, second: Int, gradients: UnsafePointer<FloatLanes>,
    times x: Float, count: Int
  ) {
    switch algorithm {
    case .momentum: for c in 0..<count { stepMomentum(p + c, first, x * gradients[c]) }
    case .rmsprop: for c in 0..<count { stepRMSProp(p + c, first, x * gradients[c]) }
    default: for c in 0..<count { stepAdam(p + c, first, second, x * gradients[c]) }
    }
  }

  @inline(__always)
  private func stepMomentum(_ p: UnsafeMutablePointer<FloatLanes>, _ first: Int, _ g: FloatLanes) {
    let next = momentum.update(gradient: g, state: Momentum.State(accumulator: p[first]))
    p[first] = next.state.accumulator
    p.pointee += next.change
  }

  @inline(__always)
  private func stepRMSProp(_ p: UnsafeMutablePointer<FloatLanes>, _ first: Int, _ g: FloatLanes) {
    let next = rmsprop.update(gradient: g, state: RMSProp.State(meanSquare: p[first]))
    p[first] = next.state.meanSquare
    p.pointee += next.change
  }

  @inline(__always)
  private func stepAdam(_ p: UnsafeMutablePointer<FloatLanes>, _ first: Int, _ second: Int, _ g: FloatLanes) {
    let next = adam.update(
      correctedLearningRate: rate, gradient: g, state: Adam.State(mean: p[first], meanSquare: p[second]))
    p[first] = next.state.mean
    p[second] = next.state.meanSquare
    p.pointee += next.change
  }

  /// Steps `count` chunks of parameters from `p` whose gradient is exactly 0: their state decays
  /// (and, with momentum and Adam, still moves them).
  @inline(__always)
  public func stepWithoutGradient(_ p: UnsafeMutablePointer<FloatLanes>, first: Int, second: Int, count: Int)
  {
    switch algorithm {
    case .momentum:
      let accumulators = p + first
      for c in 0..<count {
        let a = flushingSubnormals(momentum.momentum * accumulators[c])
        accumulators[c] = a
        p[c] += -(momentum.learningRate * a)
      }
    case .rmsprop:
      let meanSquares = p + first
      for c in 0..<count { meanSquares[c] = flushingSubnormals(rmsprop.decay * meanSquares[c]) }
    default:
      let means = p + first
      let meanSquares = p + second
      for c in 0..<count {
        let m = flushingSubnormals(adam.beta1 * means[c])
        let v = flushingSubnormals(adam.beta2 * meanSquares[c])
        means[c] = m
        meanSquares[c] = v
        p[c] += -(rate * m / (DeterministicMath.squareRoot(v) + adam.epsilon))
      }
    }
  }
}
