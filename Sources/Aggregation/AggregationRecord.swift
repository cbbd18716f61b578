import SweepModel

/// One finished run as aggregation sees it: which variant, which seed, what it reported.
public struct AggregationRecord: Sendable, Equatable {
  /// The variant's display name from the sweep file.
  public var variant: String
  public var seed: UInt64
  public var outcome: Outcome
  /// The run's parameters, defaults filled in (for the tidy per-run files; empty when unknown).
  public var parameters: Parameters
  /// The run's key in hex (empty when unknown).
  public var runKey: String

  public init(
    variant: String, seed: UInt64, outcome: Outcome, parameters: Parameters = [:], runKey: String = ""
  ) {
    self.variant = variant
    self.seed = seed
    self.outcome = outcome
    self.parameters = parameters
    self.runKey = runKey
  }
}

extension Array where Element == AggregationRecord {
  /// `order` followed by any other variant of the records, in order of first appearance.
  func variants(startingWith order: [String]) -> [String] {
    var names = order
    var known = Set(order)
    for record in self where known.insert(record.variant).inserted { names.append(record.variant) }
    return names
  }

  /// `requested`, or when it is empty every metric the records report, in order of first appearance.
  func metricNames(_ requested: [String]) -> [String] {
    guard requested.isEmpty else { return requested }
    var names: [String] = []
    var known = Set<String>()
    for record in self {
      for metric in record.outcome.metrics where known.insert(metric.name).inserted {
        names.append(metric.name)
      }
    }
    return names
  }

  /// `requested`, or when it is empty every series the records report, in order of first appearance.
  func seriesNames(_ requested: [String]) -> [String] {
    guard requested.isEmpty else { return requested }
    var names: [String] = []
    var known = Set<String>()
    for record in self {
      for series in record.outcome.series where known.insert(series.name).inserted {
        names.append(series.name)
      }
    }
    return names
  }
}
