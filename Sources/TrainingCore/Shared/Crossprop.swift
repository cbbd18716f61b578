/// Crossprop, the full meta-gradient rule of Veeriah, Zhang and Sutton (2017), "Crossprop:
/// learning representations by stochastic meta-gradient descent in neural networks", eqn 7:
///
///     u_ij += α·δ·[(1−η)·φ_j·h_ij + η·w_j·∂φ_j/∂u_ij]
///     h_ij ← h_ij·(1 − α(1−η)φ_j²) + α·(δ − η·w_j·φ_j)·∂φ_j/∂u_ij
///
/// with ∂φ_j/∂u_ij = (1 − φ_j²)·x̃_i and one trace h_ij per input weight (bias row included),
/// starting at 0. The output layer is LMS: w̃ += α·δ·φ̃.
///
/// The products are grouped as u += α·(p_j·h_ij + q_j·x_i) with p = δ·((1−η)φ) and
/// q = (δ·(η·w))·(1−φ²), so that for η = 1 (p = 0, q = (δ·w)·(1−φ²)) every rounding matches
/// backprop's u += α·((δ·w)·(1−φ²)) and the weights are bit-identical.
public enum Crossprop {
  /// The per-hidden-unit factors of one step, for eight hidden units.
  public struct Coefficients: Sendable {
    /// p = δ·(1−η)·φ, the weight of the trace in the input-weight update.
    public var trace: FloatLanes
    /// q = δ·η·w·(1−φ²), the backprop part of the input-weight update (times x_i).
    public var direct: FloatLanes
    /// 1 − α(1−η)φ², the decay of the trace.
    public var decay: FloatLanes
    /// α·(δ ∓ η·w·φ)·(1−φ²), the increment of the trace (times x_i).
    public var increment: FloatLanes
  }

  /// The factors of one step from the pre-update φ, w and 1 − φ² of eight hidden units.
  @inline(__always)
  public static func coefficients(
    delta: Float, eta: Float, form: EtaForm, stepSize: Float, activation phi: FloatLanes,
    outputWeight w: FloatLanes, derivative: FloatLanes
  ) -> Coefficients {
    let oneMinusEta = 1 - eta
    let trace = delta * (oneMinusEta * phi)
    let direct = (delta * (eta * w)) * derivative
    let decay = 1 - stepSize * (oneMinusEta * (phi * phi))
    let error = form == .paper ? delta - eta * (w * phi) : delta + eta * (w * phi)
    return Coefficients(
      trace: trace, direct: direct, decay: decay, increment: stepSize * (error * derivative))
  }

  /// One input weight row's update for eight hidden units: returns the new (u, h).
  ///
  /// `input` is x_i, 0 or 1 in every lane; the change of u uses the pre-update trace.
  @inline(__always)
  public static func update(
    weight u: FloatLanes, trace h: FloatLanes, input x: FloatLanes, coefficients k: Coefficients,
    stepSize: Float
  ) -> (weight: FloatLanes, trace: FloatLanes) {
    (u + stepSize * (k.trace * h + k.direct * x), h * k.decay + k.increment * x)
  }
}

/// Crossprop-approx, eqn 8 of Veeriah, Zhang and Sutton (2017), for k outputs:
///
///     u_ij += α·Σ_k δ_k·[(1−η)·φ_j·h_jk + η·w_jk]·∂φ_j/∂u_ij
///     h_jk ← h_jk·(1 − α(1−η)φ_j²) + α·(δ_k − η·w_jk·φ_j)
///     w_jk += α·δ_k·φ_j
///
/// One trace per (hidden unit, output), starting at 0. For one output it is not crossprop: h_j
/// stores only δ, and the current example's ∂φ/∂u multiplies it (the two agree on step 1 only).
public enum CrosspropApprox {
  /// Writes the back-propagated signal s_j = Σ_k δ_k·[(1−η)φ_j h_jk + η w_jk] of every hidden
  /// unit into `signal` and advances the traces; the caller then adds α·s_j·(1−φ_j²)·x_i to u_ij.
  ///
  /// Layouts are output-major in chunks of eight hidden units: `outputWeights` and `traces` hold
  /// `outputs × chunks` lanes, `activations` and `signal` hold `chunks`, `deltas` holds `outputs`
  /// errors. With η = 1 the signal is Σ_k δ_k·w_jk, exactly backprop's.
  @inline(__always)
  public static func backpropagate(
    outputs: Int, chunks: Int, deltas: UnsafePointer<Float>, activations: UnsafePointer<FloatLanes>,
    outputWeights: UnsafePointer<FloatLanes>, traces: UnsafeMutablePointer<FloatLanes>,
    signal: UnsafeMutablePointer<FloatLanes>, eta: Float, form: EtaForm, stepSize: Float
  ) {
    let oneMinusEta = 1 - eta
    for c in 0..<chunks {
      let phi = activations[c]
      let phiSquared = phi * phi
      let decay = form == .paper ? 1 - stepSize * (oneMinusEta * phiSquared) : 1 - stepSize * phiSquared
      var s = FloatLanes.zero
      for k in 0..<outputs {
        let delta = deltas[k]
        let w = outputWeights[k * chunks + c]
        let h = traces[k * chunks + c]
        s += delta * ((oneMinusEta * phi) * h + eta * w)
        let increment = form == .paper ? delta - eta * (w * phi) : FloatLanes(repeating: delta)
        traces[k * chunks + c] = h * decay + stepSize * increment
      }
      signal[c] = s
    }
  }
}
