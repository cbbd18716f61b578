/// Settings of the single-hidden-layer learner; defaults are the paper's GEOFF learner.
public struct GeoffLearnerSettings: Sendable, Equatable {
  /// Binary inputs (20).
  public var inputs: Int = 20
  /// tanh hidden units, each with a bias (500).
  public var hiddenUnits: Int = 500
  /// The update rule and its settings (backprop, α = 0.0005, TF1 defaults).
  public var rule = UpdateRule()

  public init() {}
}

/// A 20-500-1 network for binary inputs trained online with batch size 1 (Veeriah, Zhang and
/// Sutton 2017, GEOFF experiments): φ = tanh(x̃·U), y = φ̃·w̃, loss ½δ² with δ = y\* − y.
///
/// Every weight and bias is N(0, 1) at the start, drawn in `Double` and rounded to `Float`.
/// Storage is chunks of eight `Float`s; the hidden layer is padded to a multiple of eight with
/// units whose weights stay exactly 0 (their φ is 0 and every update to them is 0). U is stored
/// row-major [input][hidden] with the hidden biases as row `inputs`, so the pre-activation is the
/// bias row plus the rows of the active inputs. A step allocates nothing.
public struct GeoffLearner: Sendable {
  /// The settings the learner was built with.
  public let settings: GeoffLearnerSettings
  /// Chunks of eight hidden units per row.
  public let chunks: Int
  /// Steps taken so far (Adam's t is `step + 1` on the next step).
  public private(set) var step: Int = 0
  private var slab: [FloatLanes]
  private let layout: Layout

  /// Offsets (in chunks) of each block of the slab.
  private struct Layout: Sendable {
    var rows: Int  // inputs + 1
    var parameters: Int  // rows·chunks of U, chunks of w, 1 chunk of output bias (lane 0)
    var outputWeights: Int { rows * chunks }
    var outputBias: Int { outputWeights + chunks }
    var firstSlot: Int { parameters }
    var secondSlot: Int { 2 * parameters }
    var activations: Int { 3 * parameters }
    var derivatives: Int { activations + chunks }
    var signal: Int { derivatives + chunks }
    var total: Int { signal + chunks }
    var chunks: Int
  }

  /// A learner with the given initial weights: `inputWeights` is inputs × hidden row-major,
  /// `hiddenBiases` hidden, `outputWeights` hidden, and `outputBias` one number.
  public init(
    settings: GeoffLearnerSettings, inputWeights: [Float], hiddenBiases: [Float], outputWeights: [Float],
    outputBias: Float
  ) {
    let n = settings.hiddenUnits
    precondition(settings.inputs >= 1 && settings.inputs <= 32 && n >= 1, "bad learner shape")
    precondition(
      inputWeights.count == settings.inputs * n && hiddenBiases.count == n && outputWeights.count == n)
    self.settings = settings
    chunks = (n + 7) / 8
    let rows = settings.inputs + 1
    layout = Layout(rows: rows, parameters: (rows + 1) * chunks + 1, chunks: chunks)
    slab = [FloatLanes](repeating: .zero, count: layout.total)
    for i in 0..<rows {
      for j in 0..<n {
        slab[i * chunks + j / 8][j % 8] = i < settings.inputs ? inputWeights[i * n + j] : hiddenBiases[j]
      }
    }
    for j in 0..<n { slab[layout.outputWeights + j / 8][j % 8] = outputWeights[j] }
    slab[layout.outputBias][0] = outputBias
    if settings.rule.algorithm == .rmsprop {
      // s starts at the TF1 value on real weights only; padding lanes keep s = 0 (their gradient
      // is 0, so the update is 0 either way) so that they never decay into slow denormals.
      let start = settings.rule.rmspropInitialAccumulator
      for k in 0..<layout.parameters {
        for lane in 0..<8 {
          let isReal: Bool
          if k == layout.outputBias { isReal = lane == 0 } else { isReal = (k % chunks) * 8 + lane < n }
          if isReal { slab[layout.firstSlot + k][lane] = start }
        }
      }
    }
  }

