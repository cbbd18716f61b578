/// Reads what ``ByteWriter`` writes, checking every length against the bytes that are left.
///
/// Every read throws ``WireError`` instead of trapping: `.truncated` when the input ends early,
/// `.oversized` when a count or length is over its cap, `.malformed` for invalid UTF-8 or bytes
/// left over. Counts are checked against the remaining input before anything is allocated, so a
/// forged length prefix cannot make the reader allocate more than the input's own size.
public struct ByteReader: Sendable {
  /// The whole input.
  public let bytes: [UInt8]
  /// The offset of the next unread byte.
  public private(set) var offset: Int

  public init(_ bytes: [UInt8]) {
    self.bytes = bytes
    offset = 0
  }

  /// The number of unread bytes.
  public var remaining: Int { bytes.count - offset }

  /// Consumes `count` bytes and returns where they start.
  @inline(__always)
  private mutating func take(_ count: Int, _ field: StaticString) throws(WireError) -> Int {
    guard count >= 0, count <= remaining else {
      throw WireError(
        code: .truncated,
        message: "Truncated message: \(field) needs \(count) bytes at offset \(offset), \(remaining) left.")
    }
    let start = offset
    offset += count
    return start
  }

  @inline(__always)
  private mutating func readInteger<T: FixedWidthInteger>(_ field: StaticString) throws(WireError) -> T {
    let start = try take(MemoryLayout<T>.size, field)
    let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start, as: T.self) }
    return T(littleEndian: value)
  }

  public mutating func readUInt8(_ field: StaticString) throws(WireError) -> UInt8 {
    let start = try take(1, field)
    return bytes[start]
  }

  public mutating func readUInt16(_ field: StaticString) throws(WireError) -> UInt16 {
    try readInteger(field)
  }
  public mutating func readUInt32(_ field: StaticString) throws(WireError) -> UInt32 {
    try readInteger(field)
  }
  public mutating func readUInt64(_ field: StaticString) throws(WireError) -> UInt64 {
    try readInteger(field)
  }
  public mutating func readInt64(_ field: StaticString) throws(WireError) -> Int64 { try readInteger(field) }

  /// Reads a Float64 bit pattern exactly (NaN payloads and signed zeros survive).
  public mutating func readFloat64(_ field: StaticString) throws(WireError) -> Double {
    Double(bitPattern: try readInteger(field))
  }

  /// Reads a UInt32 element count, capped at `max` (`.oversized`) and checked to fit the bytes that
  /// are left when each element takes at least `minimumElementSize` bytes (`.truncated`).
  public mutating func readCount(_ field: StaticString, max: Int, minimumElementSize: Int) throws(WireError)
    -> Int
  {
    let raw = try readUInt32(field)
    guard let count = Int(exactly: raw), count <= max else {
      throw WireError(
        code: .oversized, message: "Oversized message: \(field) is \(raw), the limit is \(max).")
    }
    let (needed, overflow) = count.multipliedReportingOverflow(by: Swift.max(0, minimumElementSize))
    guard !overflow, needed <= remaining else {
      throw WireError(
        code: .truncated,
        message: "Truncated message: \(field) says \(count) entries but only \(remaining) bytes are left.")
    }
    return count
  }

  /// Reads `count` raw bytes.
  public mutating func readBytes(_ count: Int, _ field: StaticString) throws(WireError) -> ArraySlice<UInt8> {
    let start = try take(count, field)
    return bytes[start..<start + count]
  }

  /// Reads a UInt32 length (capped at `maxBytes`) and that many bytes; returns their range in ``bytes``.
  public mutating func readLengthPrefixed(
    _ field: StaticString, maxBytes: Int
  ) throws(WireError) -> Range<Int> {
    let length = try readCount(field, max: maxBytes, minimumElementSize: 1)
    let start = try take(length, field)
    return start..<start + length
  }

  /// Reads a length-prefixed UTF-8 string of at most `maxBytes` bytes; invalid UTF-8 is `.malformed`.
  public mutating func readString(_ field: StaticString, maxBytes: Int) throws(WireError) -> String {
    try string(in: readLengthPrefixed(field, maxBytes: maxBytes), field)
  }

  /// The bytes in `range` (from ``readLengthPrefixed(_:maxBytes:)``) as validated UTF-8.
  public func string(in range: Range<Int>, _ field: StaticString) throws(WireError) -> String {
    let decoded = bytes.withUnsafeBufferPointer { buffer -> String? in
      guard range.lowerBound >= 0, range.upperBound <= buffer.count else { return nil }
      return String(validating: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self)
    }
    guard let decoded else {
      throw WireError(code: .malformed, message: "Malformed message: \(field) is not valid UTF-8.")
    }
    return decoded
  }

  /// Reads `count` little-endian Float64 values (bit-exact) in one copy.
  public mutating func readFloat64s(_ count: Int, _ field: StaticString) throws(WireError) -> [Double] {
    let (size, overflow) = count.multipliedReportingOverflow(by: 8)
    guard !overflow, count >= 0 else {
      throw WireError(code: .oversized, message: "Oversized message: \(field) has \(count) values.")
    }
    let start = try take(size, field)
    guard count > 0 else { return [] }
    return bytes.withUnsafeBytes { raw in
      let source = UnsafeRawBufferPointer(rebasing: raw[start..<start + size])
      #if _endian(little)
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
          UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
          initialized = count
        }
      #else
        return (0..<count).map {
          Double(
            bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))
        }
      #endif
    }
  }

  /// Throws `.malformed` unless every byte was read.
  public func expectEnd(_ field: StaticString) throws(WireError) {
    guard remaining == 0 else {
      throw WireError(
        code: .malformed, message: "Malformed message: \(remaining) unexpected bytes after \(field).")
    }
  }
}
