/// What the network's output unit computes from its input a = w_o·h + b_o.
public enum LSTMReadout: String, Sendable, Equatable, CaseIterable {
  /// ŷ = σ(a): targets in (0, 1), as in Younger, Hochreiter and Conwell (2001).
  case sigmoid
  /// ŷ = a.
  case linear
}

/// The sizes of an LSTM meta-learner and where each parameter block lives in its flat vector.
///
/// **Layout** of the one contiguous parameter vector (I = inputs, H = hidden, D = dense, G = 4H):
///
/// | block | offset | count | index of one entry |
/// |---|---|---|---|
/// | gate weights W | 0 | (I + H)·G | column c of [x; h_{t−1}] is contiguous: `c·G + gate·H + unit` |
/// | gate biases b | (I + H)·G | G | `gate·H + unit` |
/// | dense weights W_d (D > 0) | after b | H·D | column j (hidden unit j) is contiguous: `j·D + k` |
/// | dense biases b_d (D > 0) | after W_d | D | `k` |
/// | readout weights w_o | after b_d (or b) | D if D > 0, else H | `k` |
/// | readout bias b_o | last | 1 | |
///
/// Gates are ordered input i, forget f, candidate g, output o. Columns are contiguous so the
/// forward pass and the weight gradient are AXPYs over G that vectorise.
public struct LSTMShape: Sendable, Equatable, Hashable {
  /// External inputs per cycle (3: x₁, x₂ and the previous target).
  public var inputs: Int
  /// LSTM units H (12).
  public var hidden: Int
  /// Units of the optional dense tanh layer between the LSTM and the output; 0 means none (0; the
  /// paper's quadratic row uses 40).
  public var dense: Int
  /// The output unit (sigmoid).
  public var readout: LSTMReadout

  public init(inputs: Int = 3, hidden: Int = 12, dense: Int = 0, readout: LSTMReadout = .sigmoid) {
    precondition(inputs >= 1 && hidden >= 1 && dense >= 0, "LSTMShape needs positive sizes")
    self.inputs = inputs
    self.hidden = hidden
    self.dense = dense
    self.readout = readout
  }

  /// G = 4H, the gate pre-activations per cycle.
  public var gateRows: Int { 4 * hidden }
  /// I + H, the columns of the gate weights.
  public var gateColumns: Int { inputs + hidden }
  /// Offset of the gate weights W (0).
  public var gateWeightsOffset: Int { 0 }
  /// Offset of the gate biases b.
  public var gateBiasOffset: Int { gateColumns * gateRows }
  /// Offset of the dense weights W_d (equal to ``denseBiasOffset`` when there is no dense layer).
  public var denseWeightsOffset: Int { gateBiasOffset + gateRows }
  /// Offset of the dense biases b_d.
  public var denseBiasOffset: Int { denseWeightsOffset + hidden * dense }
  /// Offset of the readout weights w_o.
  public var readoutWeightsOffset: Int { denseBiasOffset + dense }
  /// Inputs of the readout: D with a dense layer, else H.
  public var readoutInputs: Int { dense > 0 ? dense : hidden }
  /// Offset of the readout bias b_o.
  public var readoutBiasOffset: Int { readoutWeightsOffset + readoutInputs }
  /// Length of the flat parameter vector.
  public var parameterCount: Int { readoutBiasOffset + 1 }

  /// The named blocks of the layout, in order (for gradient checks and reports).
  public var blocks: [(name: String, range: Range<Int>)] {
    var out: [(String, Range<Int>)] = [
      ("gate_weights", gateWeightsOffset..<gateBiasOffset),
      ("gate_biases", gateBiasOffset..<denseWeightsOffset),
    ]
    if dense > 0 {
      out.append(("dense_weights", denseWeightsOffset..<denseBiasOffset))
      out.append(("dense_biases", denseBiasOffset..<readoutWeightsOffset))
    }
    out.append(("readout_weights", readoutWeightsOffset..<readoutBiasOffset))
    out.append(("readout_bias", readoutBiasOffset..<parameterCount))
    return out
  }
}

/// A number type the LSTM can run in: `Float` for training, `Double` for gradient checks.
///
/// The only transcendental function the network needs is tanh (σ(x) = ½(1 + tanh(x/2))); both
/// conformances use ``DeterministicMath``, so no result depends on the host's libm.
public protocol LSTMScalar: BinaryFloatingPoint, Sendable {
  /// Replaces each of the `count` values at `values` by its tanh.
  static func tanhInPlace(_ values: UnsafeMutablePointer<Self>, count: Int)
}

