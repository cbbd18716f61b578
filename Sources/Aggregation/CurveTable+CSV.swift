extension CurveTable {
  /// `curves/<series>.csv`: `x,<variant>_mean,<variant>_se,<variant>_n,...` in variant order, one
  /// line per x; where a variant has no point, its mean and se are `NaN` and n is 0.
  public var csv: String {
    var header = ["x"]
    for variant in variants { header += ["\(variant)_mean", "\(variant)_se", "\(variant)_n"].map(csvField) }
    var out = header.joined(separator: ",") + "\n"
    for (i, x) in x.enumerated() {
      var fields = [ReportNumber.exact(x)]
      for column in cells {
        let e = column[i]
        fields += [ReportNumber.exact(e.mean), ReportNumber.exact(e.standardError), String(e.count)]
      }
      out += fields.joined(separator: ",") + "\n"
    }
    return out
  }
}
