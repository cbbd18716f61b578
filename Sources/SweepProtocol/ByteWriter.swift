/// Appends little-endian integers, IEEE 754 bit patterns and length-prefixed UTF-8 to a byte array.
///
/// Reserve the final size up front (``init(capacity:)``); every write is then a bulk copy into
/// reserved storage, never a reallocation.
public struct ByteWriter: Sendable {
  /// The bytes written so far.
  public private(set) var bytes: [UInt8]

  /// An empty writer with room for `capacity` bytes.
  public init(capacity: Int = 64) {
    bytes = []
    bytes.reserveCapacity(capacity)
  }

  /// The number of bytes written so far.
  public var count: Int { bytes.count }

  public mutating func write(_ value: UInt8) { bytes.append(value) }
  public mutating func write(_ value: UInt16) { writeInteger(value) }
  public mutating func write(_ value: UInt32) { writeInteger(value) }
  public mutating func write(_ value: UInt64) { writeInteger(value) }
  public mutating func write(_ value: Int64) { writeInteger(value) }
  /// Writes the exact bit pattern, so NaN payloads and signed zeros survive.
  public mutating func write(_ value: Double) { writeInteger(value.bitPattern) }

  @inline(__always)
  private mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }

  /// Writes raw bytes without a length.
  public mutating func write(raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

  /// Writes raw bytes without a length.
  public mutating func write(contentsOf raw: [UInt8]) { bytes.append(contentsOf: raw) }

  /// Writes `values` as consecutive little-endian Float64 bit patterns, without a count.
  public mutating func write(float64s values: [Double]) {
    #if _endian(little)
      values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    #else
      for value in values { write(value) }
    #endif
  }

  /// Writes a UInt32 byte count and the UTF-8 of `string`, clipped to at most `maxBytes` bytes at
  /// a Unicode scalar boundary (so the result always decodes under the same cap).
  public mutating func write(string: String, maxBytes: Int) {
    var string = string
    string.withUTF8 { utf8 in
      let length = Self.clippedLength(utf8, maxBytes: maxBytes)
      write(UInt32(truncatingIfNeeded: length))
      bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[..<length]))
    }
  }

  /// The largest length ≤ `maxBytes` that does not cut a UTF-8 sequence of `utf8`.
  static func clippedLength(_ utf8: UnsafeBufferPointer<UInt8>, maxBytes: Int) -> Int {
    let cap = max(0, min(maxBytes, Int(UInt32.max)))
    guard utf8.count > cap else { return utf8.count }
    var length = cap
    // Back off continuation bytes (10xxxxxx) so the cut falls before a scalar's first byte.
    while length > 0 && utf8[length] & 0xC0 == 0x80 { length -= 1 }
    return length
  }
}