extension Float: LSTMScalar {
  /// Eight lanes at a time through ``DeterministicMath/tanh(_:)-(SIMD8<Float>)``; the tail is
  /// padded with zeros, so every value gets the same lane arithmetic.
  @inline(__always)
  public static func tanhInPlace(_ values: UnsafeMutablePointer<Float>, count: Int) {
    var k = 0
    while k + 8 <= count {
      let raw = UnsafeMutableRawPointer(values + k)
      raw.storeBytes(
        of: DeterministicMath.tanh(raw.loadUnaligned(as: SIMD8<Float>.self)), as: SIMD8<Float>.self)
      k += 8
    }
    if k < count {
      var lanes = SIMD8<Float>.zero
      for j in 0..<(count - k) { lanes[j] = values[k + j] }
      lanes = DeterministicMath.tanh(lanes)
      for j in 0..<(count - k) { values[k + j] = lanes[j] }
    }
  }
}

extension Double: LSTMScalar {
  public static func tanhInPlace(_ values: UnsafeMutablePointer<Double>, count: Int) {
    for k in 0..<count { values[k] = DeterministicMath.tanh(values[k]) }
  }
}

/// One LSTM layer (with forget gate), an optional dense tanh layer and one output unit: the
/// "modern" fixed-weight learner of notes/meta-experiments.md §2.1(a), after Younger, Hochreiter
/// and Conwell (2001), "Meta-learning with backpropagation".
///
/// Per cycle t, with v_t = [x_t; h_{t−1}]:
/// i, f, o = σ(W·v_t + b) (their rows), g = tanh(W·v_t + b) (its rows),
/// c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t), optionally d_t = tanh(W_d·h_t + b_d),
/// ŷ_t = σ(w_o·(d_t or h_t) + b_o) (or linear). State starts at h₀ = c₀ = 0. The loss of a sequence
/// is `scale`·Σ_t (ŷ_t − y_t)², and ``lossAndGradient(shape:parameters:sequence:scale:tape:gradient:)``
/// gives its exact gradient by full backpropagation through time.
public struct LSTMNetwork: Sendable, Equatable {
  /// The sizes and layout.
  public var shape: LSTMShape
  /// The flat parameter vector (layout in ``LSTMShape``).
  public var parameters: [Float]

  public init(shape: LSTMShape, parameters: [Float]) {
    precondition(parameters.count == shape.parameterCount, "parameter vector has the wrong length")
    self.shape = shape
    self.parameters = parameters
  }

  /// A freshly initialised network, drawn from the stream (`seed`, "init").
  ///
  /// PD (the paper gives none for the modern variant): every weight uniform in [−1/√n, 1/√n], n the
  /// fan-in (I + H for the gates, H for the dense layer, the readout's inputs for the readout),
  /// drawn in layout order; biases 0 except the forget gate's, +1.
  public init(shape: LSTMShape, seed: UInt64) {
    var random = RandomStream(rootSeed: seed, stream: "init")
    var p = [Float](repeating: 0, count: shape.parameterCount)
    func fill(_ range: Range<Int>, fanIn: Int) {
      let bound = 1 / Double(fanIn).squareRoot()
      for k in range { p[k] = Float((2 * random.uniformDouble() - 1) * bound) }
    }
    fill(shape.gateWeightsOffset..<shape.gateBiasOffset, fanIn: shape.gateColumns)
    for u in 0..<shape.hidden { p[shape.gateBiasOffset + shape.hidden + u] = 1 }
    if shape.dense > 0 { fill(shape.denseWeightsOffset..<shape.denseBiasOffset, fanIn: shape.hidden) }
    fill(shape.readoutWeightsOffset..<shape.readoutBiasOffset, fanIn: shape.readoutInputs)
    self.init(shape: shape, parameters: p)
  }

  /// The predictions ŷ₁ … ŷ_L for `sequence` (state reset at its start).
  public func predictions(for sequence: MetaSequence) -> [Float] {
    var tape = LSTMTape<Float>(shape: shape, length: sequence.length)
    parameters.withUnsafeBufferPointer { p in
      sequence.withUnsafeBuffers { x, _ in
        LSTMNetwork.forward(shape: shape, parameters: p, inputs: x, tape: &tape)
      }
    }
    return Array(tape.outputs[0..<sequence.length])
  }

  // MARK: - Generic forward and backward

