extension SummaryTable {
  /// `summary.md`: one table per metric group, variants down and metrics across, each cell
  /// `mean ± se (n=30)`, rounded by ``meanWithError(_:_:scale:)``.
  ///
  /// Metrics are grouped by their name up to the last `_` (`error_task1`, `error_task2` → `error`);
  /// metrics alone in their group share one table, so a few scalars do not make many one-column tables.
  /// With `intervals`, each cell also shows the mean's 95% confidence interval (Student's t).
  public func markdown(title: String, intervals: Bool = false) -> String {
    var out = "# \(title)\n\nMean ± standard error over seeds (n = number of seeds that reported the metric)"
    out += intervals ? "; [95% confidence interval, Student's t].\n" : ".\n"
    let lookup = Dictionary(rows.map { (RowKey(variant: $0.variant, metric: $0.metric), $0.estimate) }) {
      a, _ in a
    }
    for group in metricGroups() {
      out += "\n"
      if let heading = group.heading { out += "## \(heading)\n\n" }
      out += "| variant | " + group.metrics.map(markdownCell).joined(separator: " | ") + " |\n"
      out += "|---|" + String(repeating: "---:|", count: group.metrics.count) + "\n"
      for variant in variants {
        let cells = group.metrics.map { metric in
          lookup[RowKey(variant: variant, metric: metric)].map { Self.cell($0, interval: intervals) } ?? "—"
        }
        out += "| " + markdownCell(variant) + " | " + cells.joined(separator: " | ") + " |\n"
      }
    }
    return out
  }

  private struct RowKey: Hashable {
    var variant: String
    var metric: String
  }

  struct MetricGroup: Equatable {
    /// The shared prefix, or nil for the table of ungrouped metrics.
    var heading: String?
    var metrics: [String]
  }

  /// Metrics grouped by prefix, in order of each group's first metric; singletons collected last.
  func metricGroups() -> [MetricGroup] {
    var prefixes: [String] = []
    var members: [String: [String]] = [:]
    for metric in metrics {
      let prefix = metric.lastIndex(of: "_").map { String(metric[..<$0]) } ?? metric
      if members[prefix] == nil { prefixes.append(prefix) }
      members[prefix, default: []].append(metric)
    }
    var groups: [MetricGroup] = []
    var singles: [String] = []
    for prefix in prefixes {
      let names = members[prefix]!
      if names.count > 1 {
        groups.append(MetricGroup(heading: prefix, metrics: names))
      } else {
        singles += names
      }
    }
    if !singles.isEmpty {
      groups.append(MetricGroup(heading: groups.isEmpty ? nil : "other metrics", metrics: singles))
    }
    return groups
  }

  /// `0.25 ± 0.013 (n=30)`; runs that reported NaN or an infinity are named beside n:
  /// `0.25 ± 0.013 (n=28, 2 not finite)`, `— (n=0, 5 not finite)`.
  /// With `interval`: `0.25 ± 0.013 [0.22, 0.28] (n=30)`.
  static func cell(_ e: Estimate, interval: Bool = false) -> String {
    let n = e.nonFinite > 0 ? "(n=\(e.count), \(e.nonFinite) not finite)" : "(n=\(e.count))"
    switch e.count {
    case 0: return "— " + n
    case 1: return ReportNumber.short(e.mean, significant: 4) + " " + n
    default:
      var text = meanWithError(e.mean, e.standardError)
      if interval, e.standardError > 0 {
        let half = PairedDifference.studentTQuantile975(degreesOfFreedom: e.count - 1) * e.standardError
        text += " " + intervalText((e.mean - half)...(e.mean + half), error: e.standardError)
      }
      return text + " " + n
    }
  }
}

/// Text safe inside a markdown table cell.
func markdownCell(_ s: String) -> String {
  s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
}
