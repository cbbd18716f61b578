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
    let nh = shape.hidden
    let ng = shape.gateRows
    inputs = [Lanes](repeating: .zero, count: length * shape.inputs)
    targets = [Lanes](repeating: .zero, count: length)
    gates = [Lanes](repeating: .zero, count: length * ng)
    cells = [Lanes](repeating: .zero, count: length * nh)
    tanhCells = [Lanes](repeating: .zero, count: length * nh)
    hidden = [Lanes](repeating: .zero, count: length * nh)
    denseOutputs = [Lanes](repeating: .zero, count: length * shape.dense)
    outputs = [Lanes](repeating: .zero, count: length)
    scratch = [Lanes](repeating: .zero, count: ng + 4 * nh + shape.dense)
    transposed = [Float](repeating: 0, count: ng * nh)
    gradient = [Lanes](repeating: .zero, count: shape.parameterCount)
    squaredErrors = [Double](repeating: 0, count: 8)
  }

  /// Forward and backward over up to eight sequences of ``length`` cycles (lane b is
  /// `sequences[b]`; missing lanes see zeros and their results are meaningless). Loss per lane:
  /// `scale`·Σ_t (ŷ_t − y_t)².
  public mutating func run(
    parameters: UnsafeBufferPointer<Float>, sequences: ArraySlice<MetaSequence>, scale: Float
  ) {
    precondition(sequences.count <= 8, "at most eight sequences per lane group")
    let ni = shape.inputs
    for (lane, sequence) in sequences.enumerated() {
      precondition(sequence.length == length, "sequence length differs from the workspace")
      for k in 0..<(length * ni) { inputs[k][lane] = sequence.inputs[k] }
      for t in 0..<length { targets[t][lane] = sequence.targets[t] }
    }
    let ng = shape.gateRows
    let nh = shape.hidden
    let w = parameters.baseAddress! + shape.gateWeightsOffset
    transposed.withUnsafeMutableBufferPointer { wt in
      for r in 0..<ng {
        for j in 0..<nh { wt[r * nh + j] = w[(ni + j) * ng + r] }
      }
    }
    forward(parameters)
    backward(parameters, scale: scale)
  }

  private mutating func forward(_ p: UnsafeBufferPointer<Float>) {
    let ni = shape.inputs
    let nh = shape.hidden
    let ng = shape.gateRows
    let nd = shape.dense
    let length = self.length
    let w = p.baseAddress! + shape.gateWeightsOffset
    let b = p.baseAddress! + shape.gateBiasOffset
    let wd = p.baseAddress! + shape.denseWeightsOffset
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
                    let z = gb.baseAddress! + t * ng
                    for r in 0..<ng { z[r] = Lanes(repeating: b[r]) }
                    for c in 0..<ni {
                      let v = x[t * ni + c]
                      let column = w + c * ng
                      for r in 0..<ng { z[r] += v * column[r] }
                    }
                    if t > 0 {
                      let hPrev = hb.baseAddress! + (t - 1) * nh
                      for j in 0..<nh {
                        let v = hPrev[j]
                        let column = w + (ni + j) * ng
                        for r in 0..<ng { z[r] += v * column[r] }
                      }
                    } else {
                      // h₀ = 0: add 0·w as the one-sequence code does (it can turn −0 into +0).
                      for j in 0..<nh {
                        let column = w + (ni + j) * ng
                        for r in 0..<ng { z[r] += zero * column[r] }
                      }
                    }
                    for r in 0..<(2 * nh) { z[r] = DeterministicMath.sigmoidHalfStep(z[r]) }
                    for r in (2 * nh)..<(3 * nh) { z[r] = DeterministicMath.tanh(z[r]) }
                    for r in (3 * nh)..<ng { z[r] = DeterministicMath.sigmoidHalfStep(z[r]) }
                    let c = cb.baseAddress! + t * nh
                    let tc = tcb.baseAddress! + t * nh
                    let h = hb.baseAddress! + t * nh
                    for u in 0..<nh {
                      let cPrev = t == 0 ? zero : cb[(t - 1) * nh + u]
                      c[u] = z[nh + u] * cPrev + z[u] * z[2 * nh + u]
                      tc[u] = DeterministicMath.tanh(c[u])
                      h[u] = z[3 * nh + u] * tc[u]
                    }
                    var a = Lanes(repeating: bo)
                    if nd > 0 {
                      let d = db.baseAddress! + t * nd
                      for k in 0..<nd { d[k] = Lanes(repeating: bd[k]) }
                      for j in 0..<nh {
                        let v = h[j]
                        let column = wd + j * nd
                        for k in 0..<nd { d[k] += v * column[k] }
                      }
                      for k in 0..<nd {
                        d[k] = DeterministicMath.tanh(d[k])
                        a += wo[k] * d[k]
                      }
                    } else {
                      for u in 0..<nh { a += wo[u] * h[u] }
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
    let ni = shape.inputs
    let nh = shape.hidden
    let ng = shape.gateRows
    let nd = shape.dense
    let length = self.length
    let wd = p.baseAddress! + shape.denseWeightsOffset
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
                          let dh = dz + ng
                          let dc = dh + nh
                          let dhNext = dc + nh
                          let dd = dhNext + nh
                          for u in 0..<nh {
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
                            let h = hb.baseAddress! + t * nh
                            for u in 0..<nh { dh[u] = dhNext[u] }
                            if nd > 0 {
                              let d = db.baseAddress! + t * nd
                              for k in 0..<nd {
                                dwo[k] += da * d[k]
                                dd[k] = da * wo[k] * (1 - d[k] * d[k])
                                dbd[k] += dd[k]
                              }
                              for j in 0..<nh {
                                let v = h[j]
                                let column = dWd + j * nd
                                let weights = wd + j * nd
                                var sum = Lanes.zero
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
                            let z = gb.baseAddress! + t * ng
                            let tc = tcb.baseAddress! + t * nh
                            for u in 0..<nh {
                              let i = z[u]
                              let f = z[nh + u]
                              let gg = z[2 * nh + u]
                              let o = z[3 * nh + u]
                              let dcu = dh[u] * o * (1 - tc[u] * tc[u]) + dc[u]
                              let cp = t == 0 ? Lanes.zero : cb[(t - 1) * nh + u]
                              dz[u] = dcu * gg * i * (1 - i)
                              dz[nh + u] = dcu * cp * f * (1 - f)
                              dz[2 * nh + u] = dcu * i * (1 - gg * gg)
                              dz[3 * nh + u] = dh[u] * tc[u] * o * (1 - o)
                              dc[u] = dcu * f
                            }
                            for r in 0..<ng { dbias[r] += dz[r] }
                            for c in 0..<ni {
                              let v = x[t * ni + c]
                              let column = dW + c * ng
                              for r in 0..<ng { column[r] += v * dz[r] }
                            }
                            for u in 0..<nh { dhNext[u] = .zero }
                            if t > 0 {
                              let hPrev = hb.baseAddress! + (t - 1) * nh
                              for j in 0..<nh {
                                let v = hPrev[j]
                                let column = dW + (ni + j) * ng
                                for r in 0..<ng { column[r] += v * dz[r] }
                              }
                              for r in 0..<ng {
                                let e = dz[r]
                                let row = wt + r * nh
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
