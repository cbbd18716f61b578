/// Every buffer a ``ConvNet``'s forward and backward passes use, for batches of up to
/// `batchCapacity` examples; made once, reused by every pass.
///
/// After a forward pass, ``output(_:)`` is layer l's output for the batch (example-major, each
/// example in C × H × W order). A backward pass from layer l reads the loss's gradient with
/// respect to that output (``setOutputGradient(_:_:)`` or ``withOutputGradient(_:_:)``) and leaves
/// each lower layer's in place.
///
/// The buffers are slices of one slab, so a pass takes one pointer and needs no exclusive access
/// to several arrays at once.
public struct ConvNetWorkspace<T: NetworkScalar>: Sendable {
  /// The largest batch the buffers hold.
  public let batchCapacity: Int
  /// Examples in the last forward pass.
  public internal(set) var batch = 0
  var slab: [T]
  /// A max-pool's chosen input position (index within its example) per output value.
  var choices: [Int32]
  let offsets: Offsets

  /// Where each buffer starts in `slab` (or `choices`), per layer.
  struct Offsets: Sendable {
    var input = 0
    var outputs: [Int] = []
    var outputGradients: [Int] = []
    /// A convolution's im2col matrix per example (C_in·k·k × H_out·W_out), kept for its backward.
    var columns: [Int] = []
    /// Scratch for one example's column gradient, as long as the longest convolution's columns.
    var columnGradient = 0
    /// GroupNorm's x̂ per value, then 1/σ per (example, group).
    var normalized: [Int] = []
    var inverseDeviations: [Int] = []
    /// In `choices`: a max-pool's per output value.
    var poolChoices: [Int] = []
    /// A residual block's shortcut gradient, at its start: ∂loss/∂s through the shortcut alone.
    var skipGradients: [Int] = []
  }

  public init(network: ConvNet, batchCapacity: Int) {
    precondition(batchCapacity >= 1)
    self.batchCapacity = batchCapacity
    var offsets = Offsets()
    var size = batchCapacity * network.input.count
    var choiceCount = 0
    func take(_ count: Int) -> Int {
      defer { size += count }
      return size
    }
    var longestColumns = 0
    for (index, layer) in network.layers.enumerated() {
      let output = network.shapes[index]
      offsets.outputs.append(take(batchCapacity * output.count))
      offsets.outputGradients.append(take(batchCapacity * output.count))
      offsets.columns.append(size)
      offsets.normalized.append(size)
      offsets.inverseDeviations.append(size)
      offsets.poolChoices.append(choiceCount)
      offsets.skipGradients.append(size)
      switch layer {
      case .residualStart:
        offsets.skipGradients[index] = take(batchCapacity * output.count)
      case .convolution:
        let columns = network.parameterRanges[index]!.rowLength * output.positions
        offsets.columns[index] = take(batchCapacity * columns)
        longestColumns = max(longestColumns, columns)
      case .maxPool:
        choiceCount += batchCapacity * output.count
      case .groupNorm(let groups):
        offsets.normalized[index] = take(batchCapacity * output.count)
        offsets.inverseDeviations[index] = take(batchCapacity * groups)
      case .dense, .relu, .globalAveragePool, .residualAdd:
        break
      }
    }
    offsets.columnGradient = take(longestColumns)
    self.offsets = offsets
    slab = [T](repeating: 0, count: size)
    choices = [Int32](repeating: 0, count: choiceCount)
  }

  /// The input of the last forward pass (`batch` examples).
  public func input(count: Int) -> ArraySlice<T> { slab[offsets.input..<(offsets.input + count)] }

  /// Layer `layer`'s output for the last forward pass: `batch` × the layer's shape.
  public func output(_ layer: Int, network: ConvNet) -> ArraySlice<T> {
    let start = offsets.outputs[layer]
    return slab[start..<(start + batch * network.shapes[layer].count)]
  }

  /// ∂loss/∂(layer `layer`'s output) as the last backward pass left it (or as it was set).
  public func outputGradient(_ layer: Int, network: ConvNet) -> ArraySlice<T> {
    let start = offsets.outputGradients[layer]
    return slab[start..<(start + batch * network.shapes[layer].count)]
  }

  /// Lets `body` read layer `layer`'s output (logits, say) and write ∂loss/∂(that output) in one
  /// access, without copying either.
  public mutating func withOutputAndGradient<R>(
    _ layer: Int, network: ConvNet,
    _ body: (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) throws -> R
  ) rethrows -> R {
    let (output, gradient) = (offsets.outputs[layer], offsets.outputGradients[layer])
    let count = batch * network.shapes[layer].count
    return try slab.withUnsafeMutableBufferPointer { slab in
      try body(
        UnsafeBufferPointer(rebasing: slab[output..<(output + count)]),
        UnsafeMutableBufferPointer(rebasing: slab[gradient..<(gradient + count)]))
    }
  }

  /// Lets `body` write ∂loss/∂(layer `layer`'s output) for the last forward pass's batch, read by
  /// a backward pass from that layer.
  public mutating func withOutputGradient<R>(
    _ layer: Int, network: ConvNet, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
  ) rethrows -> R {
    let start = offsets.outputGradients[layer]
    let count = batch * network.shapes[layer].count
    return try slab.withUnsafeMutableBufferPointer { slab in
      try body(UnsafeMutableBufferPointer(rebasing: slab[start..<(start + count)]))
    }
  }
}