  /// A learner with N(0,1) initial weights from the run's "init" stream of root seed `seed`, drawn
  /// in the order U (row-major), hidden biases, output weights, output bias. The draw does not
  /// depend on the algorithm, so every algorithm starts from the same weights at a given seed.
  public init(settings: GeoffLearnerSettings, seed: UInt64) {
    var random = RandomStream(rootSeed: seed, stream: "init")
    let n = settings.hiddenUnits
    let u = (0..<(settings.inputs * n)).map { _ in Float(random.normal()) }
    let b = (0..<n).map { _ in Float(random.normal()) }
    let w = (0..<n).map { _ in Float(random.normal()) }
    let c = Float(random.normal())
    self.init(settings: settings, inputWeights: u, hiddenBiases: b, outputWeights: w, outputBias: c)
  }

  // MARK: - Reading the weights

  /// U without the hidden biases, inputs × hidden row-major.
  public var inputWeights: [Float] {
    let n = settings.hiddenUnits
    return (0..<(settings.inputs * n)).map { k in slab[(k / n) * chunks + (k % n) / 8][(k % n) % 8] }
  }
  /// The hidden biases (row `inputs` of the stored U).
  public var hiddenBiases: [Float] {
    (0..<settings.hiddenUnits).map { j in slab[settings.inputs * chunks + j / 8][j % 8] }
  }
  /// The output weights w, without the output bias.
  public var outputWeights: [Float] {
    (0..<settings.hiddenUnits).map { j in slab[layout.outputWeights + j / 8][j % 8] }
  }
  /// The output bias.
  public var outputBias: Float { slab[layout.outputBias][0] }

  /// Σ (U − U₀)² over the input weights (biases excluded) and Σ (w − w₀)² over the output weights
  /// (bias excluded), accumulated in `Double` in a fixed order.
  public func squaredDrift(from initial: GeoffLearner) -> (input: Double, output: Double) {
    var input = SIMD8<Double>.zero
    var output = SIMD8<Double>.zero
    for k in 0..<(settings.inputs * chunks) {
      let d = SIMD8<Double>(slab[k] - initial.slab[k])
      input += d * d
    }
    for c in 0..<chunks {
      let d = SIMD8<Double>(slab[layout.outputWeights + c] - initial.slab[layout.outputWeights + c])
      output += d * d
    }
    return (Self.total(input), Self.total(output))
  }

  @inline(__always) private static func total(_ v: SIMD8<Double>) -> Double {
    ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
  }

  @inline(__always) private static func total(_ v: FloatLanes) -> Float {
    ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
  }

  // MARK: - Learning

  /// The prediction y for input bits `x` (bit i is input i), without learning.
  public func predict(_ x: UInt32) -> Float {
    var scratch = slab
    let layout = self.layout
    let settings = self.settings
    return scratch.withUnsafeMutableBufferPointer { buffer in
      Self.forward(buffer.baseAddress!, x, layout: layout, settings: settings)
    }
  }

  /// One online step on (x, y\*): predicts, updates every weight from the pre-update values, and
  /// returns δ = y\* − y of the pre-update prediction.
  @discardableResult
  public mutating func learn(_ x: UInt32, target: Float) -> Float {
    let settings = self.settings
    let layout = self.layout
    let step = self.step
    self.step += 1
    return slab.withUnsafeMutableBufferPointer { buffer -> Float in
      let base = buffer.baseAddress!
      let delta = target - Self.forward(base, x, layout: layout, settings: settings)
      switch settings.rule.algorithm {
      case .backprop:
        Self.backprop(base, x, delta: delta, layout: layout, settings: settings)
      case .crosspropApprox:
        Self.crosspropApprox(base, x, delta: delta, layout: layout, settings: settings)
      case .crossprop:
        Self.crossprop(base, x, delta: delta, layout: layout, settings: settings)
      case .momentum, .rmsprop, .adam:
        Self.optimise(base, x, delta: delta, step: step, layout: layout, settings: settings)
      }
      return delta
    }
  }

