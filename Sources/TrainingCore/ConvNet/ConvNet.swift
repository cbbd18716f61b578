/// The shape of one example's tensor between two layers: channels × height × width, stored in that
/// order (a dense layer's output is `outputs` × 1 × 1).
public struct TensorShape: Sendable, Hashable, CustomStringConvertible {
  public var channels: Int
  public var height: Int
  public var width: Int

  public init(channels: Int, height: Int, width: Int) {
    self.channels = channels
    self.height = height
    self.width = width
  }

  /// Values per example.
  public var count: Int { channels * height * width }
  /// Positions per channel.
  public var positions: Int { height * width }
  public var description: String { "\(channels)×\(height)×\(width)" }
}

/// One layer of a ``ConvNet``. Its input is the previous layer's output (the network's input for
/// the first), x[n, c, i, j] for example n.
public enum ConvNetLayer: Sendable, Hashable {
  /// y[n, o, i, j] = b[o] + Σ_{c,u,v} W[o, c, u, v]·x[n, c, s·i + u − p, s·j + v − p], zero outside
  /// the image: `channels` output channels, a `kernel` × `kernel` window, stride s, padding p.
  /// W is stored [o][c][u][v], so output channel o's row has C_in·k·k weights.
  case convolution(channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0)
  /// y[n, o] = b[o] + Σ_i W[o, i]·x[n, i] over the flattened input (C·H·W order). W is [o][i].
  case dense(outputs: Int)
  /// y = max(0, x).
  case relu
  /// 2 × 2 max-pooling, stride 2 (an odd last row or column is dropped); ties go to the first of
  /// the window in row-major order.
  case maxPool
  /// GroupNorm (Wu and He 2018): the channels are cut into `groups` groups; each example's group is
  /// normalised by its own mean and variance (biased, ε = 1e-5), then y = γ_c·x̂ + β_c per channel.
  /// γ is stored where other layers store W, β where they store b.
  case groupNorm(groups: Int)
  /// Mean over each channel's positions: C × H × W → C × 1 × 1.
  case globalAveragePool
  /// y = x, kept as the shortcut of the residual block that the next unmatched ``residualAdd``
  /// closes.
  case residualStart
  /// y = x + shortcut(s), s being the output of this block's ``residualStart``: s itself when the
  /// shapes agree, otherwise He et al.'s option A (the CIFAR ResNets' parameter-free shortcut):
  /// shortcut[c, i, j] = s[c, t·i, t·j] for the s's channels and 0 for the channels added, with
  /// stride t = s's height / y's height (1 or 2).
  case residualAdd

  /// Whether the layer has parameters (weights, then biases).
  public var hasParameters: Bool {
    switch self {
    case .convolution, .dense, .groupNorm: true
    case .relu, .maxPool, .globalAveragePool, .residualStart, .residualAdd: false
    }
  }
}

/// Why a network cannot be built.
public struct ConvNetError: Error, Sendable, Equatable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// A feed-forward network of ``ConvNetLayer``s over image batches: the student and teacher of
/// the multi-task-teacher paper (meta-experiments.md §3.1b) and the classifiers built on it.
///
/// - A network is its input shape and its layers; every layer's output shape and its slice of one
///   flat parameter vector follow from them (``parameterRanges``). Weights come first in a
///   layer's slice, biases after, so one output neuron's incoming weights are one contiguous row.
/// - Forward and backward passes are static functions of the parameters, the batch and a
///   ``ConvNetWorkspace`` that holds every activation; they allocate nothing
///   (``ConvNet+Forward.swift``, ``ConvNet+Backward.swift``).
/// - Convolutions are im2col and one matrix product per example (OpenBLAS), dense layers one
///   product per batch; every sum runs in a fixed order, so a pass is a pure function of its inputs.
public struct ConvNet: Sendable, Hashable {
  /// The shape of one input example.
  public let input: TensorShape
  /// The layers, input to output.
  public let layers: [ConvNetLayer]
  /// The output shape of each layer.
  public let shapes: [TensorShape]
  /// Each layer's weights and biases in the flat parameter vector (`nil` for layers without).
  public let parameterRanges: [LayerParameters?]
  /// Parameters in all.
  public let parameterCount: Int
  /// For each ``ConvNetLayer/residualAdd`` the index of its ``ConvNetLayer/residualStart``, and
  /// for each start the index of its add (nil for other layers).
  public let residualPartners: [Int?]

  /// Where one layer's parameters lie in the flat vector.
  public struct LayerParameters: Sendable, Hashable {
    /// The weights (γ for GroupNorm), row-major with one row per output channel or neuron.
    public var weights: Range<Int>
    /// The biases (β for GroupNorm), one per output channel or neuron.
    public var biases: Range<Int>
    /// Weights per row: the fan-in of an output neuron (C_in·k·k, inputs, or 1 for GroupNorm).
    public var rowLength: Int
  }

