import SweepModel
import TrainingCore

/// Where a chained run of a user's program stands between two segments: the checkpoint file the
/// program last announced, at which of its steps, and the results it had printed before it. The
/// next segment, on any worker, restores the file into a fresh working folder and starts the
/// program with its path (`resume_from`); the results printed before are kept, so the program
/// prints only what comes after.
///
/// Binary, in ``VersionedBinary``'s framing (magic `MSCP`, version 1), payload little-endian:
/// step u64, total u64, file name (count + UTF-8), metrics (count, then name and Float64 bits),
/// curves (count, then name and count + (x, value) Float64 bit pairs), the file (count + bytes).
struct CommandCheckpoint: Sendable {
  /// The program's step the checkpoint was taken at (≥ 1).
  var step: Int
  /// Steps of the whole run as the program said (≥ step; `step` when it did not say).
  var total: Int
  /// The file's name (its last path component as announced), under which it is restored.
  var fileName: String
  var file: [UInt8]
  /// Metrics printed before the checkpoint, in order.
  var metrics: [Metric]
  /// Curve points printed before the checkpoint, by curve in first-printed order.
  var curves: [(name: String, points: [(x: Double, value: Double)])]

  static let magic = "MSCP"
  static let version: UInt16 = 1

  var encoded: [UInt8] {
    var out: [UInt8] = []
    VersionedBinary.append(UInt64(step), to: &out)
    VersionedBinary.append(UInt64(total), to: &out)
    VersionedBinary.append(bytes: fileName.utf8, to: &out)
    VersionedBinary.append(UInt64(metrics.count), to: &out)
    for metric in metrics {
      VersionedBinary.append(bytes: metric.name.utf8, to: &out)
      VersionedBinary.append(metric.value.bitPattern, to: &out)
    }
    VersionedBinary.append(UInt64(curves.count), to: &out)
    for curve in curves {
      VersionedBinary.append(bytes: curve.name.utf8, to: &out)
      VersionedBinary.append(UInt64(curve.points.count), to: &out)
      for point in curve.points {
        VersionedBinary.append(point.x.bitPattern, to: &out)
        VersionedBinary.append(point.value.bitPattern, to: &out)
      }
    }
    VersionedBinary.append(bytes: file, to: &out)
    return VersionedBinary.frame(magic: Self.magic, version: Self.version, payload: out)
  }

  init(
    step: Int, total: Int, fileName: String, file: [UInt8], metrics: [Metric],
    curves: [(name: String, points: [(x: Double, value: Double)])]
  ) {
    self.step = step
    self.total = total
    self.fileName = fileName
    self.file = file
    self.metrics = metrics
    self.curves = curves
  }

  /// Reads `bytes`, or throws ``ExperimentError`` saying why they are not a command checkpoint.
  init(decoding bytes: [UInt8]) throws {
    do throws(BinaryFormatError) {
      var reader = VersionedBinary.Reader(
        bytes: try VersionedBinary.payload(
          of: bytes, magic: Self.magic, version: Self.version, what: "a command checkpoint"))
      func text() throws(BinaryFormatError) -> String {
        let raw = try reader.blob()
        guard let text = String(validating: raw, as: UTF8.self) else {
          throw BinaryFormatError(code: .malformed, message: "A name is not UTF-8.")
        }
        return text
      }
      step = Int(clamping: try reader.integer(bytes: 8))
      total = Int(clamping: try reader.integer(bytes: 8))
      fileName = try text()
      let metricCount = try reader.count(elementBytes: 16)
      metrics = []
      for _ in 0..<metricCount {
        let name = try text()
        metrics.append(Metric(name, Double(bitPattern: try reader.integer(bytes: 8))))
      }
      let curveCount = try reader.count(elementBytes: 16)
      curves = []
      for _ in 0..<curveCount {
        let name = try text()
        let count = try reader.count(elementBytes: 16)
        var points: [(x: Double, value: Double)] = []
        points.reserveCapacity(count)
        for _ in 0..<count {
          let x = Double(bitPattern: try reader.integer(bytes: 8))
          points.append((x, Double(bitPattern: try reader.integer(bytes: 8))))
        }
        curves.append((name, points))
      }
      file = Array(try reader.blob())
      guard reader.isAtEnd, step >= 1, total >= step, !fileName.isEmpty, !fileName.contains("/") else {
        throw BinaryFormatError(code: .malformed, message: "Inconsistent fields.")
      }
    } catch {
      throw ExperimentError(message: "command: the run's checkpoint cannot be read: \(error)")
    }
  }
}
