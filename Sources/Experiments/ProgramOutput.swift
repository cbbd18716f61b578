import Foundation
import SweepModel

/// What a user's program says on standard output, read line by line: result lines, and a bounded
/// log of everything else.
///
/// A result line is `@metasweep ` followed by one JSON object:
/// - `{"metric": "test_loss", "value": 0.31}`: a scalar metric (null or a string "nan", "inf" or
///   "-inf" for a value JSON cannot write);
/// - `{"point": "loss", "x": 100, "value": 0.52}`: the next point of a curve, whose x values must
///   grow by one constant step;
/// - `{"checkpoint": "PATH", "step": N}` (and optionally `"total": T`, the run's steps): the
///   program saved its state to PATH (relative to its working folder) after its step N, which
///   grows from checkpoint to checkpoint. In a chained sweep (`segment_steps`) the program is told
///   `stop_at_step`; when it exits (status 0) right after a checkpoint at or past it, the segment
///   ends there: the file and the results printed so far are kept, and the next segment restarts
///   the program from the file;
/// - `{"artifact": "NAME", "path": "PATH"}`: keep the file at PATH (relative to the working folder),
///   as it is when the program exits, as the run's artifact NAME (a trained network), stored by
///   content hash in the results folder; NAME is 1-64 of a-z, 0-9, `_`, `-` and `.`;
/// - `{"done": true}`: the run is complete; a program that exits without it has failed.
/// A result line that does not parse, or any line after `done`, fails the attempt.
struct ProgramOutput: Sendable {
  /// The text that starts a result line.
  static let marker = "@metasweep "

  private(set) var metrics: [Metric] = []
  private var points: [String: [(x: Double, value: Double)]] = [:]
  private var seriesOrder: [String] = []
  private(set) var isDone = false
  /// The first result line that could not be read, with why.
  private(set) var problem: String?
  /// Every other line, bounded.
  private(set) var log: BoundedLog
  /// The last checkpoint the program announced (or the one it was resumed from).
  private(set) var checkpoint: (path: String, step: Int, total: Int?)?
  /// The files to keep as the run's artifacts, by name, in the order announced.
  private(set) var artifacts: [(name: String, path: String)] = []
  /// Whether the last result line was a checkpoint.
  private(set) var endsAtCheckpoint = false

  init(logLimit: Int) { log = BoundedLog(limit: logLimit) }

  /// The output of a program resumed from `checkpoint`: what it printed before is already here.
  init(logLimit: Int, resumingFrom checkpoint: CommandCheckpoint) {
    log = BoundedLog(limit: logLimit)
    metrics = checkpoint.metrics
    for curve in checkpoint.curves {
      seriesOrder.append(curve.name)
      points[curve.name] = curve.points
    }
    self.checkpoint = (checkpoint.fileName, checkpoint.step, checkpoint.total)
  }

  /// What the program printed up to now, with `file` as the checkpoint's content.
  func checkpointed(file: [UInt8]) -> CommandCheckpoint? {
    guard let checkpoint else { return nil }
    return CommandCheckpoint(
      step: checkpoint.step, total: max(checkpoint.total ?? checkpoint.step, checkpoint.step),
      fileName: String(checkpoint.path.split(separator: "/").last ?? "checkpoint"), file: file,
      metrics: metrics, curves: seriesOrder.map { ($0, points[$0]!) })
  }

  /// Reads one line (without its newline).
  mutating func consume(line: Substring) {
    guard line.hasPrefix(Self.marker) else {
      log.append(line)
      return
    }
    guard problem == nil else { return }
    let text = line.dropFirst(Self.marker.count)
    endsAtCheckpoint = false
    if isDone {
      problem = "a result line after {\"done\": true}: \(text.prefix(200))"
      return
    }
    guard let object = try? JSONDecoder().decode([String: JSONScalar].self, from: Data(text.utf8)) else {
      problem = "not a JSON object of numbers, strings, booleans and nulls: \(text.prefix(200))"
      return
    }
    if let name = object["metric"]?.text, object.count == 2, let value = object["value"]?.number {
      guard Self.isName(name) else {
        problem = "metric name '\(name.prefix(80))' must be letters, digits, _, - and . (up to 100)"
        return
      }
      metrics.append(Metric(name, value))
    } else if let name = object["point"]?.text, object.count == 3, let x = object["x"]?.number, x.isFinite,
      let value = object["value"]?.number
    {
      guard Self.isName(name) else {
        problem = "curve name '\(name.prefix(80))' must be letters, digits, _, - and . (up to 100)"
        return
      }
      if points[name] == nil { seriesOrder.append(name) }
      points[name, default: []].append((x, value))
    } else if let path = object["checkpoint"]?.text, let step = object["step"]?.number,
      object.count == 2 || (object.count == 3 && object["total"] != nil)
    {
      let total = object["total"]?.number
      let last = checkpoint?.step ?? 0
      guard !path.isEmpty, !path.hasSuffix("/"), let whole = Int(exactly: step), whole > last,
        total.map({ Int(exactly: $0).map { $0 >= whole } ?? false }) ?? true
      else {
        problem =
          "a checkpoint needs a file path and a whole step above the last one's (\(last)), and a total "
          + "at least that step: \(text.prefix(200))"
        return
      }
      checkpoint = (path, whole, total.map { Int($0) })
      endsAtCheckpoint = true
    } else if let name = object["artifact"]?.text, let path = object["path"]?.text, object.count == 2 {
      guard Artifact.isValidName(name), !artifacts.contains(where: { $0.name == name }), !path.isEmpty,
        artifacts.count < Artifact.maxPerOutcome
      else {
        problem =
          "an artifact needs a new name of 1-64 a-z, 0-9, _, - and . (not starting with .) and a path, "
          + "at most \(Artifact.maxPerOutcome) a run: \(text.prefix(200))"
        return
      }
      artifacts.append((name, path))
    } else if object.count == 1, object["done"] == .bool(true) {
      isDone = true
    } else {
      problem =
        "not a result (want {\"metric\": NAME, \"value\": V}, {\"point\": NAME, \"x\": X, \"value\": V}, "
        + "{\"checkpoint\": PATH, \"step\": N}, {\"artifact\": NAME, \"path\": PATH} or {\"done\": true}): "
        + "\(text.prefix(200))"
    }
  }

