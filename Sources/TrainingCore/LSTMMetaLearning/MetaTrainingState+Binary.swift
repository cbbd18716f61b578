/// Why bytes are not a ``MetaTrainingState`` checkpoint.
public typealias MetaTrainingStateError = BinaryFormatError

extension MetaTrainingState {
  /// The current format version.
  public static let binaryVersion: UInt16 = 1

  /// The checkpoint as bytes, all integers little-endian:
  ///
  /// ```
  /// "MSLS"  version u16  reserved u16 (0)  payloadLength u64
  /// payload:
  ///   settingsFingerprint u64, step i64, bestStep i64, clippedSteps i64, curveBinCount i64,
  ///   bestValidationMSE f64, curveBinSum f64                      (IEEE bits)
  ///   parameters, adamMean, adamMeanSquare, bestParameters       (each: count u64, f32 bits…)
  ///   trainingCurve, validationCurve                             (each: count u64, f64 bits…)
  /// checksum u64: FNV-1a 64 of every preceding byte
  /// ```
  public func binaryEncoded() -> [UInt8] {
    var payload: [UInt8] = []
    payload.reserveCapacity(64 + 16 * parameters.count + 8 * (trainingCurve.count + validationCurve.count))
    for value in [
      settingsFingerprint, UInt64(bitPattern: Int64(step)), UInt64(bitPattern: Int64(bestStep)),
      UInt64(bitPattern: Int64(clippedSteps)), UInt64(bitPattern: Int64(curveBinCount)),
      bestValidationMSE.bitPattern, curveBinSum.bitPattern,
    ] {
      VersionedBinary.append(value, to: &payload)
    }
    for vector in [parameters, adamMean, adamMeanSquare, bestParameters] {
      VersionedBinary.append(vector, to: &payload)
    }
    for curve in [trainingCurve, validationCurve] {
      VersionedBinary.append(UInt64(curve.count), to: &payload)
      for x in curve { VersionedBinary.append(x.bitPattern, to: &payload) }
    }
    return VersionedBinary.frame(magic: "MSLS", version: Self.binaryVersion, payload: payload)
  }

  /// Decodes ``binaryEncoded()`` bytes, checking magic, version, lengths and checksum.
  ///
  /// - Throws: ``MetaTrainingStateError`` for truncated, corrupted or foreign bytes.
  public init(binary bytes: [UInt8]) throws {
    var r = VersionedBinary.Reader(
      bytes: try VersionedBinary.payload(
        of: bytes, magic: "MSLS", version: Self.binaryVersion, what: "an LSTM meta-training checkpoint"))
    let fingerprint = try r.integer(bytes: 8)
    let step = Int(Int64(bitPattern: try r.integer(bytes: 8)))
    let bestStep = Int(Int64(bitPattern: try r.integer(bytes: 8)))
    let clipped = Int(Int64(bitPattern: try r.integer(bytes: 8)))
    let binCount = Int(Int64(bitPattern: try r.integer(bytes: 8)))
    let bestMSE = Double(bitPattern: try r.integer(bytes: 8))
    let binSum = Double(bitPattern: try r.integer(bytes: 8))
    var vectors: [[Float]] = []
    for _ in 0..<4 { vectors.append(try r.floats()) }
    var curves: [[Double]] = []
    for _ in 0..<2 {
      let count = try r.count(elementBytes: 8)
      var v = [Double](repeating: 0, count: count)
      for k in 0..<count { v[k] = Double(bitPattern: try r.integer(bytes: 8)) }
      curves.append(v)
    }
    guard r.isAtEnd, vectors.allSatisfy({ $0.count == vectors[0].count }), step >= 0, bestStep >= 0,
      binCount >= 0
    else {
      throw BinaryFormatError(code: .malformed, message: "Checkpoint fields disagree in length or sign.")
    }
    self.init(
      settingsFingerprint: fingerprint, step: step, parameters: vectors[0], adamMean: vectors[1],
      adamMeanSquare: vectors[2], bestParameters: vectors[3], bestValidationMSE: bestMSE, bestStep: bestStep,
      clippedSteps: clipped, curveBinSum: binSum, curveBinCount: binCount, trainingCurve: curves[0],
      validationCurve: curves[1])
  }
}
