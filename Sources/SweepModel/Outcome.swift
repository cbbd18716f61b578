/// What a finished run reports: scalar metrics and metric series, as plain numbers, and named
/// artifacts (a trained network, a pool member) as opaque bytes.
///
/// Order is part of the value: metrics, series and artifacts keep the order the experiment produced
/// them in, so encoding an outcome is deterministic.
public struct Outcome: Sendable, Equatable {
  /// Named scalar results (`error_task1`, `u_drift_task2`, ...).
  public var metrics: [Metric]
  /// Named curves (`error` binned per 100 examples, ...).
  public var series: [Series]
  /// Named files the run made, for later runs to consume; the coordinator stores each once by
  /// content hash in the results folder's artifact store.
  public var artifacts: [Artifact]

  public init(metrics: [Metric] = [], series: [Series] = [], artifacts: [Artifact] = []) {
    self.metrics = metrics
    self.series = series
    self.artifacts = artifacts
  }

  /// The value of the metric named `name`, if the run reported it.
  public func metric(_ name: String) -> Double? { metrics.first { $0.name == name }?.value }

  /// The series named `name`, if the run reported it.
  public func series(named name: String) -> Series? { series.first { $0.name == name } }
}

/// One named scalar result of a run.
public struct Metric: Sendable, Equatable {
  public var name: String
  public var value: Double
  public init(_ name: String, _ value: Double) {
    self.name = name
    self.value = value
  }
}

/// One named curve of a run: `values[i]` belongs to `x = xStart + i * xStep`.
public struct Series: Sendable, Equatable {
  public var name: String
  /// The x of the first point (for a binned curve, the number of examples at the end of bin 1).
  public var xStart: Double
  /// The distance between consecutive x values.
  public var xStep: Double
  public var values: [Double]

  public init(name: String, xStart: Double, xStep: Double, values: [Double]) {
    self.name = name
    self.xStart = xStart
    self.xStep = xStep
    self.values = values
  }

  /// The x value of point `i`.
  public func x(_ i: Int) -> Double { xStart + Double(i) * xStep }
}

/// How one segment of a (possibly chained) run ended: with the run's outcome, or with a checkpoint
/// to continue from.
public enum SegmentOutcome: Sendable, Equatable {
  /// The run is complete.
  case finished(Outcome)
  /// The segment ended before the run did: `bytes` is the opaque, versioned state to continue from,
  /// after `stepsDone` of `totalSteps` steps.
  case checkpoint(bytes: [UInt8], stepsDone: Int, totalSteps: Int)
}

/// A named file a run made (a trained network's weights, say), carried with its outcome.
public struct Artifact: Sendable, Equatable {
  /// The name later runs ask for: 1-64 characters of a-z, 0-9, `_`, `-` and `.`, not starting
  /// with `.`; unique within an outcome.
  public var name: String
  /// The content, opaque to MetaSweep (the experiment versions its own format).
  public var bytes: [UInt8]

  public init(name: String, bytes: [UInt8]) {
    self.name = name
    self.bytes = bytes
  }

  /// The most artifacts one outcome may carry.
  /// The SHA-256 of ``bytes`` (lower-case hex): the artifact's identity in stores and run keys.
  public var sha256: String { SHA256.hexString(SHA256.digest(bytes)) }

  public static let maxPerOutcome = 256
  /// The largest artifact, in bytes (256 MiB).
  public static let maxBytes = 256 << 20

  /// Why `artifacts` cannot be an outcome's artifacts (a name invalid or repeated, too many, one too
  /// large), or nil.
  public static func problem(with artifacts: [Artifact]) -> String? {
    if artifacts.count > maxPerOutcome {
      return "a run may make at most \(maxPerOutcome) artifacts, this one made \(artifacts.count)"
    }
    var seen: Set<String> = []
    for artifact in artifacts {
      guard isValidName(artifact.name) else {
        return "artifact name '\(artifact.name)' is not 1-64 characters of a-z, 0-9, _, - and . (not first)"
      }
      guard seen.insert(artifact.name).inserted else { return "artifact '\(artifact.name)' is made twice" }
      guard artifact.bytes.count <= maxBytes else {
        return
          "artifact '\(artifact.name)' has \(artifact.bytes.count) bytes, more than the \(maxBytes) allowed"
      }
    }
    return nil
  }

  /// Whether `name` is a valid artifact name (see ``name``).
  public static func isValidName(_ name: String) -> Bool {
    let utf8 = Array(name.utf8)
    guard (1...64).contains(utf8.count), utf8[0] != UInt8(ascii: ".") else { return false }
    return utf8.allSatisfy { byte in
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
  }
}
