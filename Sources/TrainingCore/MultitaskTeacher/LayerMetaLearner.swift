/// The shape of one layer's meta-learner f_ℓ in the multi-task-teacher paper (meta-experiments.md
/// §3.1c): stacked LSTMs run over each output neuron of a student layer (the neurons are the
/// "batch" and share the weights), then a linear head, tanh, and a learnable scale s.
public struct LayerMetaLearnerShape: Sendable, Hashable {
  /// Inputs per neuron and step: [W row, g row, pre, post] (n_in + n_in + C_in + 1).
  public var inputs: Int
  /// Outputs per neuron: one δ per incoming weight (n_in).
  public var outputs: Int
  /// Units of each LSTM layer (32 in the paper's MNIST meta-learner, 16 in smoke).
  public var hidden: Int
  /// Stacked LSTM layers (3 in the paper, 2 in smoke).
  public var layers: Int

  public init(inputs: Int, outputs: Int, hidden: Int, layers: Int) {
    precondition(inputs >= 1 && outputs >= 1 && hidden >= 1 && layers >= 1)
    self.inputs = inputs
    self.outputs = outputs
    self.hidden = hidden
    self.layers = layers
  }

  /// Inputs of LSTM layer l: the neuron's inputs for the first, the layer below's ReLU'd output after.
  public func layerInputs(_ layer: Int) -> Int { layer == 0 ? inputs : hidden }

  /// Where LSTM layer l's weights start: W_l is 4H × (in_l + H), rows in gate order i, f, g, o,
  /// columns the layer's input then its own previous output; b_l (4H) follows.
  public func weightOffset(_ layer: Int) -> Int {
    var offset = 0
    for l in 0..<layer { offset += 4 * hidden * (layerInputs(l) + hidden) + 4 * hidden }
    return offset
  }

  /// Where the head's weights V (outputs × H) start; its biases (outputs) follow, then s.
  public var headOffset: Int { weightOffset(layers) }
  /// The scale s, the last parameter.
  public var scaleOffset: Int { headOffset + outputs * hidden + outputs }
  /// Parameters in all.
  public var parameterCount: Int { scaleOffset + 1 }
}

/// One layer's meta-learner f_ℓ (meta-experiments.md §3.1c, after Xiong, Ren and Urtasun, "Learning
/// to Remember from a Multi-Task Teacher"): for output neuron j of a student layer at inner step t,
///
///     x⁰ = z_{t,j};  for each LSTM layer l: (h^l, c^l) = LSTM_l(x^l, h^l_{t−1}, c^l_{t−1}),
///     x^{l+1} = max(0, h^l);  δ_{t,j} = s · tanh(V·x^L + v)
///
/// with the standard LSTM cell (gates i, f, o = σ(·), g = tanh(·) of W·[x; h_{t−1}] + b;
/// c = f⊙c_{t−1} + i⊙g; h = o⊙tanh(c)). The ReLU between LSTM layers is the note's reading of
/// "ReLU in hidden layers"; the head starts at V = 0, v = 1 and s = 1/tanh(1), so δ ≡ 1 and the
/// rule starts as plain SGD; the LSTM weights and biases start U(−1/√H, 1/√H), as PyTorch's.
///
/// ``step(parameters:inputs:state:record:)`` runs one inner step for every neuron and records what
/// the backward pass needs; ``backward(parameters:window:outputGradients:gradient:)`` is truncated
/// BPTT through a window of such records, the states at its start held constant.
public enum LayerMetaLearner {
  /// Initial parameters of `shape` for stream "meta-init" with index `layer` of `seed`.
  public static func initialParameters<T: NetworkScalar>(
    shape: LayerMetaLearnerShape, seed: UInt64, layer: Int
  ) -> [T] {
    var parameters = [T](repeating: 0, count: shape.parameterCount)
    var random = RandomStream(rootSeed: seed, stream: "meta-init", indices: [UInt64(layer)])
    let bound = 1 / Double(shape.hidden).squareRoot()
    for k in 0..<shape.headOffset { parameters[k] = T((2 * random.uniformDouble() - 1) * bound) }
    let biases = shape.headOffset + shape.outputs * shape.hidden
    for k in biases..<(biases + shape.outputs) { parameters[k] = 1 }
    parameters[shape.scaleOffset] = T(1 / DeterministicMath.tanh(1.0))
    return parameters
  }

