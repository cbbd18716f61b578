/// Settings of the online image classifier; defaults are the crossprop paper's MNIST learner.
public struct OnlineClassifierSettings: Sendable, Equatable {
  /// Pixels of an image (784 for 28 × 28).
  public var inputs = 784
  /// tanh hidden units, each with a bias (1024).
  public var hiddenUnits = 1024
  /// Classes, one softmax output each, each with a bias (10).
  public var classes = 10
  /// The update rule (backprop, α = 0.0005, TF1 defaults). Full crossprop is not offered here:
  /// its traces h_ijk would number inputs × hidden × classes (8 M for MNIST), ten times the
  /// network, and the paper does not run it on MNIST.
  public var rule = UpdateRule()
  /// Whether every pixel, zero or not, goes through the arithmetic of a non-zero one (false). Only
  /// tests set it, to show the sparse path gives the dense path's bits.
  var isDense = false

  public init() {}
}

/// A one-hidden-layer image classifier trained online, one example a step, by the update rules
/// of the crossprop paper (Veeriah, Zhang and Sutton 2017, MNIST experiment):
/// φ = tanh(x̃·U), p = softmax(φ̃·W̃), loss −log p_label, δ_k = [k = label] − p_k.
///
/// - Every weight and bias starts N(0, 1), drawn in `Double` from stream "init" and rounded to
///   `Float`, in the order U (inputs × hidden, row-major), hidden biases, W (hidden × classes,
///   row-major, as TensorFlow's matrix), output biases.
/// - Pixels are bytes scaled by 1/255. A step touches only the rows of U of its non-zero pixels
///   (and the bias row) in the forward pass and in backprop's and crossprop-approx's updates; the
///   result is bit-identical to the dense computation (x·u adds exactly 0 when x is 0). Momentum,
///   RMSProp and Adam step every parameter, as TensorFlow did.
/// - Storage is one slab of eight-`Float` chunks: U [input][hidden] with the hidden biases as row
///   `inputs`, then W [class][hidden], then the output biases, then the optimiser's slots at fixed
///   distances (or crossprop-approx's traces h [class][hidden]), then scratch. A step allocates
///   nothing.
/// - Steps and predictions compute with subnormal numbers flushed to zero, as TensorFlow 1's CPU
///   kernels did (``SubnormalFlushing``).
public struct OnlineClassifier: Sendable {
  /// The settings the classifier was built with.
  public let settings: OnlineClassifierSettings
  /// Steps taken so far (Adam's t is `step + 1` on the next step).
  public private(set) var step = 0
  private var slab: [FloatLanes]
  /// The non-zero pixels of the current image: their indices, then their values.
  private var activeRows: [Int]
  private var activeValues: [Float]
  /// How many pixels of the current image are non-zero (set by the forward pass).
  private var activeCount = 0
  /// Backprop's and crossprop-approx's update of U from the last step, not yet applied: the rows
  /// of its non-zero pixels (then its values), and α·s_j·(1 − φ_j²) in the slab's pending block.
  /// The next forward pass applies it to each row as it reads the rows of the next image, so a
  /// row both images share crosses the memory bus once instead of twice (see `learn`).
  private var pendingRows: [Int]
  private var pendingValues: [Float]
  private var pendingCount = 0
  private var hasPendingUpdate = false
  private let layout: Layout

  /// Offsets (in chunks) of the blocks of the slab.
  private struct Layout: Sendable {
    var chunks: Int  // of the hidden layer
    var rows: Int  // inputs + 1
    var classes: Int
    var classChunks: Int
    var outputWeights: Int { rows * chunks }
    var outputBiases: Int { outputWeights + classes * chunks }
    var parameters: Int { outputBiases + classChunks }
    var firstSlot: Int { parameters }
    var secondSlot: Int { 2 * parameters }
    var slots: Int  // 0, 1 or 2
    var traces: Int { parameters * (1 + slots) }
    var traceChunks: Int  // classes·chunks for crossprop-approx, else 0
    var activations: Int { traces + traceChunks }
    var derivatives: Int { activations + chunks }
    var signal: Int { derivatives + chunks }
    var deltas: Int { signal + chunks }  // classChunks
    var pendingSignal: Int { deltas + classChunks }  // chunks
    var total: Int { pendingSignal + chunks }
  }

