/// Eight sequences at once, one per SIMD lane: the training hot path.
///
/// Every lane performs exactly the `Float` operations of ``LSTMNetwork/forward(shape:parameters:inputs:tape:)``
/// and ``LSTMNetwork/backward(shape:parameters:inputs:targets:scale:tape:gradient:)`` in the same
/// order, so lane b's gradient has the same bits as the one-sequence code (a test checks this);
/// the lanes only turn 8 tiny matrix-vector products into full-width vector arithmetic.
public struct LSTMLaneWorkspace: Sendable {
  public typealias Lanes = SIMD8<Float>
  public let shape: LSTMShape
  public let length: Int
  var inputs: [Lanes]
  var targets: [Lanes]
  var gates: [Lanes]
  var cells: [Lanes]
  var tanhCells: [Lanes]
  var hidden: [Lanes]
  var denseOutputs: [Lanes]
  var outputs: [Lanes]
  var scratch: [Lanes]
  var transposed: [Float]
  /// Per-lane gradient after ``run(parameters:sequences:scale:)``: entry k holds ∂/∂p_k of
  /// each lane's loss.
  public internal(set) var gradient: [Lanes]
  /// Per-lane Σ_t (ŷ_t − y_t)², accumulated in `Double` from the last cycle to the first (as the
  /// one-sequence backward pass does).
  public internal(set) var squaredErrors: [Double]

  public init(shape: LSTMShape, length: Int) {
    precondition(shape.inputs == 3, "sequences have three inputs per cycle")
    self.shape = shape
    self.length = length
    let H = shape.hidden
    let G = shape.gateRows
    inputs = [Lanes](repeating: .zero, count: length * shape.inputs)
    targets = [Lanes](repeating: .zero, count: length)
    gates = [Lanes](repeating: .zero, count: length * G)
    cells = [Lanes](repeating: .zero, count: length * H)
    tanhCells = [Lanes](repeating: .zero, count: length * H)
    hidden = [Lanes](repeating: .zero, count: length * H)
    denseOutputs = [Lanes](repeating: .zero, count: length * shape.dense)
    outputs = [Lanes](repeating: .zero, count: length)
    scratch = [Lanes](repeating: .zero, count: G + 4 * H + shape.dense)
    transposed = [Float](repeating: 0, count: G * H)
    gradient = [Lanes](repeating: .zero, count: shape.parameterCount)
    squaredErrors = [Double](repeating: 0, count: 8)
  }

  /// Forward and backward over up to eight sequences of ``length`` cycles (lane b is
  /// `sequences[b]`; missing lanes see zeros and their results are meaningless). Loss per lane:
  /// `scale`·Σ_t (ŷ_t − y_t)².
  public mutating func run(parameters: UnsafeBufferPointer<Float>, sequences: ArraySlice<MetaSequence>, scale: Float) {
    precondition(sequences.count <= 8, "at most eight sequences per lane group")
    let I = shape.inputs
    for (lane, sequence) in sequences.enumerated() {
      precondition(sequence.length == length, "sequence length differs from the workspace")
      for k in 0..<(length * I) { inputs[k][lane] = sequence.inputs[k] }
      for t in 0..<length { targets[t][lane] = sequence.targets[t] }
    }
    let G = shape.gateRows
    let H = shape.hidden
    let W = parameters.baseAddress! + shape.gateWeightsOffset
    transposed.withUnsafeMutableBufferPointer { wt in
      for r in 0..<G {
        for j in 0..<H { wt[r * H + j] = W[(I + j) * G + r] }
      }
    }
    forward(parameters)
    backward(parameters, scale: scale)
  }

