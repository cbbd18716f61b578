import SweepModel

/// Mean and standard error over seeds of every scalar metric, per variant.
///
/// Rows come in variant order (the spec's, then any other variant in the order its runs appear),
/// then metric order. A run that did not report a metric is not counted for it (n is smaller);
/// a variant with no run reporting the metric still gets its row, with n = 0.
public struct SummaryTable: Sendable, Equatable {
  public struct Row: Sendable, Equatable {
    public var variant: String
    public var metric: String
    public var estimate: Estimate

    public init(variant: String, metric: String, estimate: Estimate) {
      self.variant = variant
      self.metric = metric
      self.estimate = estimate
    }
  }

  public var variants: [String]
  public var metrics: [String]
  public var rows: [Row]

  /// Aggregates `records` for `variants` (the spec's order) and `metrics` (empty: all reported).
  public init(records: [AggregationRecord], variants: [String], metrics: [String] = []) {
    self.variants = records.variants(startingWith: variants)
    self.metrics = records.metricNames(metrics)
    let metricIndex = Dictionary(self.metrics.enumerated().map { ($0.element, $0.offset) }) { first, _ in
      first
    }
    var accumulators: [String: [Welford]] = [:]
    for record in records {
      var row = accumulators[record.variant] ?? Array(repeating: Welford(), count: self.metrics.count)
      // The first value of a name counts, as Outcome.metric(_:) reads it.
      var seen = Set<String>()
      for metric in record.outcome.metrics where seen.insert(metric.name).inserted {
        if let i = metricIndex[metric.name] { row[i].add(metric.value) }
      }
      accumulators[record.variant] = row
    }
    rows = []
    for variant in self.variants {
      let row = accumulators[variant] ?? Array(repeating: Welford(), count: self.metrics.count)
      for (i, metric) in self.metrics.enumerated() {
        rows.append(Row(variant: variant, metric: metric, estimate: row[i].estimate))
      }
    }
  }

  /// The estimate for (variant, metric), if the table has that row.
  public func estimate(variant: String, metric: String) -> Estimate? {
    rows.first { $0.variant == variant && $0.metric == metric }?.estimate
  }
}