  /// φ, 1 − φ² into the scratch blocks; returns y. z = bias row + active rows, in row order.
  @inline(__always)
  private static func forward(
    _ base: UnsafeMutablePointer<FloatLanes>, _ x: UInt32, layout: Layout, settings: GeoffLearnerSettings
  ) -> Float {
    let chunks = layout.chunks
    return withUnsafeTemporaryAllocation(of: UnsafePointer<FloatLanes>.self, capacity: settings.inputs) {
      rows in
      var active = 0
      for i in 0..<settings.inputs where (x >> UInt32(i)) & 1 == 1 {
        rows[active] = UnsafePointer(base + i * chunks)
        active += 1
      }
      let biasRow = base + settings.inputs * chunks
      let w = base + layout.outputWeights
      let phiOut = base + layout.activations
      let derivativeOut = base + layout.derivatives
      var sum = FloatLanes.zero
      @inline(__always) func finish(_ c: Int, _ z: FloatLanes) {
        let phi = DeterministicMath.tanh(z)
        phiOut[c] = phi
        derivativeOut[c] = 1 - phi * phi
        sum += w[c] * phi
      }
      // Four chunks at a time, so that each active row's pointer is loaded once per four chunks;
      // every z still adds the bias row and then the active rows in row order, and `sum` takes
      // the chunks in order.
      var c = 0
      while c + 4 <= chunks {
        var z0 = biasRow[c]
        var z1 = biasRow[c + 1]
        var z2 = biasRow[c + 2]
        var z3 = biasRow[c + 3]
        for r in 0..<active {
          let row = rows[r] + c
          z0 += row[0]
          z1 += row[1]
          z2 += row[2]
          z3 += row[3]
        }
        finish(c, z0)
        finish(c + 1, z1)
        finish(c + 2, z2)
        finish(c + 3, z3)
        c += 4
      }
      while c < chunks {
        var z = biasRow[c]
        for r in 0..<active { z += rows[r][c] }
        finish(c, z)
        c += 1
      }
      return total(sum) + base[layout.outputBias][0]
    }
  }

  /// LMS on the output layer: w̃ += (α·δ)·φ̃. Shared by every rule without an optimiser.
  @inline(__always)
  private static func updateOutputLayer(
    _ base: UnsafeMutablePointer<FloatLanes>, delta: Float, layout: Layout, stepSize: Float
  ) {
    let scaled = stepSize * delta
    let phi = base + layout.activations
    let w = base + layout.outputWeights
    for c in 0..<layout.chunks { w[c] += scaled * phi[c] }
    base[layout.outputBias][0] += scaled
  }

  /// Adds α·signal_j·(1 − φ_j²) to the bias row and the active input rows of U.
  @inline(__always)
  private static func updateActiveRows(
    _ base: UnsafeMutablePointer<FloatLanes>, _ x: UInt32, layout: Layout, settings: GeoffLearnerSettings
  ) {
    let chunks = layout.chunks
    let signal = base + layout.signal
    let derivative = base + layout.derivatives
    for c in 0..<chunks { signal[c] = settings.rule.stepSize * (signal[c] * derivative[c]) }
    for i in 0...settings.inputs where i == settings.inputs || (x >> UInt32(i)) & 1 == 1 {
      let row = base + i * chunks
      for c in 0..<chunks { row[c] += signal[c] }
    }
  }

  /// Backprop with SGD: u_ij += α·((δ·w_j)·(1−φ_j²))·x̃_i, w̃ += (α·δ)·φ̃ (the negative gradient of
  /// ½δ² times α).
  private static func backprop(
    _ base: UnsafeMutablePointer<FloatLanes>, _ x: UInt32, delta: Float, layout: Layout,
    settings: GeoffLearnerSettings
  ) {
    let w = base + layout.outputWeights
    let signal = base + layout.signal
    for c in 0..<layout.chunks {
      var s = FloatLanes.zero
      s += delta * w[c]
      signal[c] = s
    }
    updateActiveRows(base, x, layout: layout, settings: settings)
    updateOutputLayer(base, delta: delta, layout: layout, stepSize: settings.rule.stepSize)
  }

  private static func crosspropApprox(
    _ base: UnsafeMutablePointer<FloatLanes>, _ x: UInt32, delta: Float, layout: Layout,
    settings: GeoffLearnerSettings
  ) {
    withUnsafePointer(to: delta) { deltas in
      CrosspropApprox.backpropagate(
        outputs: 1, chunks: layout.chunks, deltas: deltas, activations: base + layout.activations,
        outputWeights: base + layout.outputWeights, traces: base + layout.firstSlot,
        signal: base + layout.signal,
        eta: settings.rule.eta, form: settings.rule.etaForm, stepSize: settings.rule.stepSize)
    }
    updateActiveRows(base, x, layout: layout, settings: settings)
    updateOutputLayer(base, delta: delta, layout: layout, stepSize: settings.rule.stepSize)
  }

