import SweepModel

extension SummaryTable {
  /// `summary.tex`: the tables of summary.md for a paper, one booktabs `table` per metric group,
  /// each cell `$mean \pm se$` rounded as every table is (``meanWithError(_:_:scale:)``), and in
  /// each column the best mean in bold where `directions` knows the metric's direction (keyed by
  /// the metric's name without its task or stage index, ``TidyTables/split(metric:)``). Seeds are
  /// named in the caption when every cell has the same n, else in each cell. Needs
  /// `\usepackage{booktabs}`.
  public func latex(title: String, directions: [String: MetricDirection] = [:]) -> String {
    var out = "% \(title): written by MetaSweep from the journal; needs \\usepackage{booktabs}.\n"
    var lookup: [String: [String: Estimate]] = [:]
    for row in rows { lookup[row.metric, default: [:]][row.variant] = row.estimate }
    for group in metricGroups() {
      let counts = Set(group.metrics.flatMap { metric in variants.compactMap { lookup[metric]?[$0]?.count } })
      let sharedN = counts.count == 1 ? counts.first : nil
      var best: [String: String] = [:]  // metric -> variant
      for metric in group.metrics {
        guard let direction = directions[TidyTables.split(metric: metric).metric] else { continue }
        let candidates = variants.compactMap { v in
          lookup[metric]?[v].flatMap { $0.count > 0 && $0.mean.isFinite ? (v, $0.mean) : nil }
        }
        let chosen =
          direction == .lowerIsBetter
          ? candidates.min { $0.1 < $1.1 } : candidates.max { $0.1 < $1.1 }
        // A tie names no winner.
        if let chosen, candidates.filter({ $0.1 == chosen.1 }).count == 1 { best[metric] = chosen.0 }
      }
      let heading = group.heading.map { "\(Self.latexText($0)): " } ?? ""
      let seeds = sharedN.map { ", n = \($0) seeds" } ?? ""
      let marked = best.isEmpty ? "" : "; the best mean of each column in bold"
      out += "\n\\begin{table}[t]\n\\centering\n"
      out += "\\caption{\(heading)mean $\\pm$ standard error over seeds\(seeds)\(marked).}\n"
      out += "\\begin{tabular}{l" + String(repeating: "r", count: group.metrics.count) + "}\n\\toprule\n"
      out += (["variant"] + group.metrics.map(Self.latexText)).joined(separator: " & ") + " \\\\\n\\midrule\n"
      for variant in variants {
        var cells = [Self.latexText(variant)]
        for metric in group.metrics {
          guard let e = lookup[metric]?[variant], e.count > 0 else {
            cells.append("--")
            continue
          }
          var value =
            e.count > 1 ? meanWithError(e.mean, e.standardError) : ReportNumber.short(e.mean, significant: 4)
          value = value.replacingOccurrences(of: "±", with: "\\pm").replacingOccurrences(of: "−", with: "-")
          if best[metric] == variant { value = "\\mathbf{\(value)}" }
          var cell = "$\(value)$"
          if sharedN == nil { cell += "\\,(n=\(e.count))" }
          cells.append(cell)
        }
        out += cells.joined(separator: " & ") + " \\\\\n"
      }
      out += "\\bottomrule\n\\end{tabular}\n\\end{table}\n"
    }
    return out
  }

  /// Text safe in LaTeX's text mode: its ten special characters escaped.
  static func latexText(_ s: String) -> String {
    var out = ""
    for c in s {
      switch c {
      case "\\": out += "\\textbackslash{}"
      case "{", "}", "$", "&", "#", "%", "_": out += "\\" + String(c)
      case "^": out += "\\textasciicircum{}"
      case "~": out += "\\textasciitilde{}"
      default: out.append(c)
      }
    }
    return out
  }
}
