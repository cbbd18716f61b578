/// What a finished run reports: scalar metrics and metric series, as plain numbers.
///
/// Order is part of the value: metrics and series keep the order the experiment produced them in,
/// so encoding an outcome is deterministic.
public struct Outcome: Sendable, Equatable {
  /// Named scalar results (`error_task1`, `u_drift_task2`, ...).
  public var metrics: [Metric]
  /// Named curves (`error` binned per 100 examples, ...).
  public var series: [Series]

  public init(metrics: [Metric] = [], series: [Series] = []) {
    self.metrics = metrics
    self.series = series
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
