import Foundation
import SweepModel

/// The binary form of an outcome's metrics and series in the `outcomes` table.
///
/// Compact, deterministic and bit-exact (NaN payloads and -0.0 survive). All integers and
/// Float64 bit patterns are little-endian; strings are UTF-8 with a UInt32 byte count:
///
/// ```
/// metrics: u8 version=1, u32 count, count × (u32 nameLength, name, f64 value)
/// series:  u8 version=1, u32 count, count × (u32 nameLength, name, f64 xStart, f64 xStep,
///                                            u32 valueCount, valueCount × f64)
/// ```
///
/// Decoding checks the version, every length against the bytes that remain, UTF-8 validity and that
/// nothing trails, and throws ``JournalError`` (`.corruptData`) instead of trapping.
public enum OutcomeBlob {
  /// The layout version written in the first byte; bump it (and keep decoding the old one) on change.
  public static let version: UInt8 = 1

  public static func encode(metrics: [Metric]) -> Data {
    var writer = Writer()
    writer.bytes.reserveCapacity(5 + metrics.reduce(0) { $0 + 12 + $1.name.utf8.count })
    writer.byte(version)
    writer.count(metrics.count)
    for metric in metrics {
      writer.string(metric.name)
      writer.double(metric.value)
    }
    return Data(writer.bytes)
  }

  public static func encode(series: [Series]) -> Data {
    var writer = Writer()
    writer.bytes.reserveCapacity(5 + series.reduce(0) { $0 + 24 + $1.name.utf8.count + 8 * $1.values.count })
    writer.byte(version)
    writer.count(series.count)
    for curve in series {
      writer.string(curve.name)
      writer.double(curve.xStart)
      writer.double(curve.xStep)
      writer.count(curve.values.count)
      writer.doubles(curve.values)
    }
    return Data(writer.bytes)
  }

  public static func decodeMetrics(_ data: Data) throws -> [Metric] {
    var reader = Reader(data, what: "metrics")
    try reader.expectVersion()
    let count = try reader.count(minimumBytesEach: 12)
    var metrics: [Metric] = []
    metrics.reserveCapacity(count)
    for _ in 0..<count {
      let name = try reader.string()
      metrics.append(Metric(name, try reader.double()))
    }
    try reader.expectEnd()
    return metrics
  }

  public static func decodeSeries(_ data: Data) throws -> [Series] {
    var reader = Reader(data, what: "series")
    try reader.expectVersion()
    let count = try reader.count(minimumBytesEach: 24)
    var series: [Series] = []
    series.reserveCapacity(count)
    for _ in 0..<count {
      let name = try reader.string()
      let xStart = try reader.double()
      let xStep = try reader.double()
      let valueCount = try reader.count(minimumBytesEach: 8)
      let values = try reader.doubles(valueCount)
      series.append(Series(name: name, xStart: xStart, xStep: xStep, values: values))
    }
    try reader.expectEnd()
    return series
  }

  private struct Writer {
    var bytes: [UInt8] = []

    mutating func byte(_ b: UInt8) { bytes.append(b) }

    mutating func count(_ n: Int) {
      // Counts above 4 Gi cannot come from a real run; failing loudly beats a silent wrap.
      precondition(n >= 0 && n <= Int(UInt32.max), "outcome too large to journal: \(n) elements")
      withUnsafeBytes(of: UInt32(n).littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func double(_ x: Double) {
      withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func doubles(_ xs: [Double]) {
      #if _endian(little)
        // The in-memory layout is already the wire layout: one copy, bit-exact.
        xs.withUnsafeBytes { bytes.append(contentsOf: $0) }
      #else
        for x in xs { double(x) }
      #endif
    }

    mutating func string(_ s: String) {
      let utf8 = Array(s.utf8)
      count(utf8.count)
      bytes.append(contentsOf: utf8)
    }
  }

  private struct Reader {
    let bytes: [UInt8]
    var offset = 0
    let what: String

    init(_ data: Data, what: String) {
      self.bytes = [UInt8](data)
      self.what = what
    }

    var remaining: Int { bytes.count - offset }

    func corrupt(_ problem: String) -> JournalError {
      JournalError(
        .corruptData,
        "A stored outcome's \(what) blob is damaged (\(problem) at byte \(offset) of \(bytes.count)). "
          + "Restore the journal from a backup or delete the run's outcome so it runs again.")
    }

    mutating func expectVersion() throws {
      guard remaining >= 1 else { throw corrupt("empty blob") }
      let v = bytes[offset]
      guard v == OutcomeBlob.version else { throw corrupt("unknown layout version \(v)") }
      offset += 1
    }

    mutating func uint32() throws -> UInt32 {
      guard remaining >= 4 else { throw corrupt("truncated length") }
      var value: UInt32 = 0
      for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
      offset += 4
      return value
    }

    /// A count whose elements need at least `minimumBytesEach` bytes, checked against what remains,
    /// so a damaged count cannot make us reserve gigabytes.
    mutating func count(minimumBytesEach: Int) throws -> Int {
      let n = Int(try uint32())
      guard n <= remaining / minimumBytesEach else { throw corrupt("count \(n) exceeds the remaining bytes") }
      return n
    }

    mutating func double() throws -> Double {
      guard remaining >= 8 else { throw corrupt("truncated number") }
      var bits: UInt64 = 0
      for i in 0..<8 { bits |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
      offset += 8
      return Double(bitPattern: bits)
    }

    mutating func doubles(_ n: Int) throws -> [Double] {
      guard remaining >= 8 * n else { throw corrupt("truncated series") }
      #if _endian(little)
        let start = offset
        let values = [Double](unsafeUninitializedCapacity: n) { buffer, initialized in
          bytes.withUnsafeBytes { raw in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(
              from: UnsafeRawBufferPointer(rebasing: raw[start..<start + 8 * n]))
          }
          initialized = n
        }
        offset += 8 * n
        return values
      #else
        return try (0..<n).map { _ in try double() }
      #endif
    }

    mutating func string() throws -> String {
      let n = Int(try uint32())
      guard n <= remaining else { throw corrupt("truncated name") }
      let slice = bytes[offset..<offset + n]
      guard let s = String(validating: slice, as: UTF8.self) else { throw corrupt("name is not UTF-8") }
      offset += n
      return s
    }

    func expectEnd() throws {
      guard remaining == 0 else { throw corrupt("\(remaining) trailing bytes") }
    }
  }
}
