/// Why bytes are not the record a reader expected (a checkpoint, a network).
public struct BinaryFormatError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What is wrong.
  public enum Code: String, Sendable, Equatable {
    /// Fewer bytes than the header and the lengths it declares.
    case truncated
    /// The bytes do not start with the record's magic.
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

  public init(code: Code, message: String) {
    self.code = code
    self.message = message
  }
}

/// The framing every binary record of the training core shares, all integers little-endian:
///
/// ```
/// magic (4 bytes)  version u16  reserved u16 (0)  payloadLength u64
/// payload
/// checksum u64: FNV-1a 64 of every preceding byte
/// ```
///
/// FNV-1a catches accidental damage (a truncated copy, a flipped bit); content addressing and
/// signatures belong to the layers that store and move records (SHA-256 in the artifact store).
public enum VersionedBinary {
  /// `payload` framed as a record of `magic` and `version`.
  public static func frame(magic: String, version: UInt16, payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = Array(magic.utf8)
    precondition(out.count == 4, "a magic is four bytes")
    out.reserveCapacity(24 + payload.count)
    append(UInt64(version), bytes: 2, to: &out)
    append(0, bytes: 2, to: &out)
    append(UInt64(payload.count), to: &out)
    out += payload
    append(checksum(out[...]), to: &out)
    return out
  }

  /// The payload of a record framed by ``frame(magic:version:payload:)``, after checking magic,
  /// version, lengths and checksum; `what` names the record in messages ("a network").
  public static func payload(
    of bytes: [UInt8], magic: String, version: UInt16, what: String
  ) throws(BinaryFormatError) -> ArraySlice<UInt8> {
    let headerLength = 16
    guard bytes.count >= headerLength + 8 else {
      throw BinaryFormatError(code: .truncated, message: "\(bytes.count) bytes is shorter than \(what).")
    }
    guard Array(bytes[0..<4]) == Array(magic.utf8) else {
      throw BinaryFormatError(code: .badMagic, message: "Not \(what) (no \(magic) header).")
    }
    var header = Reader(bytes: bytes[4..<headerLength])
    let found = UInt16(try header.integer(bytes: 2))
    guard found == version else {
      throw BinaryFormatError(
        code: .unsupportedVersion, message: "Format \(found) of \(what); this build reads \(version).")
    }
    _ = try header.integer(bytes: 2)
    let payloadLength = try header.integer(bytes: 8)
    guard payloadLength <= UInt64(bytes.count - headerLength - 8) else {
      throw BinaryFormatError(
        code: .truncated,
        message:
          "Header declares \(payloadLength) payload bytes; only \(bytes.count - headerLength - 8) present.")
    }
    let end = headerLength + Int(payloadLength)
    guard end + 8 == bytes.count else {
      throw BinaryFormatError(
        code: .malformed, message: "\(bytes.count - end - 8) bytes follow the checksum.")
    }
    var trailer = Reader(bytes: bytes[end..<(end + 8)])
    guard try trailer.integer(bytes: 8) == checksum(bytes[0..<end]) else {
      throw BinaryFormatError(code: .checksumMismatch, message: "Checksum mismatch: \(what) is corrupted.")
    }
    return bytes[headerLength..<end]
  }

  public static func append(_ value: UInt64, bytes: Int = 8, to out: inout [UInt8]) {
    for k in 0..<bytes { out.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * k))) }
  }

  /// Appends a count, then the bytes.
  public static func append<Bytes: Collection<UInt8>>(bytes: Bytes, to out: inout [UInt8]) {
    append(UInt64(bytes.count), to: &out)
    out += bytes
  }

  /// Appends a count, then each value's `Float` bits.
  public static func append(_ values: [Float], to out: inout [UInt8]) {
    append(UInt64(values.count), to: &out)
    for x in values { append(UInt64(x.bitPattern), bytes: 4, to: &out) }
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

  /// A bounds-checked little-endian reader of a payload.
  public struct Reader {
    let bytes: ArraySlice<UInt8>
    var position: Int

    public init(bytes: ArraySlice<UInt8>) {
      self.bytes = bytes
      position = bytes.startIndex
    }

    public var isAtEnd: Bool { position == bytes.endIndex }

    public mutating func integer(bytes n: Int) throws(BinaryFormatError) -> UInt64 {
      guard bytes.endIndex - position >= n else {
        throw BinaryFormatError(code: .malformed, message: "A field runs past the end of the payload.")
      }
      var value: UInt64 = 0
      for k in 0..<n { value |= UInt64(bytes[position + k]) << UInt64(8 * k) }
      position += n
      return value
    }

    /// An element count, checked against the bytes left before anything is allocated.
    public mutating func count(elementBytes: Int) throws(BinaryFormatError) -> Int {
      let count = try integer(bytes: 8)
      guard count <= UInt64(bytes.endIndex - position) / UInt64(elementBytes) else {
        throw BinaryFormatError(
          code: .malformed, message: "An array declares \(count) elements past the payload.")
      }
      return Int(count)
    }

    /// A count, then that many raw bytes.
    public mutating func blob() throws(BinaryFormatError) -> ArraySlice<UInt8> {
      let count = try count(elementBytes: 1)
      defer { position += count }
      return bytes[position..<position + count]
    }

    /// A count, then that many `Float`s.
    public mutating func floats() throws(BinaryFormatError) -> [Float] {
      let count = try count(elementBytes: 4)
      var values = [Float](repeating: 0, count: count)
      for k in 0..<count { values[k] = Float(bitPattern: UInt32(try integer(bytes: 4))) }
      return values
    }
  }
}
