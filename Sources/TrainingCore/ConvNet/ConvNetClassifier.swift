/// SGD with momentum as PyTorch's `torch.optim.SGD` takes it (no dampening, no Nesterov, no weight
/// decay): v ← μ·v + g, θ ← θ − α·v, with v = 0 before the first step (the first step is θ − α·g).
public struct MomentumSGD: Sendable, Equatable {
  /// The step size α.
  public var learningRate: Float
  /// The momentum μ (0: plain SGD, and no velocity is kept).
  public var momentum: Float

  public init(learningRate: Float, momentum: Float) {
    self.learningRate = learningRate
    self.momentum = momentum
  }

  /// One step of every parameter; `velocity` has one entry per parameter (ignored when μ = 0).
  public func step(
    parameters: UnsafeMutableBufferPointer<Float>, velocity: UnsafeMutableBufferPointer<Float>,
    gradient: UnsafeBufferPointer<Float>
  ) {
    precondition(parameters.count == gradient.count)
    if momentum == 0 {
      for k in parameters.indices { parameters[k] -= learningRate * gradient[k] }
      return
    }
    precondition(velocity.count == parameters.count)
    for k in parameters.indices {
      velocity[k] = momentum * velocity[k] + gradient[k]
      parameters[k] -= learningRate * velocity[k]
    }
  }
}

/// A ``ConvNet`` classifier trained on minibatches by ``MomentumSGD`` on the mean softmax
/// cross-entropy: the pretraining of the multi-task-teacher paper's networks (task A: SGD 0.01,
/// momentum 0.5, batch 64 for the LeNet; meta-experiments.md §3.1b) and its SGD baselines.
public struct ConvNetClassifier: Sendable {
  /// The network.
  public let network: ConvNet
  /// Its parameters.
  public var parameters: [Float]
  /// The optimiser's velocity, one per parameter.
  public var velocity: [Float]
  /// The optimiser.
  public var optimizer: MomentumSGD
  /// Minibatch steps taken.
  public private(set) var steps = 0
  private var workspace: ConvNetWorkspace<Float>
  private var gradient: [Float]

  /// A classifier from `parameters` (the network's initialisation for `seed` if `nil`), batches of
  /// up to `batchCapacity` examples.
  public init(
    network: ConvNet, parameters: [Float]? = nil, seed: UInt64, optimizer: MomentumSGD, batchCapacity: Int
  ) {
    self.network = network
    self.parameters = parameters ?? network.initialParameters(seed: seed)
    precondition(self.parameters.count == network.parameterCount)
    velocity = [Float](repeating: 0, count: network.parameterCount)
    self.optimizer = optimizer
    workspace = ConvNetWorkspace(network: network, batchCapacity: batchCapacity)
    gradient = [Float](repeating: 0, count: network.parameterCount)
  }

  /// One step on a minibatch (`labels.count` images, pixels in [0, 1], example-major); returns the
  /// minibatch's mean loss before the step.
  @discardableResult
  public mutating func step(images: UnsafeBufferPointer<Float>, labels: UnsafeBufferPointer<Int32>) -> Double
  {
    let network = self.network
    let last = network.layers.count - 1
    let batch = labels.count
    parameters.withUnsafeBufferPointer { parameters in
      network.forward(parameters: parameters, input: images, batch: batch, workspace: &workspace)
    }
    let loss = workspace.withOutputAndGradient(last, network: network) { logits, out in
      SoftmaxCrossEntropy.loss(logits: logits, labels: labels, classes: network.output.count, gradient: out)
    }
    parameters.withUnsafeBufferPointer { parameters in
      gradient.withUnsafeMutableBufferPointer { gradient in
        network.backward(parameters: parameters, from: last, gradient: gradient, workspace: &workspace)
      }
    }
    parameters.withUnsafeMutableBufferPointer { parameters in
      velocity.withUnsafeMutableBufferPointer { velocity in
        gradient.withUnsafeBufferPointer { gradient in
          optimizer.step(parameters: parameters, velocity: velocity, gradient: gradient)
        }
      }
    }
    steps += 1
    return loss
  }

  /// Layer `layer`'s outputs (the logits by default) for `count` images, in batches of the
  /// workspace's capacity: count × the layer's size, example-major.
  public mutating func outputs(of layer: Int? = nil, images: UnsafeBufferPointer<Float>, count: Int)
    -> [Float]
  {
    let layer = layer ?? network.layers.count - 1
    let size = network.shapes[layer].count
    let pixels = network.input.count
    precondition(images.count >= count * pixels)
    var out = [Float](repeating: 0, count: count * size)
    var start = 0
    while start < count {
      let batch = min(workspace.batchCapacity, count - start)
      let slice = UnsafeBufferPointer(rebasing: images[(start * pixels)..<((start + batch) * pixels)])
      parameters.withUnsafeBufferPointer { parameters in
        network.forward(
          parameters: parameters, input: slice, batch: batch, through: layer, workspace: &workspace)
      }
      out.replaceSubrange(
        (start * size)..<((start + batch) * size), with: workspace.output(layer, network: network))
      start += batch
    }
    return out
  }
}
