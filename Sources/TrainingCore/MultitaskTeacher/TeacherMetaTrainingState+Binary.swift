extension TeacherMetaTrainingState {
  static let binaryVersion: UInt16 = 1

  /// The state as a record (the chained run's checkpoint, and the artifact `meta_state`), framed by
  /// ``VersionedBinary`` with magic "MSTM". Payload, integers u64 and `Double`s as their bits:
  /// episodes, inner steps, episode, step in episode, the loss sum; the layer count, then each
  /// layer's θ, Adam mean and mean square (count + `Float` bits); the student and the teacher;
  /// the state count, then per state its LSTM layer count and each layer's h and c; the three
  /// per-episode curves (count + `Double` bits).
  public func binaryEncoded() -> [UInt8] {
    var payload: [UInt8] = []
    for value in [
      UInt64(episodeCount), UInt64(innerSteps), UInt64(episode), UInt64(stepInEpisode), lossSum.bitPattern,
    ] {
      VersionedBinary.append(value, to: &payload)
    }
    VersionedBinary.append(UInt64(meta.count), to: &payload)
    for l in meta.indices {
      for vector in [meta[l], adamMean[l], adamMeanSquare[l]] { VersionedBinary.append(vector, to: &payload) }
    }
    VersionedBinary.append(student, to: &payload)
    VersionedBinary.append(teacher, to: &payload)
    VersionedBinary.append(UInt64(states.count), to: &payload)
    for state in states {
      VersionedBinary.append(UInt64(state.h.count), to: &payload)
      for l in state.h.indices {
        VersionedBinary.append(state.h[l], to: &payload)
        VersionedBinary.append(state.c[l], to: &payload)
      }
    }
    for curve in [episodeSteps, episodeFinalLoss, episodeMeanLoss] {
      VersionedBinary.append(UInt64(curve.count), to: &payload)
      for x in curve { VersionedBinary.append(x.bitPattern, to: &payload) }
    }
    return VersionedBinary.frame(magic: "MSTM", version: Self.binaryVersion, payload: payload)
  }

  /// Decodes ``binaryEncoded()`` bytes and checks them against `step`'s meta-learner shapes.
  ///
  /// - Throws: ``BinaryFormatError`` for truncated, damaged or foreign bytes, or a state made for
  ///   other meta-learners.
  public init(binary bytes: [UInt8], step: TeacherGuidedStep<Float>) throws(BinaryFormatError) {
    var r = VersionedBinary.Reader(
      bytes: try VersionedBinary.payload(
        of: bytes, magic: "MSTM", version: Self.binaryVersion, what: "a teacher meta-training state"))
    func int() throws(BinaryFormatError) -> Int {
      let value = try r.integer(bytes: 8)
      guard value < 1 << 40 else {
        throw BinaryFormatError(code: .malformed, message: "A count of \(value).")
      }
      return Int(value)
    }
    episodeCount = try int()
    innerSteps = try int()
    episode = try int()
    stepInEpisode = try int()
    lossSum = Double(bitPattern: try r.integer(bytes: 8))
    let layers = try int()
    guard layers == step.shapes.count else {
      throw BinaryFormatError(code: .malformed, message: "\(layers) meta-learners, not \(step.shapes.count).")
    }
    (meta, adamMean, adamMeanSquare) = ([], [], [])
    for l in 0..<layers {
      let vectors = [try r.floats(), try r.floats(), try r.floats()]
      guard vectors.allSatisfy({ $0.count == step.shapes[l].parameterCount }) else {
        throw BinaryFormatError(code: .malformed, message: "Meta-learner \(l) has the wrong size.")
      }
      meta.append(vectors[0])
      adamMean.append(vectors[1])
      adamMeanSquare.append(vectors[2])
    }
    student = try r.floats()
    teacher = try r.floats()
    states = []
    for _ in 0..<(try int()) {
      var state = LayerMetaLearner.State<Float>(shape: step.shapes[0], neurons: 0)
      (state.h, state.c) = ([], [])
      for _ in 0..<(try int()) {
        state.h.append(try r.floats())
        state.c.append(try r.floats())
      }
      states.append(state)
    }
    var curves: [[Double]] = []
    for _ in 0..<3 {
      let count = try r.count(elementBytes: 8)
      var curve = [Double](repeating: 0, count: count)
      for k in 0..<count { curve[k] = Double(bitPattern: try r.integer(bytes: 8)) }
      curves.append(curve)
    }
    (episodeSteps, episodeFinalLoss, episodeMeanLoss) = (curves[0], curves[1], curves[2])
    let parameters = step.network.parameterCount
    guard r.isAtEnd, stepInEpisode == 0 || (student.count == parameters && teacher.count == parameters),
      states.isEmpty || states.count == layers, episodeSteps.count == episode
    else {
      throw BinaryFormatError(
        code: .malformed, message: "The state's parts disagree with each other or the network.")
    }
  }
}
