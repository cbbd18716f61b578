/// The lane type of every hot loop: eight `Float`s (two SSE registers, one AVX register).
public typealias FloatLanes = SIMD8<Float>

/// `v` with every subnormal lane replaced by 0 (flush to zero).
///
/// Optimiser state that only decays (a hidden unit saturated for many steps has gradient exactly 0)
/// drifts into subnormal numbers, on which x86 arithmetic is about 100 times slower. TensorFlow 1
/// runs its CPU kernels with flush-to-zero, so flushing the stored state also matches the authors.
@inline(__always)
public func flushingSubnormals(_ v: FloatLanes) -> FloatLanes {
  let bits = unsafeBitCast(v, to: SIMD8<UInt32>.self)
  // magnitude − 2⁻¹²⁶'s bits wraps (top bit set) exactly for subnormals and zero; the mask is then
  // 0, else all ones. Integer lane operations only, which compile to a few vector instructions.
  let keep = (((bits & 0x7FFF_FFFF) &- 0x0080_0000) &>> 31) &- 1
  return unsafeBitCast(bits & keep, to: FloatLanes.self)
}

/// Plain stochastic gradient descent: p ← p − α·g.
///
/// The backprop baseline of Veeriah, Zhang and Sutton (2017), "Crossprop: learning representations
/// by stochastic meta-gradient descent in neural networks", with α = 0.0005.
public struct StochasticGradientDescent: Sendable, Equatable {
  /// α, the step size (0.0005 in the paper).
  public var learningRate: Float

  public init(learningRate: Float) { self.learningRate = learningRate }

  /// The change to add to the parameters for gradient `gradient`: −α·g.
  @inline(__always)
  public func update(gradient: FloatLanes) -> FloatLanes { -(learningRate * gradient) }
}

/// Heavy-ball momentum as TensorFlow 1's `MomentumOptimizer` (not Nesterov):
/// a ← μ·a + g, p ← p − α·a, with a starting at 0.
///
/// Used as a baseline by Veeriah, Zhang and Sutton (2017) with μ = 0.9 (effective step 10α).
/// A subnormal accumulator is flushed to zero.
public struct Momentum: Sendable, Equatable {
  /// α, the step size.
  public var learningRate: Float
  /// μ, the decay of the accumulator (0.9).
  public var momentum: Float

  public init(learningRate: Float, momentum: Float = 0.9) {
    self.learningRate = learningRate
    self.momentum = momentum
  }

  /// The optimiser state of eight parameters.
  public struct State: Sendable, Equatable {
    /// a, the accumulated gradient (starts at 0).
    public var accumulator: FloatLanes
    public init(accumulator: FloatLanes = .zero) { self.accumulator = accumulator }
  }

  /// One step: the change to add to the parameters and the next state.
  @inline(__always)
  public func update(gradient: FloatLanes, state: State) -> (change: FloatLanes, state: State) {
    let a = flushingSubnormals(momentum * state.accumulator + gradient)
    return (-(learningRate * a), State(accumulator: a))
  }
}

/// RMSProp as TensorFlow 1's `RMSPropOptimizer` with momentum 0:
/// s ← ρ·s + (1 − ρ)·g², p ← p − α·g/√(s + ε).
///
/// TF1 starts the accumulator s at **1**, not 0 (its slot initialiser); we keep that quirk as the
/// default (`initialAccumulator`). A subnormal s is flushed to zero. Defaults ρ = 0.9, ε = 1e-10. Baseline of Veeriah, Zhang and
/// Sutton (2017).
public struct RMSProp: Sendable, Equatable {
  /// α, the step size.
  public var learningRate: Float
  /// ρ, the decay of the mean square (0.9).
  public var decay: Float
  /// ε, added to s inside the square root (1e-10).
  public var epsilon: Float
  /// The initial value of s (1, as in TF1).
  public var initialAccumulator: Float

  public init(learningRate: Float, decay: Float = 0.9, epsilon: Float = 1e-10, initialAccumulator: Float = 1)
  {
    self.learningRate = learningRate
    self.decay = decay
    self.epsilon = epsilon
    self.initialAccumulator = initialAccumulator
  }

  /// The optimiser state of eight parameters.
  public struct State: Sendable, Equatable {
    /// s, the running mean of g².
    public var meanSquare: FloatLanes
    public init(meanSquare: FloatLanes) { self.meanSquare = meanSquare }
  }

  /// The state before the first step: s = `initialAccumulator`.
  public var initialState: State { State(meanSquare: FloatLanes(repeating: initialAccumulator)) }

  /// One step: the change to add to the parameters and the next state.
  @inline(__always)
  public func update(gradient: FloatLanes, state: State) -> (change: FloatLanes, state: State) {
    let s = flushingSubnormals(decay * state.meanSquare + (1 - decay) * (gradient * gradient))
    return (-(learningRate * gradient / DeterministicMath.squareRoot(s + epsilon)), State(meanSquare: s))
  }
}

