import Foundation

/// Fixed, locale-free number formatting for the files MetaSweep writes.
enum ReportNumber {
  /// Shortest text that reads back to the same Double (Swift's `description`), with `NaN`, `inf` and
  /// `-inf` for the non-finite values, as pandas and R read them.
  static func exact(_ x: Double) -> String {
    if x.isNaN { return "NaN" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    return x.description
  }

  /// `significant` significant digits (`%g`), for tables meant for eyes.
  static func short(_ x: Double, significant: Int) -> String {
    if x.isNaN { return "NaN" }
    if x.isInfinite { return x < 0 ? "−∞" : "∞" }
    return String(format: "%.\(significant)g", x)
  }

  /// Fixed two decimals, for SVG coordinates.
  static func coordinate(_ x: Double) -> String {
    let text = String(format: "%.2f", x)
    return text == "-0.00" ? "0.00" : text
  }
}

/// Escapes text for XML (and HTML) content and attribute values.
public func xmlEscaped(_ s: String) -> String {
  var out = ""
  out.reserveCapacity(s.count)
  for c in s {
    switch c {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&apos;"
    default: out.append(c)
    }
  }
  return out
}
