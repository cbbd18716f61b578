/// A ``ConvNet`` with its parameters as one record (the artifact `network` of `convnet-pretrain`,
/// the checkpoints the multi-task-teacher paper's later stages start from): the architecture
/// travels with the weights, so a reader needs nothing else to rebuild the network.
///
/// Payload, framed by ``VersionedBinary`` with magic "MSCV": the input's channels, height and
/// width (u64 each); the layer count; per layer a kind code and four u64 arguments (convolution:
/// channels, kernel, stride, padding; dense: outputs; GroupNorm: groups; others 0); then the
/// parameters as a count and `Float` bits.
extension ConvNet {
  static let binaryVersion: UInt16 = 1

  /// The record of this network with `parameters`.
  public func binaryEncoded(parameters: [Float]) -> [UInt8] {
    precondition(parameters.count == parameterCount)
    var payload: [UInt8] = []
    payload.reserveCapacity(40 + 40 * layers.count + 8 + 4 * parameters.count)
    for value in [input.channels, input.height, input.width, layers.count] {
      VersionedBinary.append(UInt64(value), to: &payload)
    }
    for layer in layers {
      let fields: [Int] =
        switch layer {
        case .convolution(let channels, let kernel, let stride, let padding):
          [1, channels, kernel, stride, padding]
        case .dense(let outputs): [2, outputs, 0, 0, 0]
        case .relu: [3, 0, 0, 0, 0]
        case .maxPool: [4, 0, 0, 0, 0]
        case .groupNorm(let groups): [5, groups, 0, 0, 0]
        case .globalAveragePool: [6, 0, 0, 0, 0]
        case .residualStart: [7, 0, 0, 0, 0]
        case .residualAdd: [8, 0, 0, 0, 0]
        }
      for field in fields { VersionedBinary.append(UInt64(field), to: &payload) }
    }
    VersionedBinary.append(parameters, to: &payload)
    return VersionedBinary.frame(magic: "MSCV", version: Self.binaryVersion, payload: payload)
  }

  /// The network and parameters of a record made by ``binaryEncoded(parameters:)``.
  ///
  /// - Throws: ``BinaryFormatError`` for truncated, damaged or foreign bytes, an architecture that
  ///   cannot be built, or parameters that do not fit it.
  public static func decode(_ bytes: [UInt8]) throws(BinaryFormatError) -> (
    network: ConvNet, parameters: [Float]
  ) {
    var reader = VersionedBinary.Reader(
      bytes: try VersionedBinary.payload(of: bytes, magic: "MSCV", version: binaryVersion, what: "a network"))
    func small() throws(BinaryFormatError) -> Int {
      let value = try reader.integer(bytes: 8)
      guard value <= 1 << 24 else {
        throw BinaryFormatError(code: .malformed, message: "A dimension of \(value) is not a network's.")
      }
      return Int(value)
    }
    let input = TensorShape(channels: try small(), height: try small(), width: try small())
    let count = try small()
    var layers: [ConvNetLayer] = []
    for _ in 0..<count {
      let (kind, a, b, c, d) = (try small(), try small(), try small(), try small(), try small())
      switch kind {
      case 1: layers.append(.convolution(channels: a, kernel: b, stride: c, padding: d))
      case 2: layers.append(.dense(outputs: a))
      case 3: layers.append(.relu)
      case 4: layers.append(.maxPool)
      case 5: layers.append(.groupNorm(groups: a))
      case 6: layers.append(.globalAveragePool)
      case 7: layers.append(.residualStart)
      case 8: layers.append(.residualAdd)
      default: throw BinaryFormatError(code: .malformed, message: "Layer kind \(kind) is unknown.")
      }
    }
    let network: ConvNet
    do {
      network = try ConvNet(input: input, layers: layers)
    } catch {
      throw BinaryFormatError(code: .malformed, message: "The architecture cannot be built: \(error)")
    }
    let parameters = try reader.floats()
    guard parameters.count == network.parameterCount, reader.isAtEnd else {
      throw BinaryFormatError(
        code: .malformed,
        message:
          "\(parameters.count) parameters, or bytes left over, for a network of \(network.parameterCount).")
    }
    return (network, parameters)
  }
}