  public init(input: TensorShape, layers: [ConvNetLayer]) throws(ConvNetError) {
    guard input.channels >= 1, input.height >= 1, input.width >= 1 else {
      throw ConvNetError("the input shape \(input) has an empty side")
    }
    var shape = input
    var shapes: [TensorShape] = []
    var ranges: [LayerParameters?] = []
    var offset = 0
    var partners = [Int?](repeating: nil, count: layers.count)
    var openBlocks: [Int] = []
    for (index, layer) in layers.enumerated() {
      let name = "layer \(index) (\(layer))"
      var parameters: LayerParameters?
      switch layer {
      case .residualStart:
        openBlocks.append(index)
      case .residualAdd:
        guard let start = openBlocks.popLast() else {
          throw ConvNetError("\(name): no residualStart before it opens a block")
        }
        let skip = shapes[start]
        let stride = skip.height / max(shape.height, 1)
        guard skip.channels <= shape.channels, stride == 1 || stride == 2,
          skip.height == stride * shape.height,
          skip.width == stride * shape.width
        else {
          throw ConvNetError(
            "\(name): the block's output \(shape) cannot take its input \(skip) as a shortcut (channels may grow, "
              + "sides may halve)")
        }
        partners[index] = start
        partners[start] = index
      case .convolution(let channels, let kernel, let stride, let padding):
        guard channels >= 1, kernel >= 1, stride >= 1, padding >= 0 else {
          throw ConvNetError("\(name): channels, kernel and stride must be at least 1, padding at least 0")
        }
        let height = (shape.height + 2 * padding - kernel) / stride + 1
        let width = (shape.width + 2 * padding - kernel) / stride + 1
        guard shape.height + 2 * padding >= kernel, shape.width + 2 * padding >= kernel else {
          throw ConvNetError("\(name): a \(kernel)×\(kernel) kernel does not fit the input \(shape)")
        }
        let rowLength = shape.channels * kernel * kernel
        parameters = LayerParameters(
          weights: offset..<(offset + channels * rowLength),
          biases: (offset + channels * rowLength)..<(offset + channels * rowLength + channels),
          rowLength: rowLength)
        shape = TensorShape(channels: channels, height: height, width: width)
      case .dense(let outputs):
        guard outputs >= 1 else { throw ConvNetError("\(name): a dense layer needs at least 1 output") }
        let rowLength = shape.count
        parameters = LayerParameters(
          weights: offset..<(offset + outputs * rowLength),
          biases: (offset + outputs * rowLength)..<(offset + outputs * rowLength + outputs),
          rowLength: rowLength)
        shape = TensorShape(channels: outputs, height: 1, width: 1)
      case .relu:
        break
      case .maxPool:
        guard shape.height >= 2, shape.width >= 2 else {
          throw ConvNetError("\(name): 2×2 max-pooling needs an input of at least 2×2, not \(shape)")
        }
        shape = TensorShape(channels: shape.channels, height: shape.height / 2, width: shape.width / 2)
      case .groupNorm(let groups):
        guard groups >= 1, shape.channels % groups == 0 else {
          throw ConvNetError("\(name): \(shape.channels) channels cannot be cut into \(groups) equal groups")
        }
        parameters = LayerParameters(
          weights: offset..<(offset + shape.channels),
          biases: (offset + shape.channels)..<(offset + 2 * shape.channels), rowLength: 1)
      case .globalAveragePool:
        shape = TensorShape(channels: shape.channels, height: 1, width: 1)
      }
      if let parameters { offset = parameters.biases.upperBound }
      ranges.append(parameters)
      shapes.append(shape)
    }
    guard !layers.isEmpty else { throw ConvNetError("a network needs at least one layer") }
    if let unclosed = openBlocks.first {
      throw ConvNetError("layer \(unclosed) (residualStart) opens a block no residualAdd closes")
    }
    self.residualPartners = partners
    self.input = input
    self.layers = layers
    self.shapes = shapes
    self.parameterRanges = ranges
    self.parameterCount = offset
  }

  /// The shape of layer `index`'s input.
  public func inputShape(of index: Int) -> TensorShape { index == 0 ? input : shapes[index - 1] }

  /// The output shape of the last layer.
  public var output: TensorShape { shapes[shapes.count - 1] }