  /// The recurrent state of every neuron: per LSTM layer, h and c (neurons × H each).
  public struct State<T: NetworkScalar>: Sendable, Equatable {
    public var h: [[T]]
    public var c: [[T]]

    /// Zero state for `neurons` neurons.
    public init(shape: LayerMetaLearnerShape, neurons: Int) {
      h = Array(repeating: [T](repeating: 0, count: neurons * shape.hidden), count: shape.layers)
      c = h
    }
  }

  /// What one inner step keeps for the backward pass, per LSTM layer: its input and previous
  /// output side by side (neurons × (in_l + H)), the gate values after their nonlinearities
  /// (neurons × 4H, in order i, f, g, o), the previous cell and tanh of the new cell (neurons × H);
  /// and the head's input and tanh(V·x + v).
  public struct StepRecord<T: NetworkScalar>: Sendable {
    var joined: [[T]]
    var gates: [[T]]
    var previousCell: [[T]]
    var cellTanh: [[T]]
    var hidden: [[T]]
    var headInput: [T]
    var headTanh: [T]
    public let neurons: Int

    /// The step's inputs z (neurons × `shape.inputs`), as recorded.
    public func inputs(shape: LayerMetaLearnerShape) -> [T] {
      let width = shape.inputs + shape.hidden
      var out = [T](repeating: 0, count: neurons * shape.inputs)
      for n in 0..<neurons {
        for k in 0..<shape.inputs { out[n * shape.inputs + k] = joined[0][n * width + k] }
      }
      return out
    }
  }

  /// One inner step for `neurons` = inputs.count / shape.inputs neurons: updates `state` and
  /// returns δ (neurons × outputs); `record` is what ``backward`` needs of this step.
  public static func step<T: NetworkScalar>(
    shape: LayerMetaLearnerShape, parameters: [T], inputs: [T], state: inout State<T>
  ) -> (delta: [T], record: StepRecord<T>) {
    precondition(parameters.count == shape.parameterCount && inputs.count % shape.inputs == 0)
    let neurons = inputs.count / shape.inputs
    let hidden = shape.hidden
    var record = StepRecord<T>(
      joined: [], gates: [], previousCell: [], cellTanh: [], hidden: [], headInput: [], headTanh: [],
      neurons: neurons)
    var x = inputs
    parameters.withUnsafeBufferPointer { p in
      for l in 0..<shape.layers {
        let width = shape.layerInputs(l) + hidden
        var joined = [T](repeating: 0, count: neurons * width)
        for n in 0..<neurons {
          for k in 0..<shape.layerInputs(l) { joined[n * width + k] = x[n * shape.layerInputs(l) + k] }
          for k in 0..<hidden { joined[n * width + shape.layerInputs(l) + k] = state.h[l][n * hidden + k] }
        }
        var gates = [T](repeating: 0, count: neurons * 4 * hidden)
        let w = p.baseAddress! + shape.weightOffset(l)
        let b = w + 4 * hidden * width
        for n in 0..<neurons {
          for k in 0..<(4 * hidden) { gates[n * 4 * hidden + k] = b[k] }
        }
        joined.withUnsafeBufferPointer { joined in
          gates.withUnsafeMutableBufferPointer { gates in
            T.gemm(
              transposeA: false, transposeB: true, m: neurons, n: 4 * hidden, k: width, alpha: 1,
              a: joined.baseAddress!, lda: width, b: w, ldb: width, beta: 1, c: gates.baseAddress!,
              ldc: 4 * hidden)
          }
        }
        let previousCell = state.c[l]
        var cellTanh = [T](repeating: 0, count: neurons * hidden)
        var next = [T](repeating: 0, count: neurons * hidden)
        for n in 0..<neurons {
          let row = n * 4 * hidden
          for k in 0..<hidden {
            let i = sigmoid(gates[row + k])
            let f = sigmoid(gates[row + hidden + k])
            let g = tanh(gates[row + 2 * hidden + k])
            let o = sigmoid(gates[row + 3 * hidden + k])
            (
              gates[row + k], gates[row + hidden + k], gates[row + 2 * hidden + k],
              gates[row + 3 * hidden + k]
            ) =
              (i, f, g, o)
            let cell = f * previousCell[n * hidden + k] + i * g
            state.c[l][n * hidden + k] = cell
            cellTanh[n * hidden + k] = tanh(cell)
            state.h[l][n * hidden + k] = o * cellTanh[n * hidden + k]
            next[n * hidden + k] = max(0, state.h[l][n * hidden + k])
          }
        }
        record.joined.append(joined)
        record.gates.append(gates)
        record.previousCell.append(previousCell)
        record.cellTanh.append(cellTanh)
        record.hidden.append(state.h[l])
        x = next
      }
      // Head: δ = s · tanh(V·x + v).
      var u = [T](repeating: 0, count: neurons * shape.outputs)
      let v = p.baseAddress! + shape.headOffset
      let bias = v + shape.outputs * hidden
      for n in 0..<neurons {
        for k in 0..<shape.outputs { u[n * shape.outputs + k] = bias[k] }
      }
      x.withUnsafeBufferPointer { x in
        u.withUnsafeMutableBufferPointer { u in
          T.gemm(
            transposeA: false, transposeB: true, m: neurons, n: shape.outputs, k: hidden, alpha: 1,
            a: x.baseAddress!, lda: hidden, b: v, ldb: hidden, beta: 1, c: u.baseAddress!, ldc: shape.outputs)
        }
      }
      for k in u.indices { u[k] = tanh(u[k]) }
      record.headInput = x
      record.headTanh = u
    }
    let scale = parameters[shape.scaleOffset]
    return (record.headTanh.map { scale * $0 }, record)
  }

