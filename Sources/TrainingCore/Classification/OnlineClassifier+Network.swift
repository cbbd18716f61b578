extension OnlineClassifier {
  /// The current version of ``networkBytes()``.
  public static let networkVersion: UInt16 = 1

  /// The network's weights as bytes, for a later run to load (an artifact): a ``VersionedBinary``
  /// record "MSCN" whose payload is inputs, hidden units and classes (u64 each), then U (inputs ×
  /// hidden, row-major), the hidden biases, W (hidden × classes, row-major) and the output biases,
  /// each as a count (u64) and `Float` bits. The update rule and its state are not part of it: the
  /// run that loads a network chooses its own.
  public func networkBytes() -> [UInt8] {
    let weights = [inputWeights, hiddenBiases, outputWeights, outputBiases]
    var payload: [UInt8] = []
    payload.reserveCapacity(24 + 8 * weights.count + 4 * weights.reduce(0) { $0 + $1.count })
    for dimension in [settings.inputs, settings.hiddenUnits, settings.classes] {
      VersionedBinary.append(UInt64(dimension), to: &payload)
    }
    for vector in weights { VersionedBinary.append(vector, to: &payload) }
    return VersionedBinary.frame(magic: "MSCN", version: Self.networkVersion, payload: payload)
  }

  /// A classifier with the weights of `bytes` (``networkBytes()``) and `settings`' update rule, its
  /// optimiser state fresh; its inputs, hidden units and classes are the network's.
  ///
  /// - Throws: ``BinaryFormatError`` for truncated, corrupted or foreign bytes, or a network whose
  ///   arrays do not fit its dimensions.
  public init(network bytes: [UInt8], settings: OnlineClassifierSettings) throws {
    var reader = VersionedBinary.Reader(
      bytes: try VersionedBinary.payload(
        of: bytes, magic: "MSCN", version: Self.networkVersion, what: "a network"))
    let inputs = try reader.integer(bytes: 8)
    let hidden = try reader.integer(bytes: 8)
    let classes = try reader.integer(bytes: 8)
    let (u, b, w, o) = (try reader.floats(), try reader.floats(), try reader.floats(), try reader.floats())
    guard reader.isAtEnd, inputs >= 1, hidden >= 1, classes >= 2, inputs <= 1 << 24, hidden <= 1 << 24,
      classes <= 1 << 16, UInt64(u.count) == inputs * hidden, UInt64(b.count) == hidden,
      UInt64(w.count) == hidden * classes, UInt64(o.count) == classes
    else {
      throw BinaryFormatError(
        code: .malformed, message: "The network's arrays do not fit its \(inputs)-\(hidden)-\(classes) shape."
      )
    }
    var settings = settings
    (settings.inputs, settings.hiddenUnits, settings.classes) = (Int(inputs), Int(hidden), Int(classes))
    self.init(settings: settings, inputWeights: u, hiddenBiases: b, outputWeights: w, outputBiases: o)
  }
}