/// Adam (Kingma and Ba 2015) as TensorFlow 1's `AdamOptimizer`:
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// p ← p − α·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε), with t = step + 1 and ε outside the bias correction.
///
/// Stored m and v are flushed to zero when subnormal (``flushingSubnormals(_:)``).
/// Defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8. Baseline of Veeriah, Zhang and Sutton (2017).
public struct Adam: Sendable, Equatable {
  /// α, the step size.
  public var learningRate: Float
  /// β₁, the decay of the first moment (0.9).
  public var beta1: Float
  /// β₂, the decay of the second moment (0.999).
  public var beta2: Float
  /// ε, added to √v (1e-8).
  public var epsilon: Float

  public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
  }

  /// The optimiser state of eight parameters.
  public struct State: Sendable, Equatable {
    /// m, the first-moment estimate (starts at 0).
    public var mean: FloatLanes
    /// v, the second-moment estimate (starts at 0).
    public var meanSquare: FloatLanes
    public init(mean: FloatLanes = .zero, meanSquare: FloatLanes = .zero) {
      self.mean = mean
      self.meanSquare = meanSquare
    }
  }

  /// The bias-corrected step size α·√(1−β₂ᵗ)/(1−β₁ᵗ) of 0-based step `step` (t = step + 1).
  ///
  /// Computed in `Double` with βᵗ by repeated squaring (only multiplications, so exact across
  /// platforms) and rounded once to `Float`.
  public func correctedLearningRate(step: Int) -> Float {
    let t = step + 1
    let correction = (1 - Self.power(Double(beta2), t)).squareRoot() / (1 - Self.power(Double(beta1), t))
    return Float(Double(learningRate) * correction)
  }

  /// One step with a precomputed ``correctedLearningRate(step:)``: the hot-loop form.
  @inline(__always)
  public func update(correctedLearningRate rate: Float, gradient: FloatLanes, state: State)
    -> (change: FloatLanes, state: State)
  {
    let m = flushingSubnormals(beta1 * state.mean + (1 - beta1) * gradient)
    let v = flushingSubnormals(beta2 * state.meanSquare + (1 - beta2) * (gradient * gradient))
    return (-(rate * m / (DeterministicMath.squareRoot(v) + epsilon)), State(mean: m, meanSquare: v))
  }

  /// One step of 0-based index `step`: the change to add to the parameters and the next state.
  public func update(step: Int, gradient: FloatLanes, state: State) -> (change: FloatLanes, state: State) {
    update(correctedLearningRate: correctedLearningRate(step: step), gradient: gradient, state: state)
  }

  /// xⁿ for n ≥ 0 by binary exponentiation.
  static func power(_ x: Double, _ n: Int) -> Double {
    var result = 1.0
    var base = x
    var e = n
    while e > 0 {
      if e & 1 == 1 { result *= base }
      base *= base
      e >>= 1
    }
    return result
  }
}

// MARK: - Whole-vector forms (flat parameter vectors, as the LSTM meta-learner keeps them)

/// Scales `gradient` in place so its global L2 norm is at most `maximumNorm`, as TensorFlow's
/// `clip_by_global_norm`: g ← g·c/max(‖g‖, c). Returns ‖g‖ before clipping and whether it scaled.
///
/// ‖g‖ is accumulated in `Double` in index order, so it is the same whatever produced g.
@discardableResult
public func clipByGlobalNorm(_ gradient: inout [Float], maximumNorm: Float) -> (norm: Double, isClipped: Bool)
{
  var sum = 0.0
  for g in gradient { sum += Double(g) * Double(g) }
  let norm = sum.squareRoot()
  guard norm > Double(maximumNorm) else { return (norm, false) }
  let factor = Float(Double(maximumNorm) / norm)
  for k in gradient.indices { gradient[k] *= factor }
  return (norm, true)
}

extension Adam {
  /// One step of 0-based index `step` on a whole flat vector: `parameters` += change, with moments
  /// `mean` and `meanSquare` of the same length. Runs eight lanes at a time through
  /// ``update(correctedLearningRate:gradient:state:)``; the last partial group is padded with zero
  /// gradient, and only its real lanes are stored back.
  public func update(
    step: Int, parameters: inout [Float], gradient: [Float], mean: inout [Float], meanSquare: inout [Float]
  ) {
    let count = parameters.count
    precondition(
      gradient.count == count && mean.count == count && meanSquare.count == count, "Adam: lengths differ")
    let rate = correctedLearningRate(step: step)
    var k = 0
    while k < count {
      let lanes = min(8, count - k)
      var g = FloatLanes.zero
      var state = State()
      for j in 0..<lanes {
        g[j] = gradient[k + j]
        state.mean[j] = mean[k + j]
        state.meanSquare[j] = meanSquare[k + j]
      }
      let (change, next) = update(correctedLearningRate: rate, gradient: g, state: state)
      for j in 0..<lanes {
        parameters[k + j] += change[j]
        mean[k + j] = next.mean[j]
        meanSquare[k + j] = next.meanSquare[j]
      }
      k += 8
    }
  }
}