  /// Truncated BPTT through `window` (the records of its steps, oldest first): given
  /// ∂L/∂δ_k for every step k of the window (`outputGradients[k]`, neurons × outputs; an empty
  /// array for none), adds ∂L/∂θ to `gradient`. The states before the window's first step are
  /// constants, as are every step's inputs.
  public static func backward<T: NetworkScalar>(
    shape: LayerMetaLearnerShape, parameters: [T], window: [StepRecord<T>], outputGradients: [[T]],
    gradient: inout [T]
  ) {
    precondition(window.count == outputGradients.count && gradient.count == shape.parameterCount)
    guard let neurons = window.first?.neurons else { return }
    let hidden = shape.hidden
    let scale = parameters[shape.scaleOffset]
    // Carried from step k + 1 to step k: ∂L/∂h and ∂L/∂c of every LSTM layer.
    var dh = Array(repeating: [T](repeating: 0, count: neurons * hidden), count: shape.layers)
    var dc = dh
    parameters.withUnsafeBufferPointer { p in
      gradient.withUnsafeMutableBufferPointer { gradient in
        let dp = gradient.baseAddress!
        for k in stride(from: window.count - 1, through: 0, by: -1) {
          let record = window[k]
          // The head: δ = s·τ with τ = tanh(u).
          var dx = [T](repeating: 0, count: neurons * hidden)
          if !outputGradients[k].isEmpty {
            let dDelta = outputGradients[k]
            var du = [T](repeating: 0, count: neurons * shape.outputs)
            var dScale: T = 0
            for index in du.indices {
              let tau = record.headTanh[index]
              dScale += dDelta[index] * tau
              du[index] = dDelta[index] * scale * (1 - tau * tau)
            }
            dp[shape.scaleOffset] += dScale
            let v = p.baseAddress! + shape.headOffset
            du.withUnsafeBufferPointer { du in
              record.headInput.withUnsafeBufferPointer { x in
                T.gemm(
                  transposeA: true, transposeB: false, m: shape.outputs, n: hidden, k: neurons, alpha: 1,
                  a: du.baseAddress!, lda: shape.outputs, b: x.baseAddress!, ldb: hidden, beta: 1,
                  c: dp + shape.headOffset, ldc: hidden)
              }
              dx.withUnsafeMutableBufferPointer { dx in
                T.gemm(
                  transposeA: false, transposeB: false, m: neurons, n: hidden, k: shape.outputs, alpha: 1,
                  a: du.baseAddress!, lda: shape.outputs, b: v, ldb: hidden, beta: 0, c: dx.baseAddress!,
                  ldc: hidden)
              }
            }
            let biases = shape.headOffset + shape.outputs * hidden
            for n in 0..<neurons {
              for o in 0..<shape.outputs { dp[biases + o] += du[n * shape.outputs + o] }
            }
          }
          for l in stride(from: shape.layers - 1, through: 0, by: -1) {
            let width = shape.layerInputs(l) + hidden
            // ∂L/∂h of this step: through the ReLU from above, plus from the next step.
            var dA = [T](repeating: 0, count: neurons * 4 * hidden)
            for n in 0..<neurons {
              let row = n * 4 * hidden
              for j in 0..<hidden {
                let index = n * hidden + j
                let h = record.hidden[l][index]
                let dHidden = (h > 0 ? dx[index] : 0) + dh[l][index]
                let (i, f, g, o) = (
                  record.gates[l][row + j], record.gates[l][row + hidden + j],
                  record.gates[l][row + 2 * hidden + j],
                  record.gates[l][row + 3 * hidden + j]
                )
                let tc = record.cellTanh[l][index]
                let dCell = dc[l][index] + dHidden * o * (1 - tc * tc)
                dA[row + j] = dCell * g * i * (1 - i)
                dA[row + hidden + j] = dCell * record.previousCell[l][index] * f * (1 - f)
                dA[row + 2 * hidden + j] = dCell * i * (1 - g * g)
                dA[row + 3 * hidden + j] = dHidden * tc * o * (1 - o)
                dc[l][index] = dCell * f
              }
            }
            let w = p.baseAddress! + shape.weightOffset(l)
            var dJoined = [T](repeating: 0, count: neurons * width)
            dA.withUnsafeBufferPointer { dA in
              record.joined[l].withUnsafeBufferPointer { joined in
                T.gemm(
                  transposeA: true, transposeB: false, m: 4 * hidden, n: width, k: neurons, alpha: 1,
                  a: dA.baseAddress!, lda: 4 * hidden, b: joined.baseAddress!, ldb: width, beta: 1,
                  c: dp + shape.weightOffset(l), ldc: width)
              }
              dJoined.withUnsafeMutableBufferPointer { dJoined in
                T.gemm(
                  transposeA: false, transposeB: false, m: neurons, n: width, k: 4 * hidden, alpha: 1,
                  a: dA.baseAddress!, lda: 4 * hidden, b: w, ldb: width, beta: 0, c: dJoined.baseAddress!,
                  ldc: width)
              }
            }
            let biases = shape.weightOffset(l) + 4 * hidden * width
            for n in 0..<neurons {
              for j in 0..<(4 * hidden) { dp[biases + j] += dA[n * 4 * hidden + j] }
            }
            let inputs = shape.layerInputs(l)
            for n in 0..<neurons {
              for j in 0..<hidden { dh[l][n * hidden + j] = dJoined[n * width + inputs + j] }
            }
            if l > 0 {
              dx = [T](repeating: 0, count: neurons * hidden)
              for n in 0..<neurons {
                for j in 0..<hidden { dx[n * hidden + j] = dJoined[n * width + j] }
              }
            }
          }
        }
      }
    }
  }

  @inline(__always)
  static func sigmoid<T: NetworkScalar>(_ x: T) -> T {
    T(DeterministicMath.sigmoid(Double(x)))
  }

  @inline(__always)
  static func tanh<T: NetworkScalar>(_ x: T) -> T {
    T(DeterministicMath.tanh(Double(x)))
  }
}
