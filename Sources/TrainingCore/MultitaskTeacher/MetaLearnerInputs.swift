/// The inputs of a layer's meta-learner at one inner step (meta-experiments.md §3.1c): for output
/// neuron j of student layer ℓ,
///
///     z_j = [ W_j (n_in) / rms(W), g_j (n_in) / rms(g), pre (C_in) / rms(pre), post_j / rms(post) ]
///
/// - W_j and g_j are the neuron's incoming weights and their gradient (a convolution's C_in·k·k,
///   a dense layer's inputs).
/// - pre is the layer's input averaged over the batch, and for a convolution also over positions,
///   per input channel (C_in values; a dense layer's C_in is its input count).
/// - post_j is the neuron's output after the ReLU that follows the layer (before any pooling;
///   through the GroupNorm and the residual add between them in a ResNet, ``postLayer(network:layer:)``),
///   averaged the same way.
/// - Each group is divided by its root mean square over the layer at this step (1 if that is 0),
///   a constant of the step (the note's choice: the paper does not say how inputs are scaled).
public enum MetaLearnerInputs {
  /// The ReLU whose output is `layer`'s post: the first after it with only shape-keeping layers
  /// (GroupNorm, a residual add) between; nil when there is none, and for layers without weights
  /// rows to steer (GroupNorm) or the last layer.
  public static func postLayer(network: ConvNet, layer: Int) -> Int? {
    switch network.layers[layer] {
    case .convolution, .dense: break
    default: return nil
    }
    var next = layer + 1
    while next < network.layers.count - 1 {
      switch network.layers[next] {
      case .relu: return next
      case .groupNorm, .residualAdd: next += 1
      default: return nil
      }
    }
    return nil
  }

  /// Inputs per neuron for student layer `layer` of `network` (a convolution or dense layer with a
  /// ``postLayer(network:layer:)``).
  public static func width(network: ConvNet, layer: Int) -> Int {
    let range = network.parameterRanges[layer]!
    return 2 * range.rowLength + preWidth(network: network, layer: layer) + 1
  }

  /// C_in: input channels of a convolution, inputs of a dense layer.
  static func preWidth(network: ConvNet, layer: Int) -> Int {
    if case .dense = network.layers[layer] { return network.inputShape(of: layer).count }
    return network.inputShape(of: layer).channels
  }

  /// z for every output neuron of `layer` (neurons × ``width(network:layer:)``), from the
  /// parameters, their gradient and the workspace of the forward pass the gradient came from.
  public static func make<T: NetworkScalar>(
    network: ConvNet, layer: Int, parameters: [T], gradient: [T], workspace: ConvNetWorkspace<T>
  ) -> [T] {
    guard let postLayer = postLayer(network: network, layer: layer) else {
      preconditionFailure("layer \(layer) is not followed by a ReLU")
    }
    let range = network.parameterRanges[layer]!
    let neurons = range.weights.count / range.rowLength
    let batch = workspace.batch
    // pre: the layer's input, averaged per channel (or per unit for a dense layer).
    let inputShape = network.inputShape(of: layer)
    let input =
      layer == 0
      ? workspace.input(count: batch * inputShape.count) : workspace.output(layer - 1, network: network)
    let preWidth = preWidth(network: network, layer: layer)
    let perPre = inputShape.count / preWidth
    var pre = [T](repeating: 0, count: preWidth)
    for n in 0..<batch {
      for c in 0..<preWidth {
        var sum: T = 0
        let start = input.startIndex + n * inputShape.count + c * perPre
        for k in start..<(start + perPre) { sum += input[k] }
        pre[c] += sum
      }
    }
    for c in 0..<preWidth { pre[c] /= T(batch * perPre) }
    // post: the ReLU's output, averaged per output channel or unit.
    let output = workspace.output(postLayer, network: network)
    let outputShape = network.shapes[postLayer]
    var post = [T](repeating: 0, count: neurons)
    for n in 0..<batch {
      for j in 0..<neurons {
        var sum: T = 0
        let start = output.startIndex + n * outputShape.count + j * outputShape.positions
        for k in start..<(start + outputShape.positions) { sum += output[k] }
        post[j] += sum
      }
    }
    for j in 0..<neurons { post[j] /= T(batch * outputShape.positions) }
    let weights = parameters[range.weights]
    let grads = gradient[range.weights]
    let (wScale, gScale, preScale, postScale) = (
      inverseRMS(weights), inverseRMS(grads), inverseRMS(pre[...]), inverseRMS(post[...])
    )
    let width = 2 * range.rowLength + preWidth + 1
    var z = [T](repeating: 0, count: neurons * width)
    for j in 0..<neurons {
      let row = j * width
      let source = range.weights.lowerBound + j * range.rowLength
      for k in 0..<range.rowLength {
        z[row + k] = parameters[source + k] * wScale
        z[row + range.rowLength + k] = gradient[source + k] * gScale
      }
      for c in 0..<preWidth { z[row + 2 * range.rowLength + c] = pre[c] * preScale }
      z[row + width - 1] = post[j] * postScale
    }
    return z
  }

