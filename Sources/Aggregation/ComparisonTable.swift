import Foundation

/// Every variant against a baseline, metric by metric, paired by seed: the comparison a claim like
/// "crossprop forgets less than backprop" needs, since runs with the same seed share their data and
/// initial weights.
///
/// For each variant other than the baseline and each metric: the mean difference (variant −
/// baseline) over the seeds where both values are finite, its standard error, the 95% confidence
/// interval from Student's t with n − 1 degrees of freedom, the paired t-test's two-sided p-value
/// (scipy.stats.ttest_rel's), and that p-value corrected for the whole table by Holm's step-down
/// method. Undefined statistics (fewer than two seeds, or differences that are all equal) are NaN and
/// take no part in the correction.
public struct ComparisonTable: Sendable, Equatable {
  public struct Row: Sendable, Equatable {
    public var variant: String
    public var metric: String
    /// Seeds both variants have finite values for.
    public var count: Int
    public var mean: Double
    public var standardError: Double
    public var intervalLow: Double
    public var intervalHigh: Double
    public var t: Double
    public var p: Double
    public var holmP: Double
  }

  public var baseline: String
  public var rows: [Row]

  /// Compares every variant of `records` (in `variants` order) with `baseline` on `metrics` (empty:
  /// every metric reported).
  public init(records: [AggregationRecord], variants: [String], metrics: [String], baseline: String) {
    self.baseline = baseline
    let names = records.metricNames(metrics)
    // The first value of each name per run counts, as in the summary.
    var values: [String: [String: [UInt64: Double]]] = [:]
    for record in records {
      var seen = Set<String>()
      for metric in record.outcome.metrics where seen.insert(metric.name).inserted {
        values[record.variant, default: [:]][metric.name, default: [:]][record.seed] = metric.value
      }
    }
    var rows: [Row] = []
    for variant in records.variants(startingWith: variants) where variant != baseline {
      for metric in names {
        let difference = PairedDifference(
          values[variant]?[metric] ?? [:], minus: values[baseline]?[metric] ?? [:])
        let n = difference.count
        let se = difference.standardError
        var row = Row(
          variant: variant, metric: metric, count: n, mean: difference.mean, standardError: se,
          intervalLow: .nan, intervalHigh: .nan, t: .nan, p: .nan, holmP: .nan)
        if se > 0, let interval = difference.interval {
          row.intervalLow = interval.lowerBound
          row.intervalHigh = interval.upperBound
          row.t = row.mean / se
          row.p = StudentT.twoSidedP(row.t, degreesOfFreedom: Double(n - 1))
        }
        rows.append(row)
      }
    }
    let adjusted = Self.holm(rows.map(\.p))
    for i in rows.indices { rows[i].holmP = adjusted[i] }
    self.rows = rows
  }

  /// Holm's step-down adjustment of `p` (NaNs stay NaN and are not counted): with the m defined
  /// p-values in ascending order p₍₁₎ ≤ … ≤ p₍ₘ₎, the adjusted p₍ᵢ₎ is
  /// min(1, max over j ≤ i of (m − j + 1) · p₍ⱼ₎).
  public static func holm(_ p: [Double]) -> [Double] {
    let defined = p.indices.filter { !p[$0].isNaN }.sorted { (p[$0], $0) < (p[$1], $1) }
    var out = [Double](repeating: .nan, count: p.count)
    var running = 0.0
    for (rank, index) in defined.enumerated() {
      running = max(running, min(1, Double(defined.count - rank) * p[index]))
      out[index] = running
    }
    return out
  }

  /// `comparisons.csv`: `variant,metric,baseline,n,mean_difference,se,ci95_low,ci95_high,t,p,p_holm`,
  /// numbers exact.
  public var csv: String {
    var out = "variant,metric,baseline,n,mean_difference,se,ci95_low,ci95_high,t,p,p_holm\n"
    for row in rows {
      out += [csvField(row.variant), csvField(row.metric), csvField(baseline), String(row.count)].joined(
        separator: ",")
      for x in [row.mean, row.standardError, row.intervalLow, row.intervalHigh, row.t, row.p, row.holmP] {
        out += "," + ReportNumber.exact(x)
      }
      out += "\n"
    }
    return out
  }

  /// The section of summary.md: one table per metric group, the rows that differ at p_holm < 0.05
  /// marked.
  public var markdown: String {
    var out = "\n## Paired differences against \(markdownCell(baseline))\n\n"
    out +=
      "Each variant minus `\(markdownCell(baseline))`, seed by seed over the seeds both have: mean ± SE, "
    out += "95% interval (Student's t), the paired t-test's p, and p corrected by Holm across this table "
    out += "(\(rows.filter { !$0.p.isNaN }.count) tests). ✱ marks p_holm < 0.05.\n\n"
    out += "| variant | metric | difference | 95% interval | n | p | p (Holm) |\n"
    out += "|---|---|---:|---:|---:|---:|---:|\n"
    for row in rows {
      let difference = row.count >= 2 ? meanWithError(row.mean, row.standardError) : "–"
      let interval =
        row.intervalLow.isNaN
        ? "–" : intervalText(row.intervalLow...row.intervalHigh, error: row.standardError)
      let mark = row.holmP < 0.05 ? " ✱" : ""
      out += "| \(markdownCell(row.variant)) | \(markdownCell(row.metric)) | \(difference) | \(interval) | "
      out += "\(row.count) | \(Self.pText(row.p)) | \(Self.pText(row.holmP))\(mark) |\n"
    }
    return out
  }

  /// A p-value for eyes: two significant digits, `< 1e-16` below double precision's reach.
  static func pText(_ p: Double) -> String {
    if p.isNaN { return "–" }
    if p < 1e-16 { return "< 1e-16" }
    return ReportNumber.short(p, significant: 2)
  }
}