  /// A classifier with the given initial weights: `inputWeights` inputs × hidden row-major,
  /// `hiddenBiases` hidden, `outputWeights` hidden × classes row-major, `outputBiases` classes.
  public init(
    settings: OnlineClassifierSettings, inputWeights: [Float], hiddenBiases: [Float], outputWeights: [Float],
    outputBiases: [Float]
  ) {
    let (d, n, k) = (settings.inputs, settings.hiddenUnits, settings.classes)
    precondition(d >= 1 && n >= 1 && k >= 2, "OnlineClassifier needs inputs, hidden units and two classes")
    precondition(settings.rule.algorithm != .crossprop, "full crossprop is not offered for the classifier")
    precondition(
      inputWeights.count == d * n && hiddenBiases.count == n && outputWeights.count == n * k
        && outputBiases.count == k)
    self.settings = settings
    let chunks = (n + 7) / 8
    let slots =
      switch settings.rule.algorithm {
      case .adam: 2
      case .momentum, .rmsprop: 1
      default: 0
      }
    layout = Layout(
      chunks: chunks, rows: d + 1, classes: k, classChunks: (k + 7) / 8, slots: slots,
      traceChunks: settings.rule.algorithm == .crosspropApprox ? k * chunks : 0)
    slab = [FloatLanes](repeating: .zero, count: layout.total)
    activeRows = [Int](repeating: 0, count: d)
    activeValues = [Float](repeating: 0, count: d)
    pendingRows = [Int](repeating: 0, count: d)
    pendingValues = [Float](repeating: 0, count: d)
    for i in 0...d {
      for j in 0..<n { slab[i * chunks + j / 8][j % 8] = i < d ? inputWeights[i * n + j] : hiddenBiases[j] }
    }
    for j in 0..<n {
      for c in 0..<k { slab[layout.outputWeights + c * chunks + j / 8][j % 8] = outputWeights[j * k + c] }
    }
    for c in 0..<k { slab[layout.outputBiases + c / 8][c % 8] = outputBiases[c] }
    if settings.rule.algorithm == .rmsprop {
      // s starts at TF1's value on real weights only; padding lanes keep s = 0 (their gradient is
      // 0, so their update is 0 either way), as the GEOFF learner does.
      let start = settings.rule.rmspropInitialAccumulator
      for index in 0..<layout.parameters {
        for lane in 0..<8 where isReal(index, lane) { slab[layout.firstSlot + index][lane] = start }
      }
    }
  }

  /// A classifier with N(0, 1) initial weights from the "init" stream of root seed `seed` (see the
  /// type's documentation for the order). The draw does not depend on the update rule.
  public init(settings: OnlineClassifierSettings, seed: UInt64) {
    var random = RandomStream(rootSeed: seed, stream: "init")
    let (d, n, k) = (settings.inputs, settings.hiddenUnits, settings.classes)
    let u = (0..<(d * n)).map { _ in Float(random.normal()) }
    let b = (0..<n).map { _ in Float(random.normal()) }
    let w = (0..<(n * k)).map { _ in Float(random.normal()) }
    let o = (0..<k).map { _ in Float(random.normal()) }
    self.init(settings: settings, inputWeights: u, hiddenBiases: b, outputWeights: w, outputBiases: o)
  }

  /// Whether lane `lane` of parameter chunk `index` holds a real weight (not padding).
  private func isReal(_ index: Int, _ lane: Int) -> Bool {
    if index >= layout.outputBiases { return (index - layout.outputBiases) * 8 + lane < settings.classes }
    return (index % layout.chunks) * 8 + lane < settings.hiddenUnits
  }

  // MARK: - Reading the weights

