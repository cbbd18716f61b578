/// Why bytes are not a ``MetaTrainingState`` checkpoint.
public struct MetaTrainingStateError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What is wrong.
  public enum Code: String, Sendable, Equatable {
    /// Fewer bytes than the header and the lengths it declares.
    case truncated
    /// The bytes do not start with "MSLS".
    case badMagic
    /// A format version this build cannot read.
    case unsupportedVersion
    /// The FNV-1a checksum does not match: the bytes were changed.
    case checksumMismatch
    /// Lengths inside the payload disagree, or bytes are left over.
    case malformed
  }

  public var code: Code
  public var message: String
  public var description: String { "\(code.rawValue): \(message)" }
}

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
      Self.append(value, to: &payload)
    }
    for vector in [parameters, adamMean, adamMeanSquare, bestParameters] {
      Self.append(UInt64(vector.count), to: &payload)
      for x in vector { Self.append(UInt64(x.bitPattern), bytes: 4, to: &payload) }
    }
    for curve in [trainingCurve, validationCurve] {
      Self.append(UInt64(curve.count), to: &payload)
      for x in curve { Self.append(x.bitPattern, to: &payload) }
    }
    var out: [UInt8] = Array("MSLS".utf8)
    Self.append(UInt64(Self.binaryVersion), bytes: 2, to: &out)
    Self.append(0, bytes: 2, to: &out)
    Self.append(UInt64(payload.count), to: &out)
    out += payload
    Self.append(Self.checksum(out[...]), to: &out)
    return out
  }

  /// Decodes ``binaryEncoded()`` bytes, checking magic, version, lengths and checksum.
  ///
  /// - Throws: ``MetaTrainingStateError`` for truncated, corrupted or foreign bytes.
  public init(binary bytes: [UInt8]) throws {
    let headerLength = 16
    guard bytes.count >= headerLength + 8 else {
      throw MetaTrainingStateError(
        code: .truncated, message: "\(bytes.count) bytes is shorter than any checkpoint.")
    }
    guard Array(bytes[0..<4]) == Array("MSLS".utf8) else {
      throw MetaTrainingStateError(
        code: .badMagic, message: "Not an LSTM meta-training checkpoint (no MSLS header).")
    }
    var header = Reader(bytes: bytes[4..<headerLength])
    let version = UInt16(try header.integer(bytes: 2))
    guard version == Self.binaryVersion else {
      throw MetaTrainingStateError(
        code: .unsupportedVersion,
        message: "Checkpoint format \(version); this build reads \(Self.binaryVersion).")
    }
    _ = try header.integer(bytes: 2)
    let payloadLength = try header.integer(bytes: 8)
    guard payloadLength <= UInt64(bytes.count - headerLength - 8) else {
      throw MetaTrainingStateError(
        code: .truncated,
        message:
          "Header declares \(payloadLength) payload bytes; only \(bytes.count - headerLength - 8) present.")
    }
    let end = headerLength + Int(payloadLength)
    guard end + 8 == bytes.count else {
      throw MetaTrainingStateError(
        code: .malformed, message: "\(bytes.count - end - 8) bytes follow the checksum.")
    }
    var trailer = Reader(bytes: bytes[end..<(end + 8)])
    guard try trailer.integer(bytes: 8) == Self.checksum(bytes[0..<end]) else {
      throw MetaTrainingStateError(
        code: .checksumMismatch, message: "Checksum mismatch: the checkpoint is corrupted.")
    }
    var r = Reader(bytes: bytes[headerLength..<end])
    let fingerprint = try r.integer(bytes: 8)
    let step = Int(Int64(bitPattern: try r.integer(bytes: 8)))
    let bestStep = Int(Int64(bitPattern: try r.integer(bytes: 8)))
    let clipped = Int(Int64(bitPattern: try r.integer(bytes: 8)))
    let binCount = Int(Int64(bitPattern: try r.integer(bytes: 8)))
    let bestMSE = Double(bitPattern: try r.integer(bytes: 8))
    let binSum = Double(bitPattern: try r.integer(bytes: 8))
    var vectors: [[Float]] = []
    for _ in 0..<4 {
      let count = try r.count(elementBytes: 4)
      var v = [Float](repeating: 0, count: count)
      for k in 0..<count { v[k] = Float(bitPattern: UInt32(try r.integer(bytes: 4))) }
      vectors.append(v)
    }
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
      throw MetaTrainingStateError(code: .malformed, message: "Checkpoint fields disagree in length or sign.")
    }
    self.init(
      settingsFingerprint: fingerprint, step: step, parameters: vectors[0], adamMean: vectors[1],
      adamMeanSquare: vectors[2], bestParameters: vectors[3], bestValidationMSE: bestMSE, bestStep: bestStep,
      clippedSteps: clipped, curveBinSum: binSum, curveBinCount: binCount, trainingCurve: curves[0],
      validationCurve: curves[1])
  }

  static func append(_ value: UInt64, bytes: Int = 8, to out: inout [UInt8]) {
    for k in 0..<bytes { out.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * k))) }
  }

  /// FNV-1a, 64-bit, over `bytes`.
  static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
      hash ^= UInt64(byte)
      hash &*= 0x0000_0100_0000_01B3
    }
    return hash
  }

  /// A bounds-checked little-endian reader.
  struct Reader {
    let bytes: ArraySlice<UInt8>
    var position: Int

    init(bytes: ArraySlice<UInt8>) {
      self.bytes = bytes
      position = bytes.startIndex
    }

    var isAtEnd: Bool { position == bytes.endIndex }

    mutating func integer(bytes n: Int) throws -> UInt64 {
      guard bytes.endIndex - position >= n else {
        throw MetaTrainingStateError(code: .malformed, message: "A field runs past the end of the payload.")
      }
      var value: UInt64 = 0
      for k in 0..<n { value |= UInt64(bytes[position + k]) << UInt64(8 * k) }
      position += n
      return value
    }

    /// An element count, checked against the bytes left before anything is allocated.
    mutating func count(elementBytes: Int) throws -> Int {
      let count = try integer(bytes: 8)
      guard count <= UInt64(bytes.endIndex - position) / UInt64(elementBytes) else {
        throw MetaTrainingStateError(
          code: .malformed, message: "An array declares \(count) elements past the payload.")
      }
      return Int(count)
    }
  }
}
