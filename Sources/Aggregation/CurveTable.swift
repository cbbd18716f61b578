import SweepModel

/// One series averaged over seeds: for each x, the mean, standard error and n per variant.
///
/// Each run's series is already binned by the experiment (e.g. mean squared error per 100
/// examples); here the only average is over runs (seeds) at the same x, never over steps. Runs of
/// different lengths contribute where they have points, so n can fall along the curve. x values are
/// the union over runs, ascending.
public struct CurveTable: Sendable, Equatable {
  /// The series name (`error`).
  public var series: String
  public var variants: [String]
  /// The x values, ascending.
  public var x: [Double]
  /// `cells[v][i]`: variant `variants[v]` at `x[i]` (n = 0 where no run of the variant has that x).
  public var cells: [[Estimate]]

  public init(series: String, variants: [String], x: [Double], cells: [[Estimate]]) {
    self.series = series
    self.variants = variants
    self.x = x
    self.cells = cells
  }

  /// Averages the series named `series` of `records` over seeds, for `variants` (the spec's order).
  public init(series: String, records: [AggregationRecord], variants: [String]) {
    self.series = series
    self.variants = records.variants(startingWith: variants)
    // Exact x values: runs of one sweep compute x the same way, so equal points are equal bits.
    var accumulators: [String: [Double: Welford]] = [:]
    var xs = Set<Double>()
    for record in records {
      guard let curve = record.outcome.series(named: series) else { continue }
      var byX = accumulators[record.variant] ?? [:]
      for (i, value) in curve.values.enumerated() {
        let x = curve.x(i)
        guard !x.isNaN else { continue }
        byX[x, default: Welford()].add(value)
        xs.insert(x)
      }
      accumulators[record.variant] = byX
    }
    let sortedX = xs.sorted()
    x = sortedX
    cells = self.variants.map { variant in
      let byX = accumulators[variant] ?? [:]
      return sortedX.map { (byX[$0] ?? Welford()).estimate }
    }
  }

  /// One table per name in `series` (empty: every series the records report, in order of appearance).
  public static func makeAll(records: [AggregationRecord], variants: [String], series: [String] = [])
    -> [CurveTable]
  {
    records.seriesNames(series).map { CurveTable(series: $0, records: records, variants: variants) }
  }
}
