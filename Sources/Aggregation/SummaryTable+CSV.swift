extension SummaryTable {
  /// `summary.csv`: the header `variant,metric,mean,se,n,not_finite`, then one line per row, numbers
  /// in their shortest round-tripping form (`NaN` where undefined), fields quoted only when they must
  /// be. `n` counts the runs with a finite value; `not_finite` those with NaN or an infinity.
  public var csv: String {
    var out = "variant,metric,mean,se,n,not_finite\n"
    for row in rows {
      out += csvField(row.variant) + "," + csvField(row.metric) + ","
      out += ReportNumber.exact(row.estimate.mean) + "," + ReportNumber.exact(row.estimate.standardError)
      out += "," + String(row.estimate.count) + "," + String(row.estimate.nonFinite) + "\n"
    }
    return out
  }
}

/// A CSV field per RFC 4180: quoted, with doubled quotes, when it holds a comma, quote or line break.
func csvField(_ s: String) -> String {
  guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
  return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