  /// Initial parameters: a convolution's or dense layer's weights and biases U(−1/√fan-in,
  /// 1/√fan-in), as PyTorch initialises them (the paper's LeNet and ResNet came from PyTorch);
  /// GroupNorm γ = 1, β = 0. Layer l draws from stream "init" with index l of `seed`, weights in
  /// storage order, then biases, each in `Double` rounded to `T`.
  public func initialParameters<T: NetworkScalar>(seed: UInt64, as: T.Type = T.self) -> [T] {
    var parameters = [T](repeating: 0, count: parameterCount)
    for (index, layer) in layers.enumerated() {
      guard let range = parameterRanges[index] else { continue }
      if case .groupNorm = layer {
        for k in range.weights { parameters[k] = 1 }
        continue
      }
      let bound = 1 / Double(range.rowLength).squareRoot()
      var random = RandomStream(rootSeed: seed, stream: "init", indices: [UInt64(index)])
      for k in range.weights.lowerBound..<range.biases.upperBound {
        parameters[k] = T((2 * random.uniformDouble() - 1) * bound)
      }
    }
    return parameters
  }
}

extension ConvNet {
  /// The smoke student of meta-experiments.md §3.2: conv 5×5 1→6, ReLU, pool, conv 5×5 6→12, ReLU,
  /// pool, dense → 64 (ReLU: the representation r), dense → `classes`. Its layer 7 is r.
  public static func smokeLeNet(input: TensorShape = .init(channels: 1, height: 28, width: 28), classes: Int)
    throws(ConvNetError) -> ConvNet
  {
    try ConvNet(
      input: input,
      layers: [
        .convolution(channels: 6, kernel: 5), .relu, .maxPool, .convolution(channels: 12, kernel: 5), .relu,
        .maxPool, .dense(outputs: 64), .relu, .dense(outputs: classes),
      ])
  }

  /// The ResNet-8 with GroupNorm of meta-experiments.md §3.2's smoke column (CIFAR-shaped, the
  /// paper's ResNet-32-GN in small): ``resNetGN(input:classes:blocks:widths:groups:)`` with one
  /// block per stage of 8, 16 and 32 channels, and 4 groups.
  public static func resNet8GN(input: TensorShape = .init(channels: 3, height: 16, width: 16), classes: Int)
    throws(ConvNetError) -> ConvNet
  {
    try resNetGN(input: input, classes: classes, blocks: 1, widths: [8, 16, 32], groups: 4)
  }

  /// The paper's CIFAR network (§3.1b): He et al.'s ResNet-32 (5 blocks per stage of 16, 32 and 64
  /// channels) with every BatchNorm replaced by GroupNorm of 8 groups.
  public static func resNet32GN(input: TensorShape = .init(channels: 3, height: 32, width: 32), classes: Int)
    throws(ConvNetError) -> ConvNet
  {
    try resNetGN(input: input, classes: classes, blocks: 5, widths: [16, 32, 64], groups: 8)
  }

  /// He et al.'s CIFAR ResNet with GroupNorm: conv 3×3 → widths[0], GN, ReLU; then per stage
  /// `blocks` basic blocks (conv 3×3, GN, ReLU, conv 3×3, GN, + shortcut, ReLU) of its width, every
  /// stage after the first starting with stride 2 and an option-A shortcut; global average pool
  /// (the representation r, layer count − 2) and dense → `classes`. GroupNorm uses `groups` groups.
  public static func resNetGN(input: TensorShape, classes: Int, blocks: Int, widths: [Int], groups: Int)
    throws(ConvNetError) -> ConvNet
  {
    var layers: [ConvNetLayer] = [
      .convolution(channels: widths[0], kernel: 3, padding: 1), .groupNorm(groups: groups), .relu,
    ]
    for (stage, channels) in widths.enumerated() {
      for block in 0..<blocks {
        let stride = stage > 0 && block == 0 ? 2 : 1
        layers += [
          .residualStart, .convolution(channels: channels, kernel: 3, stride: stride, padding: 1),
          .groupNorm(groups: groups), .relu, .convolution(channels: channels, kernel: 3, padding: 1),
          .groupNorm(groups: groups), .residualAdd, .relu,
        ]
      }
    }
    layers += [.globalAveragePool, .dense(outputs: classes)]
    return try ConvNet(input: input, layers: layers)
  }

  /// The paper's LeNet "[20, 50, 500, 10]" (§3.1b): conv 5×5 1→20, ReLU, pool, conv 5×5 20→50,
  /// ReLU, pool, dense 800 → 500 (ReLU: r), dense → `classes`. Its layer 7 is r.
  public static func paperLeNet(input: TensorShape = .init(channels: 1, height: 28, width: 28), classes: Int)
    throws(ConvNetError) -> ConvNet
  {
    try ConvNet(
      input: input,
      layers: [
        .convolution(channels: 20, kernel: 5), .relu, .maxPool, .convolution(channels: 50, kernel: 5), .relu,
        .maxPool, .dense(outputs: 500), .relu, .dense(outputs: classes),
      ])
  }
}