  /// U without the hidden biases, inputs × hidden row-major.
  public var inputWeights: [Float] {
    guard !hasPendingUpdate else { return applyingPendingUpdate().inputWeights }
    let n = settings.hiddenUnits
    return (0..<(settings.inputs * n)).map { slab[($0 / n) * layout.chunks + ($0 % n) / 8][($0 % n) % 8] }
  }
  /// The hidden biases.
  public var hiddenBiases: [Float] {
    guard !hasPendingUpdate else { return applyingPendingUpdate().hiddenBiases }
    return (0..<settings.hiddenUnits).map { slab[settings.inputs * layout.chunks + $0 / 8][$0 % 8] }
  }
  /// W, hidden × classes row-major.
  public var outputWeights: [Float] {
    let k = settings.classes
    return (0..<(settings.hiddenUnits * k)).map { index in
      let (j, c) = (index / k, index % k)
      return slab[layout.outputWeights + c * layout.chunks + j / 8][j % 8]
    }
  }
  /// The output biases.
  public var outputBiases: [Float] {
    (0..<settings.classes).map { slab[layout.outputBiases + $0 / 8][$0 % 8] }
  }

  /// Σ (U − U₀)² over the input weights (hidden biases excluded) and Σ (W − W₀)² over the output
  /// weights (output biases excluded), accumulated in `Double` in a fixed order. Applies the last
  /// step's deferred update first.
  public mutating func squaredDrift(from initial: OnlineClassifier) -> (input: Double, output: Double) {
    applyPendingUpdate()
    var input = SIMD8<Double>.zero
    var output = SIMD8<Double>.zero
    for index in 0..<(settings.inputs * layout.chunks) {
      let d = SIMD8<Double>(slab[index] - initial.slab[index])
      input += d * d
    }
    for index in layout.outputWeights..<layout.outputBiases {
      let d = SIMD8<Double>(slab[index] - initial.slab[index])
      output += d * d
    }
    return (Self.total(input), Self.total(output))
  }