  /// The outcome the lines describe, with the artifacts' files read from `folder`; throws when a
  /// curve's x values do not grow by a constant step or an artifact's file cannot be read.
  func outcome(folder: String) throws -> Outcome {
    var series: [Series] = []
    for name in seriesOrder {
      let curve = points[name]!
      let step = curve.count > 1 ? curve[1].x - curve[0].x : 1
      for index in curve.indices.dropFirst() {
        let expected = curve[0].x + Double(index) * step
        guard step > 0, abs(curve[index].x - expected) <= 1e-9 * max(1, abs(expected)) else {
          throw ExperimentError(
            message:
              "curve '\(name)': its x values must grow by one constant step (point \(index + 1) has x = "
              + "\(curve[index].x), \(expected) expected)")
        }
      }
      series.append(Series(name: name, xStart: curve[0].x, xStep: step, values: curve.map(\.value)))
    }
    let artifacts = try artifacts.map { name, path in
      do throws(ExperimentError) {
        let file = CommandRunner.absolute(path, in: folder)
        return Artifact(name: name, bytes: try CommandRunner.readKeptFile(file, limit: Artifact.maxBytes))
      } catch {
        throw ExperimentError(message: "artifact '\(name)': \(error.message) when the program ended")
      }
    }
    return Outcome(metrics: metrics, series: series, artifacts: artifacts)
  }

  /// A metric or curve name: what a CSV column and a file name can carry (letters, digits, `_`,
  /// `-` and `.`, not starting with `.`).
  private static func isName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 100 && !name.hasPrefix(".")
      && name.unicodeScalars.allSatisfy {
        $0.isASCII
          && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0))
      }
  }
}

/// One value of a result line.
private enum JSONScalar: Decodable, Equatable {
  case number(Double)
  case text(String)
  case bool(Bool)
  case null

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else {
      self = .text(try container.decode(String.self))
    }
  }

  var text: String? { if case .text(let text) = self { text } else { nil } }

  /// A number, or null / "nan" / "inf" / "-inf" for the values JSON cannot write.
  var number: Double? {
    switch self {
    case .number(let value): value
    case .null: .nan
    case .text(let text):
      switch text.lowercased() {
      case "nan": .nan
      case "inf", "infinity", "+inf": .infinity
      case "-inf", "-infinity": -.infinity
      default: nil
      }
    case .bool: nil
    }
  }
}

/// The first and the last `limit / 2` bytes of a stream of lines, and how much was left out between.
struct BoundedLog: Sendable, Equatable {
  let limit: Int
  private(set) var head = ""
  /// The kept last lines are `lines[start...]`; the dropped prefix is compacted away now and then.
  private var lines: [Substring] = []
  private var start = 0
  private var tailBytes = 0
  private(set) var droppedBytes = 0

  init(limit: Int) { self.limit = max(limit, 2) }

  /// Adds one line.
  mutating func append(_ line: Substring) {
    let bytes = line.utf8.count + 1
    if lines.isEmpty && head.utf8.count + bytes <= limit / 2 {
      head += line + "\n"
      return
    }
    lines.append(line)
    tailBytes += bytes
    while tailBytes > limit / 2, start < lines.count {
      let dropped = lines[start].utf8.count + 1
      tailBytes -= dropped
      droppedBytes += dropped
      start += 1
    }
    if start > 1024 && start * 2 > lines.count {
      lines.removeFirst(start)
      start = 0
    }
  }

  private var tail: ArraySlice<Substring> { lines[start...] }

  /// Whether no line was appended.
  var isEmpty: Bool { head.isEmpty && lines.isEmpty }

  /// The log as text, with a line saying how much was left out where it was.
  var text: String {
    var out = head
    if droppedBytes > 0 { out += "[... \(droppedBytes) bytes left out ...]\n" }
    for line in tail { out += line + "\n" }
    return out
  }

  /// The last `count` lines.
  func lastLines(_ count: Int) -> [String] {
    let all = head.split(separator: "\n", omittingEmptySubsequences: false).dropLast() + tail
    return all.suffix(count).map(String.init)
  }
}