  /// Inputs per channel of a GroupNorm layer's meta-learner: [γ_c, β_c, ∂γ_c, ∂β_c].
  public static let groupNormWidth = 4

  /// z for every channel of GroupNorm layer `layer` (channels × ``groupNormWidth``): the channel's
  /// scale and shift, divided by the root mean square of all the layer's γ and β, and their
  /// gradient, divided by its own (the note's "per-channel input [param, grad]", with the group
  /// scaling of the other layers' inputs).
  public static func makeGroupNorm<T: NetworkScalar>(
    network: ConvNet, layer: Int, parameters: [T], gradient: [T]
  ) -> [T] {
    let range = network.parameterRanges[layer]!
    let all = range.weights.lowerBound..<range.biases.upperBound
    let (pScale, gScale) = (inverseRMS(parameters[all]), inverseRMS(gradient[all]))
    var z = [T](repeating: 0, count: range.weights.count * groupNormWidth)
    for (c, (gamma, beta)) in zip(range.weights, range.biases).enumerated() {
      let row = c * groupNormWidth
      z[row] = parameters[gamma] * pScale
      z[row + 1] = parameters[beta] * pScale
      z[row + 2] = gradient[gamma] * gScale
      z[row + 3] = gradient[beta] * gScale
    }
    return z
  }

  /// 1 / √(mean of squares), or 1 when every value is 0.
  static func inverseRMS<T: NetworkScalar>(_ values: ArraySlice<T>) -> T {
    var sum: T = 0
    for x in values { sum += x * x }
    guard sum > 0 else { return 1 }
    return 1 / (sum / T(values.count)).squareRoot()
  }
}

/// The feature-matching loss of the multi-task-teacher paper (meta-experiments.md §3.1d):
/// L = c · mean over batch × features of Huber_δ(r_student − r_teacher), with
/// Huber_δ(e) = e²/2 for |e| ≤ δ, δ·(|e| − δ/2) beyond (δ = 1, c = 300 in the paper's setting).
public enum FeatureMatchingLoss {
  /// The loss, and ∂L/∂r_student written into `gradient` (same layout as the features).
  public static func loss<T: NetworkScalar>(
    student: some Collection<T>, teacher: some Collection<T>, scale: Double, huber: Double,
    gradient: UnsafeMutableBufferPointer<T>?
  ) -> Double {
    precondition(student.count == teacher.count && student.count > 0)
    let count = Double(student.count)
    var total = 0.0
    for (k, (s, t)) in zip(student, teacher).enumerated() {
      let e = Double(s) - Double(t)
      let inside = abs(e) <= huber
      total += inside ? e * e / 2 : huber * (abs(e) - huber / 2)
      gradient?[k] = T(scale / count * (inside ? e : (e > 0 ? huber : -huber)))
    }
    return scale * total / count
  }
}