  private mutating func forward(_ p: UnsafeBufferPointer<Float>) {
    let I = shape.inputs
    let H = shape.hidden
    let G = shape.gateRows
    let D = shape.dense
    let length = self.length
    let W = p.baseAddress! + shape.gateWeightsOffset
    let b = p.baseAddress! + shape.gateBiasOffset
    let Wd = p.baseAddress! + shape.denseWeightsOffset
    let bd = p.baseAddress! + shape.denseBiasOffset
    let wo = p.baseAddress! + shape.readoutWeightsOffset
    let bo = p[shape.readoutBiasOffset]
    let isSigmoid = shape.readout == .sigmoid
    let zero = Lanes.zero
    inputs.withUnsafeBufferPointer { xb in
      gates.withUnsafeMutableBufferPointer { gb in
        cells.withUnsafeMutableBufferPointer { cb in
          tanhCells.withUnsafeMutableBufferPointer { tcb in
            hidden.withUnsafeMutableBufferPointer { hb in
              denseOutputs.withUnsafeMutableBufferPointer { db in
                outputs.withUnsafeMutableBufferPointer { ob in
                  let x = xb.baseAddress!
                  for t in 0..<length {
                    let z = gb.baseAddress! + t * G
                    for r in 0..<G { z[r] = Lanes(repeating: b[r]) }
                    for c in 0..<I {
                      let v = x[t * I + c]
                      let column = W + c * G
                      for r in 0..<G { z[r] += v * column[r] }
                    }
                    if t > 0 {
                      let hPrev = hb.baseAddress! + (t - 1) * H
                      for j in 0..<H {
                        let v = hPrev[j]
                        let column = W + (I + j) * G
                        for r in 0..<G { z[r] += v * column[r] }
                      }
                    } else {
                      // h₀ = 0: add 0·w as the one-sequence code does (it can turn −0 into +0).
                      for j in 0..<H {
                        let column = W + (I + j) * G
                        for r in 0..<G { z[r] += zero * column[r] }
                      }
                    }
                    for r in 0..<(2 * H) { z[r] = DeterministicMath.sigmoidHalfStep(z[r]) }
                    for r in (2 * H)..<(3 * H) { z[r] = DeterministicMath.tanh(z[r]) }
                    for r in (3 * H)..<G { z[r] = DeterministicMath.sigmoidHalfStep(z[r]) }
                    let c = cb.baseAddress! + t * H
                    let tc = tcb.baseAddress! + t * H
                    let h = hb.baseAddress! + t * H
                    for u in 0..<H {
                      let cPrev = t == 0 ? zero : cb[(t - 1) * H + u]
                      c[u] = z[H + u] * cPrev + z[u] * z[2 * H + u]
                      tc[u] = DeterministicMath.tanh(c[u])
                      h[u] = z[3 * H + u] * tc[u]
                    }
                    var a = Lanes(repeating: bo)
                    if D > 0 {
                      let d = db.baseAddress! + t * D
                      for k in 0..<D { d[k] = Lanes(repeating: bd[k]) }
                      for j in 0..<H {
                        let v = h[j]
                        let column = Wd + j * D
                        for k in 0..<D { d[k] += v * column[k] }
                      }
                      for k in 0..<D {
                        d[k] = DeterministicMath.tanh(d[k])
                        a += wo[k] * d[k]
                      }
                    } else {
                      for u in 0..<H { a += wo[u] * h[u] }
                    }
                    if isSigmoid {
                      ob[t] = 0.5 * (1 + DeterministicMath.tanh(0.5 * a))
                    } else {
                      ob[t] = a
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

  private mutating func backward(_ p: UnsafeBufferPointer<Float>, scale: Float) {
    let I = shape.inputs
    let H = shape.hidden
    let G = shape.gateRows
    let D = shape.dense
    let length = self.length
    let Wd = p.baseAddress! + shape.denseWeightsOffset
    let wo = p.baseAddress! + shape.readoutWeightsOffset
    let isSigmoid = shape.readout == .sigmoid
    let shape = self.shape
    var errors = [Double](repeating: 0, count: 8)
    let twiceScale = 2 * scale
    inputs.withUnsafeBufferPointer { xb in
      targets.withUnsafeBufferPointer { yb in
        gates.withUnsafeBufferPointer { gb in
          cells.withUnsafeBufferPointer { cb in
            tanhCells.withUnsafeBufferPointer { tcb in
              hidden.withUnsafeBufferPointer { hb in
                denseOutputs.withUnsafeBufferPointer { db in
                  outputs.withUnsafeBufferPointer { ob in
                    transposed.withUnsafeBufferPointer { wtb in
                      scratch.withUnsafeMutableBufferPointer { sb in
                        gradient.withUnsafeMutableBufferPointer { gradientBuffer in
                          let g = gradientBuffer.baseAddress!
                          for k in 0..<shape.parameterCount { g[k] = .zero }
                          let dW = g + shape.gateWeightsOffset
                          let dbias = g + shape.gateBiasOffset
                          let dWd = g + shape.denseWeightsOffset
                          let dbd = g + shape.denseBiasOffset
                          let dwo = g + shape.readoutWeightsOffset
                          let dz = sb.baseAddress!
                          let dh = dz + G
                          let dc = dh + H
                          let dhNext = dc + H
                          let dd = dhNext + H
                          for u in 0..<H {
                            dhNext[u] = .zero
                            dc[u] = .zero
                          }
                          let x = xb.baseAddress!
                          let wt = wtb.baseAddress!
                          for t in stride(from: length - 1, through: 0, by: -1) {
                            let yHat = ob[t]
                            let error = yHat - yb[t]
                            for lane in 0..<8 { errors[lane] += Double(error[lane]) * Double(error[lane]) }
                            var da = twiceScale * error
                            if isSigmoid { da *= yHat * (1 - yHat) }
                            g[shape.readoutBiasOffset] += da
                            let h = hb.baseAddress! + t * H
                            for u in 0..<H { dh[u] = dhNext[u] }
                            if D > 0 {
                              let d = db.baseAddress! + t * D
                              for k in 0..<D {
                                dwo[k] += da * d[k]
                                dd[k] = da * wo[k] * (1 - d[k] * d[k])
                                dbd[k] += dd[k]
                              }
                              for j in 0..<H {
                                let v = h[j]
                                let column = dWd + j * D
                                let weights = Wd + j * D
                                var sum = Lanes.zero
                                for k in 0..<D {
                                  column[k] += v * dd[k]
                                  sum += weights[k] * dd[k]
                                }
                                dh[j] += sum
                              }
                            } else {
                              for u in 0..<H {
                                dwo[u] += da * h[u]
                                dh[u] += da * wo[u]
                              }
                            }
                            let z = gb.baseAddress! + t * G
                            let tc = tcb.baseAddress! + t * H
                            for u in 0..<H {
                              let i = z[u]
                              let f = z[H + u]
                              let gg = z[2 * H + u]
                              let o = z[3 * H + u]
                              let dcu = dh[u] * o * (1 - tc[u] * tc[u]) + dc[u]
                              let cp = t == 0 ? Lanes.zero : cb[(t - 1) * H + u]
                              dz[u] = dcu * gg * i * (1 - i)
                              dz[H + u] = dcu * cp * f * (1 - f)
                              dz[2 * H + u] = dcu * i * (1 - gg * gg)
                              dz[3 * H + u] = dh[u] * tc[u] * o * (1 - o)
                              dc[u] = dcu * f
                            }
                            for r in 0..<G { dbias[r] += dz[r] }
                            for c in 0..<I {
                              let v = x[t * I + c]
                              let column = dW + c * G
                              for r in 0..<G { column[r] += v * dz[r] }
                            }
                            for u in 0..<H { dhNext[u] = .zero }
                            if t > 0 {
                              let hPrev = hb.baseAddress! + (t - 1) * H
                              for j in 0..<H {
                                let v = hPrev[j]
                                let column = dW + (I + j) * G
                                for r in 0..<G { column[r] += v * dz[r] }
                              }
                              for r in 0..<G {
                                let e = dz[r]
                                let row = wt + r * H
                                for j in 0..<H { dhNext[j] += e * row[j] }
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
          }
        }
      }
    }
    squaredErrors = errors
  }
}

extension DeterministicMath {
  /// σ(z) as the LSTM computes it: ½(1 + tanh(z·½)), the multiplication by ½ first (exact).
  @inline(__always)
  static func sigmoidHalfStep(_ z: SIMD8<Float>) -> SIMD8<Float> { 0.5 * (1 + tanh(z * 0.5)) }
}
