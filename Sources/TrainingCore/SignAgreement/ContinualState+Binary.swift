extension ContinualState {
  static let binaryVersion: UInt16 = 1

  /// The state as a record (the chained run's checkpoint), framed by ``VersionedBinary`` with magic
  /// "MSCL". Payload, integers u64 and `Double`s as their bits: task, iteration, Adam's steps,
  /// distilled tasks, the loss count, the sums of zeroed fractions, losses and growing fractions; the scalars s_i and
  /// s_g as `Float` vectors of one; θ, the current predictor and its two moments, μ; the frozen
  /// predictors, their scales, the Fishers and the anchors (a count, then each vector); the accuracy
  /// rows (a count, then each row as `Double`s); the five diagnostic curves; the diverged iteration
  /// plus one (0: none).
  public func binaryEncoded() -> [UInt8] {
    var payload: [UInt8] = []
    for value in [
      UInt64(task), UInt64(iteration), UInt64(adamSteps), UInt64(distilledTasks), UInt64(lossCount),
      zeroedSum.bitPattern, lossSum.bitPattern, growingSum.bitPattern,
    ] {
      VersionedBinary.append(value, to: &payload)
    }
    for vector in [[scale], [distilledScale], theta, predictor, adamMean, adamMeanSquare, distilled] {
      VersionedBinary.append(vector, to: &payload)
    }
    for list in [frozen, [frozenScales], fishers, anchors] {
      VersionedBinary.append(UInt64(list.count), to: &payload)
      for vector in list { VersionedBinary.append(vector, to: &payload) }
    }
    func append(_ values: [Double]) {
      VersionedBinary.append(UInt64(values.count), to: &payload)
      for x in values { VersionedBinary.append(x.bitPattern, to: &payload) }
    }
    VersionedBinary.append(UInt64(accuracy.count), to: &payload)
    for row in accuracy { append(row) }
    for curve in [zeroedFraction, predictorLoss, signAgreement, thetaRMS, growingFraction] { append(curve) }
    VersionedBinary.append(divergedAt.map { UInt64($0) + 1 } ?? 0, to: &payload)
    return VersionedBinary.frame(magic: "MSCL", version: Self.binaryVersion, payload: payload)
  }

  /// Decodes ``binaryEncoded()`` bytes of a run of `run`'s shapes.
  ///
  /// - Throws: ``BinaryFormatError`` for truncated, damaged or foreign bytes, or a state of another
  ///   network, predictor or task count.
  public init(binary bytes: [UInt8], run: ContinualRun) throws(BinaryFormatError) {
    var r = VersionedBinary.Reader(
      bytes: try VersionedBinary.payload(
        of: bytes, magic: "MSCL", version: Self.binaryVersion, what: "a continual-learning state"))
    func int() throws(BinaryFormatError) -> Int {
      let value = try r.integer(bytes: 8)
      guard value < 1 << 40 else {
        throw BinaryFormatError(code: .malformed, message: "A count of \(value).")
      }
      return Int(value)
    }
    func scalar() throws(BinaryFormatError) -> Float {
      let values = try r.floats()
      guard values.count == 1 else {
        throw BinaryFormatError(code: .malformed, message: "A scalar of \(values.count).")
      }
      return values[0]
    }
    func list() throws(BinaryFormatError) -> [[Float]] {
      var out: [[Float]] = []
      for _ in 0..<(try r.count(elementBytes: 8)) { out.append(try r.floats()) }
      return out
    }
    func doubles() throws(BinaryFormatError) -> [Double] {
      let count = try r.count(elementBytes: 8)
      var values = [Double](repeating: 0, count: count)
      for k in 0..<count { values[k] = Double(bitPattern: try r.integer(bytes: 8)) }
      return values
    }
    let (task, iteration, adamSteps, distilledTasks, lossCount) = (
      try int(), try int(), try int(), try int(), try int()
    )
    let zeroedSum = Double(bitPattern: try r.integer(bytes: 8))
    let lossSum = Double(bitPattern: try r.integer(bytes: 8))
    let growingSum = Double(bitPattern: try r.integer(bytes: 8))
    let (scale, distilledScale) = (try scalar(), try scalar())
    self.init(theta: try r.floats())
    (self.task, self.iteration, self.adamSteps, self.distilledTasks, self.lossCount) = (
      task, iteration, adamSteps, distilledTasks, lossCount
    )
    (self.zeroedSum, self.lossSum, self.growingSum, self.scale, self.distilledScale) = (
      zeroedSum, lossSum, growingSum, scale, distilledScale
    )
    (predictor, adamMean, adamMeanSquare, distilled) = (
      try r.floats(), try r.floats(), try r.floats(), try r.floats()
    )
    frozen = try list()
    let scales = try list()
    fishers = try list()
    anchors = try list()
    for _ in 0..<(try r.count(elementBytes: 8)) { accuracy.append(try doubles()) }
    (zeroedFraction, predictorLoss, signAgreement, thetaRMS, growingFraction) = (
      try doubles(), try doubles(), try doubles(), try doubles(), try doubles()
    )
    let diverged = try int()
    divergedAt = diverged == 0 ? nil : diverged - 1
    let p = run.network.parameterCount
    let q = run.predictorNet.parameterCount
    let tasks = run.tasks.tasks
    guard r.isAtEnd, scales.count == 1, task <= tasks, iteration < run.settings.iterations, theta.count == p,
      [predictor, adamMean, adamMeanSquare].allSatisfy({ $0.isEmpty || $0.count == q }),
      distilled.isEmpty || distilled.count == q, frozen.allSatisfy({ $0.count == q }),
      scales[0].count == frozen.count, fishers.count == anchors.count,
      (fishers + anchors).allSatisfy({ $0.count == p }), accuracy.allSatisfy({ $0.count == tasks })
    else {
      throw BinaryFormatError(
        code: .malformed, message: "The state's parts disagree with each other or the run.")
    }
    frozenScales = scales[0]
  }
}
