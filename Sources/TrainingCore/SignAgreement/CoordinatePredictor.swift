import Dispatch

/// The coordinate-wise gradient predictor of "Enabling Continual Learning in Neural Networks with
/// Meta Learning" (meta-experiments.md §1.1): h(u; φ), a scalar-to-scalar MLP (ReLU hidden layers,
/// a linear output) applied with shared weights φ to every coordinate u = θ_j of the main network.
///
/// Its passes over all P coordinates are the run's cost, so they run as batched matrix products: a
/// ``ConvNet`` of dense layers (OpenBLAS) over chunks of coordinates, the chunks spread over
/// `threads` threads. Each chunk's result is computed alone and sums over chunks are taken in chunk
/// order, so the bits do not depend on the thread count.
public struct CoordinatePredictor<T: NetworkScalar>: Sendable {
  /// The MLP: input 1 × 1 × 1, dense layers of the hidden sizes with ReLU, dense → 1.
  public let network: ConvNet
  /// Coordinates per chunk (16,384).
  public let chunk: Int
  /// Threads (1).
  public let threads: Int
  /// One per thread.
  private var workspaces: [ConvNetWorkspace<T>]

  public init(hidden: [Int], chunk: Int = 16_384, threads: Int = 1) throws(ConvNetError) {
    guard !hidden.isEmpty, chunk >= 1, threads >= 1 else {
      throw ConvNetError("a coordinate predictor needs hidden layers, a chunk and a thread")
    }
    var layers: [ConvNetLayer] = []
    for units in hidden { layers += [.dense(outputs: units), .relu] }
    network = try ConvNet(
      input: TensorShape(channels: 1, height: 1, width: 1), layers: layers + [.dense(outputs: 1)])
    self.chunk = chunk
    self.threads = threads
    workspaces = []
    for _ in 0..<threads { workspaces.append(ConvNetWorkspace<T>(network: network, batchCapacity: chunk)) }
  }

  public var parameterCount: Int { network.parameterCount }

  /// φ's initial values for predictor `index` of a run with root seed `seed`: the network's
  /// initialisation (``ConvNet/initialParameters(seed:as:)``) for the seed drawn from stream
  /// "predictor" indexed by `index`.
  public func initialParameters(seed: UInt64, index: Int) -> [T] {
    var random = RandomStream(rootSeed: seed, stream: "predictor", indices: [UInt64(index)])
    return network.initialParameters(seed: random.next(), as: T.self)
  }

  /// Writes `scale` · h(inputs[j]; φ) into `out[j]`, or adds it when `accumulate`.
  @_specialize(exported:true,where T == Float)
  public mutating func predict(
    _ phi: [T], inputs: [T], scale: T = 1, into out: inout [T], accumulate: Bool = false
  ) {
    precondition(out.count == inputs.count && phi.count == parameterCount)
    let network = self.network
    let last = network.layers.count - 1
    let total = inputs.count
    let threads = self.threads
    let chunks = (total + chunk - 1) / chunk
    let chunk = self.chunk
    phi.withUnsafeBufferPointer { phi in
      inputs.withUnsafeBufferPointer { inputs in
        out.withUnsafeMutableBufferPointer { out in
          workspaces.withUnsafeMutableBufferPointer { workspaces in
            let shared = PredictorPass<T>(
              phi: phi, inputs: inputs, out: out, workspaces: workspaces, slots: nil, losses: nil,
              targets: nil)
            Self.run(chunks: chunks, threads: threads) { thread, c in
              let range = (c * chunk)..<min(total, (c + 1) * chunk)
              let workspace = shared.workspaces.baseAddress! + thread
              network.forward(
                parameters: shared.phi, input: UnsafeBufferPointer(rebasing: shared.inputs[range]),
                batch: range.count, workspace: &workspace.pointee)
              let h = workspace.pointee.output(last, network: network)
              var k = h.startIndex
              for j in range {
                shared.out[j] = accumulate ? shared.out[j] + scale * h[k] : scale * h[k]
                k += 1
              }
            }
          }
        }
      }
    }
  }