  /// Runs the network over `inputs` (length·I values, cycle-major), recording in `tape` what the
  /// backward pass needs.
  public static func forward<S: LSTMScalar>(
    shape: LSTMShape, parameters p: UnsafeBufferPointer<S>, inputs x: UnsafeBufferPointer<S>,
    tape: inout LSTMTape<S>
  ) {
    let length = x.count / shape.inputs
    tape.reserve(length: length)
    let ni = shape.inputs
    let nh = shape.hidden
    let ng = shape.gateRows
    let nd = shape.dense
    let w = p.baseAddress! + shape.gateWeightsOffset
    let b = p.baseAddress! + shape.gateBiasOffset
    let wd = p.baseAddress! + shape.denseWeightsOffset
    let bd = p.baseAddress! + shape.denseBiasOffset
    let wo = p.baseAddress! + shape.readoutWeightsOffset
    let bo = p[shape.readoutBiasOffset]
    let readoutIsSigmoid = shape.readout == .sigmoid
    tape.gates.withUnsafeMutableBufferPointer { gatesBuffer in
      tape.cells.withUnsafeMutableBufferPointer { cellsBuffer in
        tape.tanhCells.withUnsafeMutableBufferPointer { tanhCellsBuffer in
          tape.hidden.withUnsafeMutableBufferPointer { hiddenBuffer in
            tape.denseOutputs.withUnsafeMutableBufferPointer { denseBuffer in
              tape.outputs.withUnsafeMutableBufferPointer { outputs in
                var zero = [S](repeating: 0, count: nh)
                zero.withUnsafeMutableBufferPointer { zeros in
                  for t in 0..<length {
                    let z = gatesBuffer.baseAddress! + t * ng
                    let hPrev =
                      t == 0
                      ? UnsafePointer(zeros.baseAddress!)
                      : UnsafePointer(hiddenBuffer.baseAddress! + (t - 1) * nh)
                    let cPrev =
                      t == 0
                      ? UnsafePointer(zeros.baseAddress!)
                      : UnsafePointer(cellsBuffer.baseAddress! + (t - 1) * nh)
                    for r in 0..<ng { z[r] = b[r] }
                    for c in 0..<ni {
                      let v = x[t * ni + c]
                      let column = w + c * ng
                      for r in 0..<ng { z[r] += v * column[r] }
                    }
                    for j in 0..<nh {
                      let v = hPrev[j]
                      let column = w + (ni + j) * ng
                      for r in 0..<ng { z[r] += v * column[r] }
                    }
                    // σ(z) = ½(1 + tanh(z/2)) on the i, f, o rows; tanh on the g rows.
                    for r in 0..<(2 * nh) { z[r] *= 0.5 }
                    for r in (3 * nh)..<ng { z[r] *= 0.5 }
                    S.tanhInPlace(z, count: ng)
                    for r in 0..<(2 * nh) { z[r] = 0.5 * (1 + z[r]) }
                    for r in (3 * nh)..<ng { z[r] = 0.5 * (1 + z[r]) }
                    let c = cellsBuffer.baseAddress! + t * nh
                    let tc = tanhCellsBuffer.baseAddress! + t * nh
                    let h = hiddenBuffer.baseAddress! + t * nh
                    for u in 0..<nh {
                      c[u] = z[nh + u] * cPrev[u] + z[u] * z[2 * nh + u]
                      tc[u] = c[u]
                    }
                    S.tanhInPlace(tc, count: nh)
                    for u in 0..<nh { h[u] = z[3 * nh + u] * tc[u] }
                    var a = bo
                    if nd > 0 {
                      let d = denseBuffer.baseAddress! + t * nd
                      for k in 0..<nd { d[k] = bd[k] }
                      for j in 0..<nh {
                        let v = h[j]
                        let column = wd + j * nd
                        for k in 0..<nd { d[k] += v * column[k] }
                      }
                      S.tanhInPlace(d, count: nd)
                      for k in 0..<nd { a += wo[k] * d[k] }
                    } else {
                      for u in 0..<nh { a += wo[u] * h[u] }
                    }
                    if readoutIsSigmoid {
                      var half = 0.5 * a
                      S.tanhInPlace(&half, count: 1)
                      outputs[t] = 0.5 * (1 + half)
                    } else {
                      outputs[t] = a
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// Adds to `gradient` the gradient of `scale`·Σ_t (ŷ_t − y_t)² with respect to the parameters,
  /// by backpropagation through every cycle of the sequence that ``forward(shape:parameters:inputs:tape:)``
  /// recorded in `tape`; returns Σ_t (ŷ_t − y_t)² (unscaled, accumulated in `Double`).
  ///
  /// `transposed` is scratch of at least G·H values (the recurrent weights transposed, so the
  /// error sent back to h_{t−1} is an AXPY over rows).
  @discardableResult
  public static func backward<S: LSTMScalar>(
    shape: LSTMShape, parameters p: UnsafeBufferPointer<S>, inputs x: UnsafeBufferPointer<S>,
    targets y: UnsafeBufferPointer<S>, scale: S, tape: inout LSTMTape<S>,
    gradient: UnsafeMutableBufferPointer<S>
  ) -> Double {
    let length = y.count
    let ni = shape.inputs
    let nh = shape.hidden
    let ng = shape.gateRows
    let nd = shape.dense
    let w = p.baseAddress! + shape.gateWeightsOffset
    let wd = p.baseAddress! + shape.denseWeightsOffset
    let wo = p.baseAddress! + shape.readoutWeightsOffset
    let dW = gradient.baseAddress! + shape.gateWeightsOffset
    let db = gradient.baseAddress! + shape.gateBiasOffset
    let dWd = gradient.baseAddress! + shape.denseWeightsOffset
    let dbd = gradient.baseAddress! + shape.denseBiasOffset
    let dwo = gradient.baseAddress! + shape.readoutWeightsOffset
    let readoutIsSigmoid = shape.readout == .sigmoid
    var squaredError = 0.0
    tape.reserveBackward()
    tape.scratch.withUnsafeMutableBufferPointer { scratchBuffer in
      // Scratch regions: Wᵀ (G·H), dz (G), dh (H), dc (H), dd (D), dh_next (H).
      let scratch = scratchBuffer.baseAddress!
      let transposed = scratch
      let dz = transposed + ng * nh
      let dh = dz + ng
      let dc = dh + nh
      let dd = dc + nh
      let dhNext = dd + nd
      for r in 0..<ng {
        for j in 0..<nh { transposed[r * nh + j] = w[(ni + j) * ng + r] }
      }
      for u in 0..<nh {
        dhNext[u] = 0
        dc[u] = 0
      }
      tape.gates.withUnsafeBufferPointer { gatesBuffer in
        tape.cells.withUnsafeBufferPointer { cellsBuffer in
          tape.tanhCells.withUnsafeBufferPointer { tanhCellsBuffer in
            tape.hidden.withUnsafeBufferPointer { hiddenBuffer in
              tape.denseOutputs.withUnsafeBufferPointer { denseBuffer in
                tape.outputs.withUnsafeBufferPointer { outputs in
                  for t in stride(from: length - 1, through: 0, by: -1) {
                    let yHat = outputs[t]
                    let error = yHat - y[t]
                    squaredError += Double(error) * Double(error)
                    var da = 2 * scale * error
                    if readoutIsSigmoid { da *= yHat * (1 - yHat) }
                    gradient[shape.readoutBiasOffset] += da
                    let h = hiddenBuffer.baseAddress! + t * nh
                    for u in 0..<nh { dh[u] = dhNext[u] }
                    if nd > 0 {
                      let d = denseBuffer.baseAddress! + t * nd
                      for k in 0..<nd {
                        dwo[k] += da * d[k]
                        dd[k] = da * wo[k] * (1 - d[k] * d[k])
                        dbd[k] += dd[k]
                      }
                      for j in 0..<nh {
                        let v = h[j]
                        let column = dWd + j * nd
                        let weights = wd + j * nd
                        var sum: S = 0
                        for k in 0..<nd {
                          column[k] += v * dd[k]
                          sum += weights[k] * dd[k]
                        }
                        dh[j] += sum
                      }
                    } else {
                      for u in 0..<nh {
                        dwo[u] += da * h[u]
                        dh[u] += da * wo[u]
                      }
                    }
                    let z = gatesBuffer.baseAddress! + t * ng
                    let tc = tanhCellsBuffer.baseAddress! + t * nh
                    let cPrev: UnsafePointer<S>? = t == 0 ? nil : cellsBuffer.baseAddress! + (t - 1) * nh
                    for u in 0..<nh {
                      let i = z[u]
                      let f = z[nh + u]
                      let g = z[2 * nh + u]
                      let o = z[3 * nh + u]
                      let dcu = dh[u] * o * (1 - tc[u] * tc[u]) + dc[u]
                      let cp: S = cPrev?[u] ?? 0
                      dz[u] = dcu * g * i * (1 - i)
                      dz[nh + u] = dcu * cp * f * (1 - f)
                      dz[2 * nh + u] = dcu * i * (1 - g * g)
                      dz[3 * nh + u] = dh[u] * tc[u] * o * (1 - o)
                      dc[u] = dcu * f
                    }
                    for r in 0..<ng { db[r] += dz[r] }
                    for c in 0..<ni {
                      let v = x[t * ni + c]
                      let column = dW + c * ng
                      for r in 0..<ng { column[r] += v * dz[r] }
                    }
                    for u in 0..<nh { dhNext[u] = 0 }
                    if t > 0 {
                      let hPrev = hiddenBuffer.baseAddress! + (t - 1) * nh
                      for j in 0..<nh {
                        let v = hPrev[j]
                        let column = dW + (ni + j) * ng
                        for r in 0..<ng { column[r] += v * dz[r] }
                      }
                      for r in 0..<ng {
                        let e = dz[r]
                        let row = transposed + r * nh
                        for j in 0..<nh { dhNext[j] += e * row[j] }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return squaredError
  }

  /// The loss `scale`·Σ_t (ŷ_t − y_t)² of one sequence and its gradient, in any ``LSTMScalar``:
  /// the convenient (allocating) form used by gradient checks.
  public static func lossAndGradient<S: LSTMScalar>(
    shape: LSTMShape, parameters: [S], inputs: [S], targets: [S], scale: S
  ) -> (loss: Double, gradient: [S]) {
    var tape = LSTMTape<S>(shape: shape, length: targets.count)
    var gradient = [S](repeating: 0, count: shape.parameterCount)
    var squaredError = 0.0
    parameters.withUnsafeBufferPointer { p in
      inputs.withUnsafeBufferPointer { x in
        targets.withUnsafeBufferPointer { y in
          gradient.withUnsafeMutableBufferPointer { g in
            forward(shape: shape, parameters: p, inputs: x, tape: &tape)
            squaredError = backward(
              shape: shape, parameters: p, inputs: x, targets: y, scale: scale, tape: &tape, gradient: g)
          }
        }
      }
    }
    return (Double(scale) * squaredError, gradient)
  }

  /// The loss `scale`·Σ_t (ŷ_t − y_t)² of one sequence, by the forward pass only (in `Double`).
  public static func loss<S: LSTMScalar>(
    shape: LSTMShape, parameters: [S], inputs: [S], targets: [S], scale: S
  )
    -> Double
  {
    var tape = LSTMTape<S>(shape: shape, length: targets.count)
    parameters.withUnsafeBufferPointer { p in
      inputs.withUnsafeBufferPointer { x in forward(shape: shape, parameters: p, inputs: x, tape: &tape) }
    }
    var sum = 0.0
    for t in 0..<targets.count {
      let e = Double(tape.outputs[t]) - Double(targets[t])
      sum += e * e
    }
    return Double(scale) * sum
  }
}

/// What the forward pass records for backpropagation through time; reusable across sequences.
public struct LSTMTape<S: LSTMScalar>: Sendable {
  public let shape: LSTMShape
  /// Activated gates i, f, g, o per cycle (length·4H).
  public internal(set) var gates: [S]
  /// Cell states c_t (length·H).
  public internal(set) var cells: [S]
  /// tanh(c_t) (length·H).
  public internal(set) var tanhCells: [S]
  /// Hidden states h_t (length·H).
  public internal(set) var hidden: [S]
  /// Dense-layer outputs d_t (length·D).
  public internal(set) var denseOutputs: [S]
  /// Predictions ŷ_t (length).
  public internal(set) var outputs: [S]
  var scratch: [S] = []

  public init(shape: LSTMShape, length: Int) {
    self.shape = shape
    gates = []
    cells = []
    tanhCells = []
    hidden = []
    denseOutputs = []
    outputs = []
    reserve(length: length)
  }

  /// Grows the buffers to hold `length` cycles (never shrinks them).
  mutating func reserve(length: Int) {
    guard outputs.count < length else { return }
    gates = [S](repeating: 0, count: length * shape.gateRows)
    cells = [S](repeating: 0, count: length * shape.hidden)
    tanhCells = [S](repeating: 0, count: length * shape.hidden)
    hidden = [S](repeating: 0, count: length * shape.hidden)
    denseOutputs = [S](repeating: 0, count: length * shape.dense)
    outputs = [S](repeating: 0, count: length)
  }

  mutating func reserveBackward() {
    let needed = shape.gateRows * shape.hidden + shape.gateRows + 3 * shape.hidden + shape.dense
    if scratch.count < needed { scratch = [S](repeating: 0, count: needed) }
  }
}