  private static func crossprop(
    _ base: UnsafeMutablePointer<FloatLanes>, _ x: UInt32, delta: Float, layout: Layout,
    settings: GeoffLearnerSettings
  ) {
    let chunks = layout.chunks
    let rows = layout.rows
    let phi = base + layout.activations
    let derivative = base + layout.derivatives
    let w = base + layout.outputWeights
    let traces = base + layout.firstSlot
    let alpha = settings.rule.stepSize
    // The coefficients of every chunk first, then the rows in memory order: each (row, chunk)
    // update is independent of the others, so the order does not change any result, and streaming
    // through U and h row by row is much faster than a column at a time (stride `chunks`).
    // ``Crossprop/update(weight:trace:input:coefficients:stepSize:)`` multiplies q and the trace
    // increment by x_i; here x_i = 1 uses them as they are (y·1 = y exactly) and x_i = 0 uses
    // their products with 0, computed once per chunk, so every result is the same.
    withUnsafeTemporaryAllocation(of: Crossprop.Coefficients.self, capacity: 2 * chunks) { coefficients in
      let k = coefficients.baseAddress!
      let off = k + chunks
      for c in 0..<chunks {
        let coefficient = Crossprop.coefficients(
          delta: delta, eta: settings.rule.eta, form: settings.rule.etaForm, stepSize: alpha,
          activation: phi[c],
          outputWeight: w[c], derivative: derivative[c])
        var zeroInput = coefficient
        zeroInput.direct = coefficient.direct * 0
        zeroInput.increment = coefficient.increment * 0
        (k + c).initialize(to: coefficient)
        (off + c).initialize(to: zeroInput)
      }
      for i in 0..<rows {
        let on = i == settings.inputs || (x >> UInt32(i)) & 1 == 1
        let rowCoefficients = on ? k : off
        let u = base + i * chunks
        let h = traces + i * chunks
        for c in 0..<chunks {
          let kc = rowCoefficients[c]
          let trace = h[c]
          u[c] = u[c] + alpha * (kc.trace * trace + kc.direct)
          h[c] = trace * kc.decay + kc.increment
        }
      }
    }
    updateOutputLayer(base, delta: delta, layout: layout, stepSize: alpha)
  }

  /// Backprop through momentum, RMSProp or Adam: gradient of ½δ² is −((δ·w)·(1−φ²))·x̃ for U,
  /// −δ·φ for w and −δ for the output bias; every parameter (and its optimiser state) steps.
  private static func optimise(
    _ base: UnsafeMutablePointer<FloatLanes>, _ x: UInt32, delta: Float, step: Int, layout: Layout,
    settings: GeoffLearnerSettings
  ) {
    let chunks = layout.chunks
    let rows = layout.rows
    let w = base + layout.outputWeights
    let phi = base + layout.activations
    let derivative = base + layout.derivatives
    let gradients = base + layout.signal
    // Gradients of U (per unit, before the input mask) and of w, from pre-update w.
    for c in 0..<chunks {
      var s = FloatLanes.zero
      s += delta * w[c]
      gradients[c] = -(s * derivative[c])
    }
    var biasGradient = FloatLanes.zero
    biasGradient[0] = -delta
    // Every slot of parameter k sits a fixed distance after it, where the optimiser finds it.
    let first = layout.firstSlot
    let second = layout.secondSlot
    let optimiser = OptimiserRows(rule: settings.rule, step: step)
    for i in 0..<rows {
      let row = base + i * chunks
      if i == settings.inputs || (x >> UInt32(i)) & 1 == 1 {
        optimiser.step(row, first: first, second: second, gradients: gradients, count: chunks)
      } else {
        // Inactive inputs have gradient exactly 0.
        optimiser.stepWithoutGradient(row, first: first, second: second, count: chunks)
      }
    }
    let outputs = base + layout.outputWeights
    for c in 0..<chunks {
      optimiser.step(outputs + c, first: first, second: second, gradient: -(delta * phi[c]))
    }
    optimiser.step(base + layout.outputBias, first: first, second: second, gradient: biasGradient)
  }
}