  /// The mean squared error (1/n) Σ_j (h(inputs[j]; φ) − targets[j])² over the n inputs, and its
  /// gradient with respect to φ: per chunk by backpropagation, summed over chunks in chunk order.
  @_specialize(exported:true,where T == Float)
  public mutating func regression(_ phi: [T], inputs: [T], targets: [T]) -> (loss: Double, gradient: [T]) {
    precondition(targets.count == inputs.count && !inputs.isEmpty && phi.count == parameterCount)
    let network = self.network
    let last = network.layers.count - 1
    let total = inputs.count
    let threads = self.threads
    let chunks = (total + chunk - 1) / chunk
    let chunk = self.chunk
    let count = parameterCount
    let factor = 2 / T(inputs.count)
    var slots = [T](repeating: 0, count: chunks * count)
    var losses = [Double](repeating: 0, count: chunks)
    var unused: [T] = []
    phi.withUnsafeBufferPointer { phi in
      inputs.withUnsafeBufferPointer { inputs in
        targets.withUnsafeBufferPointer { targets in
          unused.withUnsafeMutableBufferPointer { unused in
            slots.withUnsafeMutableBufferPointer { slots in
              losses.withUnsafeMutableBufferPointer { losses in
                workspaces.withUnsafeMutableBufferPointer { workspaces in
                  let shared = PredictorPass<T>(
                    phi: phi, inputs: inputs, out: unused, workspaces: workspaces, slots: slots,
                    losses: losses,
                    targets: targets)
                  Self.run(chunks: chunks, threads: threads) { thread, c in
                    let range = (c * chunk)..<min(total, (c + 1) * chunk)
                    let workspace = shared.workspaces.baseAddress! + thread
                    network.forward(
                      parameters: shared.phi, input: UnsafeBufferPointer(rebasing: shared.inputs[range]),
                      batch: range.count, workspace: &workspace.pointee)
                    var loss = 0.0
                    workspace.pointee.withOutputAndGradient(last, network: network) { h, upstream in
                      for (k, j) in range.enumerated() {
                        let error = h[k] - shared.targets![j]
                        loss += Double(error) * Double(error)
                        upstream[k] = factor * error
                      }
                    }
                    shared.losses![c] = loss
                    network.backward(
                      parameters: shared.phi, from: last,
                      gradient: UnsafeMutableBufferPointer(
                        rebasing: shared.slots![(c * count)..<((c + 1) * count)]),
                      workspace: &workspace.pointee)
                  }
                }
              }
            }
          }
        }
      }
    }
    var gradient = Array(slots[0..<count])
    var loss = losses[0]
    for c in 1..<chunks {
      loss += losses[c]
      for k in 0..<count { gradient[k] += slots[c * count + k] }
    }
    return (loss / Double(inputs.count), gradient)
  }

  /// Calls `body(thread, chunk)` for every chunk: thread t takes chunks t, t + T, … .
  private static func run(chunks: Int, threads: Int, _ body: @escaping @Sendable (Int, Int) -> Void) {
    let threads = min(threads, chunks)
    if threads <= 1 {
      for c in 0..<chunks { body(0, c) }
      return
    }
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
      for c in stride(from: thread, to: chunks, by: threads) { body(thread, c) }
    }
  }
}

/// What the threads of one predictor pass share; thread t uses only `workspaces[t]`, and chunk c
/// writes only its own outputs, slot and loss.
private struct PredictorPass<T: NetworkScalar>: @unchecked Sendable {
  let phi: UnsafeBufferPointer<T>
  let inputs: UnsafeBufferPointer<T>
  let out: UnsafeMutableBufferPointer<T>
  let workspaces: UnsafeMutableBufferPointer<ConvNetWorkspace<T>>
  let slots: UnsafeMutableBufferPointer<T>?
  let losses: UnsafeMutableBufferPointer<Double>?
  let targets: UnsafeBufferPointer<T>?
}