  /// Applies the last step's deferred update of U (backprop's and crossprop-approx's) on its own.
  private mutating func applyPendingUpdate() {
    guard hasPendingUpdate else { return }
    let (layout, count) = (self.layout, pendingCount)
    // Flushed as in the forward pass that would otherwise have applied it, so the bits agree.
    SubnormalFlushing.withSubnormalsFlushed {
      pendingRows.withUnsafeBufferPointer { rows in
        pendingValues.withUnsafeBufferPointer { values in
          slab.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            let chunks = layout.chunks
            let signal = base + layout.pendingSignal
            for a in 0..<count {
              let x = values[a]
              let row = base + rows[a] * chunks
              for c in 0..<chunks { row[c] += x * signal[c] }
            }
            let biasRow = base + (layout.rows - 1) * chunks
            for c in 0..<chunks { biasRow[c] += signal[c] }
          }
        }
      }
    }
    hasPendingUpdate = false
  }

  /// A copy with the deferred update applied, for the non-mutating readers.
  private func applyingPendingUpdate() -> OnlineClassifier {
    var copy = self
    copy.applyPendingUpdate()
    return copy
  }

  @inline(__always) private static func total(_ v: SIMD8<Double>) -> Double {
    ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
  }

  @inline(__always) private static func total(_ v: FloatLanes) -> Float {
    ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
  }

  // MARK: - Predicting

  /// What one forward pass found: the loss of the label and whether the most probable class was it.
  public struct Prediction: Sendable, Equatable {
    /// The class of the largest logit (the first of equal ones).
    public var predictedClass: Int
    /// −log p_label, in `Double`.
    public var loss: Double
  }

  /// The class the classifier predicts for `pixels` (the first of equal largest logits), without
  /// learning: only the scratch space changes.
  public mutating func predictedClass(_ pixels: UnsafeBufferPointer<UInt8>) -> Int {
    SubnormalFlushing.withSubnormalsFlushed { forward(pixels, label: 0).predictedClass }
  }

  /// The hidden activations φ of `pixels` (hidden units), without learning: only the scratch
  /// space changes.
  public mutating func hiddenActivations(_ pixels: UnsafeBufferPointer<UInt8>) -> [Float] {
    _ = SubnormalFlushing.withSubnormalsFlushed { forward(pixels, label: 0) }
    return (0..<settings.hiddenUnits).map { slab[layout.activations + $0 / 8][$0 % 8] }
  }

  // MARK: - Learning

  /// One online step on (`pixels`, `label`): the forward pass, then every weight updated from the
  /// pre-update values; returns the pre-update prediction (prequential loss and error).
  @discardableResult
  public mutating func learn(_ pixels: UnsafeBufferPointer<UInt8>, label: Int) -> Prediction {
    precondition(pixels.count == settings.inputs && (0..<settings.classes).contains(label))
    return SubnormalFlushing.withSubnormalsFlushed { takeStep(pixels, label: label) }
  }

  private mutating func takeStep(_ pixels: UnsafeBufferPointer<UInt8>, label: Int) -> Prediction {
    let prediction = forward(pixels, label: label)
    let step = self.step
    self.step += 1
    let (layout, settings, active) = (self.layout, self.settings, activeCount)
    activeRows.withUnsafeBufferPointer { rows in
      activeValues.withUnsafeBufferPointer { values in
        slab.withUnsafeMutableBufferPointer { buffer in
          let base = buffer.baseAddress!
          switch settings.rule.algorithm {
          case .backprop:
            Self.backpropagate(base, layout: layout)
            Self.deferInputRowsUpdate(base, layout: layout, stepSize: settings.rule.stepSize)
            Self.updateOutputLayer(base, layout: layout, stepSize: settings.rule.stepSize)
          case .crosspropApprox:
            let rule = settings.rule
            (base + layout.deltas).withMemoryRebound(to: Float.self, capacity: 8 * layout.classChunks) {
              deltas in
              CrosspropApprox.backpropagate(
                outputs: layout.classes, chunks: layout.chunks, deltas: deltas,
                activations: base + layout.activations, outputWeights: base + layout.outputWeights,
                traces: base + layout.traces, signal: base + layout.signal, eta: rule.eta, form: rule.etaForm,
                stepSize: rule.stepSize)
            }
            Self.deferInputRowsUpdate(base, layout: layout, stepSize: rule.stepSize)
            Self.updateOutputLayer(base, layout: layout, stepSize: rule.stepSize)
          case .momentum, .rmsprop, .adam:
            Self.optimise(base, rows, values, active, step: step, layout: layout, rule: settings.rule)
          case .crossprop:
            preconditionFailure("full crossprop is not offered for the classifier")
          }
        }
      }
    }
    if settings.rule.algorithm == .backprop || settings.rule.algorithm == .crosspropApprox {
      // This image's rows are the next forward pass's pending update.
      swap(&activeRows, &pendingRows)
      swap(&activeValues, &pendingValues)
      pendingCount = activeCount
      hasPendingUpdate = true
    }
    return prediction
  }

  /// The forward pass: gathers the non-zero pixels, writes φ, 1 − φ² and δ into the scratch
  /// blocks, and returns the prediction. z adds the bias row, then x_i·u_i of the non-zero pixels
  /// in pixel order.
  private mutating func forward(_ pixels: UnsafeBufferPointer<UInt8>, label: Int) -> Prediction {
    var count = 0
    let isDense = settings.isDense
    activeRows.withUnsafeMutableBufferPointer { rows in
      activeValues.withUnsafeMutableBufferPointer { values in
        for i in 0..<pixels.count where pixels[i] != 0 || isDense {
          rows[count] = i
          values[count] = Float(pixels[i]) / 255
          count += 1
        }
      }
    }
    activeCount = count
    let (layout, settings) = (self.layout, self.settings)
    let pendingCount = hasPendingUpdate ? self.pendingCount : 0
    let isPending = hasPendingUpdate
    hasPendingUpdate = false
    return activeRows.withUnsafeBufferPointer { rows in
      activeValues.withUnsafeBufferPointer { values in
        pendingRows.withUnsafeBufferPointer { pendingRows in
          pendingValues.withUnsafeBufferPointer { pendingValues in
            slab.withUnsafeMutableBufferPointer { buffer in
              let base = buffer.baseAddress!
              return Self.forward(
                base, rows, values, count,
                pending: isPending
                  ? PendingUpdate(
                    rows: pendingRows, values: pendingValues, count: pendingCount,
                    signal: base + layout.pendingSignal) : nil,
                label: label, layout: layout, settings: settings)
            }
          }
        }
      }
    }
  }

  /// The last step's update of U, applied by the next forward pass as it goes.
  private struct PendingUpdate {
    var rows: UnsafeBufferPointer<Int>
    var values: UnsafeBufferPointer<Float>
    var count: Int
    /// α·(s_j·(1 − φ_j²)).
    var signal: UnsafeMutablePointer<FloatLanes>
  }

  /// The forward pass over the rows of the non-zero pixels (`rows`, `values`), first adding the
  /// last step's `pending` update to each row it touches: rows of both images are updated, then
  /// read at once; rows of the last image only are updated as the pass goes by them. Every weight
  /// gets the same operations as an update before the pass would give it, so the bits are the same.
  ///
  /// The pass walks whole rows in pixel order, accumulating z in the activations block: each row
  /// is one contiguous stream the hardware prefetcher follows, where walking a few chunks of every
  /// row at a time jumps a page per row and waits on each. Each z_j still adds the bias row and
  /// then the rows in pixel order, so the order of the loops does not change a bit.
  private static func forward(
    _ base: UnsafeMutablePointer<FloatLanes>, _ rows: UnsafeBufferPointer<Int>,
    _ values: UnsafeBufferPointer<Float>,
    _ active: Int, pending: PendingUpdate?, label: Int, layout: Layout, settings: OnlineClassifierSettings
  ) -> Prediction {
    let chunks = layout.chunks
    let biasRow = base + settings.inputs * chunks
    let z = base + layout.activations
    if let pending {
      for c in 0..<chunks { biasRow[c] += pending.signal[c] }
    }
    for c in 0..<chunks { z[c] = biasRow[c] }
    // Both lists of rows ascend: merge them, so each row is visited once.
    let pendingCount = pending?.count ?? 0
    var (p, a) = (0, 0)
    while p < pendingCount || a < active {
      let pendingRow = p < pendingCount ? pending!.rows[p] : Int.max
      let activeRow = a < active ? rows[a] : Int.max
      let row = base + min(pendingRow, activeRow) * chunks
      if pendingRow == activeRow {
        let (update, signal, x) = (pending!.values[p], pending!.signal, values[a])
        for c in 0..<chunks {
          let weights = row[c] + update * signal[c]
          row[c] = weights
          z[c] += x * weights
        }
        p += 1
        a += 1
      } else if pendingRow < activeRow {
        let (update, signal) = (pending!.values[p], pending!.signal)
        for c in 0..<chunks { row[c] += update * signal[c] }
        p += 1
      } else {
        let x = values[a]
        for c in 0..<chunks { z[c] += x * row[c] }
        a += 1
      }
    }
    let derivativeOut = base + layout.derivatives
    for c in 0..<chunks {
      let phi = DeterministicMath.tanh(z[c])
      z[c] = phi
      derivativeOut[c] = 1 - phi * phi
    }
    let phiOut = z
    // Logits in Float (chunks in order, then the lanes pairwise), softmax and loss in Double.
    let classes = layout.classes
    let w = base + layout.outputWeights
    let biases = base + layout.outputBiases
    return withUnsafeTemporaryAllocation(of: Double.self, capacity: classes) { logits in
      var largest = -Double.infinity
      var predicted = 0
      for k in 0..<classes {
        var sum = FloatLanes.zero
        let row = w + k * chunks
        for c in 0..<chunks { sum += row[c] * phiOut[c] }
        let logit = Double(total(sum) + biases[k / 8][k % 8])
        logits[k] = logit
        if logit > largest {
          largest = logit
          predicted = k
        }
      }
      let labelLogit = logits[label]
      var normaliser = 0.0
      for k in 0..<classes {
        logits[k] = DeterministicMath.exp(logits[k] - largest)
        normaliser += logits[k]
      }
      let deltas = base + layout.deltas
      for k in 0..<classes {
        deltas[k / 8][k % 8] = Float((k == label ? 1 : 0) - logits[k] / normaliser)
      }
      // −log p_label = log Σ e^(l − max) − (l_label − max); the sum is at least 1.
      let loss = DeterministicMath.log(normaliser) - (labelLogit - largest)
      return Prediction(predictedClass: predicted, loss: loss)
    }
  }

  /// Backprop's signal s_j = Σ_k δ_k·w_kj (pre-update W), classes in order.
  @inline(__always)
  private static func backpropagate(_ base: UnsafeMutablePointer<FloatLanes>, layout: Layout) {
    let chunks = layout.chunks
    let w = base + layout.outputWeights
    let signal = base + layout.signal
    let deltas = base + layout.deltas
    for c in 0..<chunks { signal[c] = .zero }
    for k in 0..<layout.classes {
      let delta = deltas[k / 8][k % 8]
      let row = w + k * chunks
      for c in 0..<chunks { signal[c] += delta * row[c] }
    }
  }

  /// Readies u_ij += x_i·(α·(s_j·(1 − φ_j²))) on the rows of the non-zero pixels and the bias row
  /// (x = 1): writes α·(s_j·(1 − φ_j²)) to the pending block, which the next forward pass (or
  /// `applyPendingUpdate`) adds, row by row, with the same operations in the same order.
  @inline(__always)
  private static func deferInputRowsUpdate(
    _ base: UnsafeMutablePointer<FloatLanes>, layout: Layout, stepSize: Float
  ) {
    let signal = base + layout.signal
    let derivative = base + layout.derivatives
    let pending = base + layout.pendingSignal
    for c in 0..<layout.chunks { pending[c] = stepSize * (signal[c] * derivative[c]) }
  }

  /// LMS on the output layer: w_kj += (α·δ_k)·φ_j, b_k += α·δ_k.
  @inline(__always)
  private static func updateOutputLayer(
    _ base: UnsafeMutablePointer<FloatLanes>, layout: Layout, stepSize: Float
  ) {
    let chunks = layout.chunks
    let phi = base + layout.activations
    let w = base + layout.outputWeights
    let deltas = base + layout.deltas
    for k in 0..<layout.classes {
      let scaled = stepSize * deltas[k / 8][k % 8]
      let row = w + k * chunks
      for c in 0..<chunks { row[c] += scaled * phi[c] }
    }
    for c in 0..<layout.classChunks { base[layout.outputBiases + c] += stepSize * deltas[c] }
  }

  /// Backprop through momentum, RMSProp or Adam: the gradient of −log p_label is
  /// −x_i·(s_j·(1 − φ_j²)) for u_ij, −δ_k·φ_j for w_kj and −δ_k for b_k; every parameter steps.
  private static func optimise(
    _ base: UnsafeMutablePointer<FloatLanes>, _ rows: UnsafeBufferPointer<Int>,
    _ values: UnsafeBufferPointer<Float>,
    _ active: Int, step: Int, layout: Layout, rule: UpdateRule
  ) {
    let chunks = layout.chunks
    backpropagate(base, layout: layout)
    let gradients = base + layout.signal
    let derivative = base + layout.derivatives
    for c in 0..<chunks { gradients[c] = -(gradients[c] * derivative[c]) }
    let (first, second) = (layout.firstSlot, layout.secondSlot)
    let optimiser = OptimiserRows(rule: rule, step: step)
    // Rows in order: those of zero pixels decay, those of non-zero pixels step with x_i·g.
    var next = 0
    for i in 0..<(layout.rows - 1) {
      let row = base + i * chunks
      if next < active && rows[next] == i {
        optimiser.step(
          row, first: first, second: second, gradients: gradients, times: values[next], count: chunks)
        next += 1
      } else {
        optimiser.stepWithoutGradient(row, first: first, second: second, count: chunks)
      }
    }
    optimiser.step(
      base + (layout.rows - 1) * chunks, first: first, second: second, gradients: gradients, count: chunks)
    let phi = base + layout.activations
    let deltas = base + layout.deltas
    for k in 0..<layout.classes {
      let delta = deltas[k / 8][k % 8]
      let row = base + layout.outputWeights + k * chunks
      for c in 0..<chunks {
        optimiser.step(row + c, first: first, second: second, gradient: -(delta * phi[c]))
      }
    }
    for c in 0..<layout.classChunks {
      optimiser.step(base + layout.outputBiases + c, first: first, second: second, gradient: -deltas[c])
    }
  }
}
