import Foundation

extension CurveTable {
  /// `figures/<series>.svg` for a series whose x is a category (0, 1, ...: the Boolean function a
  /// test segment used): per category a group of bars, one per variant with data, each its mean
  /// with a ±1 standard-error whisker, from a zero baseline on a linear axis (a bar's length is its
  /// value, so no log scale). Category `k` is labelled `categories[k]` (its number when the list is
  /// short); bars and whiskers carry `data-variant` and `data-category` for tests.
  public func barsSVG(settings: FigureSettings = FigureSettings(), categories: [String]) -> String {
    let width = settings.width, height = settings.height
    let listed = variants.indices.filter { v in cells[v].contains { $0.count > 0 && $0.mean.isFinite } }
    let longestName = listed.map { variants[$0].count }.max() ?? 0
    let legendWidth = max(190.0, 60 + 7.0 * Double(longestName))
    let plot = (left: 78.0, top: 56.0, right: width - legendWidth, bottom: height - 92)
    func c(_ v: Double) -> String { ReportNumber.coordinate(v) }

    var values: [Double] = [0]
    var counts: [Int] = []
    for v in listed {
      for e in cells[v] where e.count > 0 && e.mean.isFinite {
        values.append(e.mean)
        counts.append(e.count)
        if e.standardError.isFinite { values += [e.mean - e.standardError, e.mean + e.standardError] }
      }
    }
    let yAxis = Axis.linear(min: values.min()!, max: values.max()!, pad: true)
    func py(_ v: Double) -> Double { plot.bottom - yAxis.fraction(v) * (plot.bottom - plot.top) }

    var subtitle = "mean ± standard error over seeds"
    if let lo = counts.min(), let hi = counts.max() {
      subtitle += lo == hi ? " (n = \(lo))" : " (n = \(lo)–\(hi))"
    }
    var out = SVGFigure.opening(
      width: width, height: height, title: settings.title ?? series, subtitle: subtitle, left: plot.left)

    out += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
    for tick in yAxis.ticks {
      out +=
        "<line x1=\"\(c(plot.left))\" y1=\"\(c(py(tick.value)))\" x2=\"\(c(plot.right))\" y2=\"\(c(py(tick.value)))\"/>\n"
    }
    out += "</g>\n<g class=\"tick-labels\" fill=\"#333333\">\n"
    for tick in yAxis.ticks {
      out +=
        "<text x=\"\(c(plot.left - 8))\" y=\"\(c(py(tick.value) + 4))\" text-anchor=\"end\">\(xmlEscaped(tick.label))</text>\n"
    }
    out += "</g>\n"

    // The groups: one slot per category x, bars side by side filling 80% of it.
    let slot = (plot.right - plot.left) / Double(max(x.count, 1))
    let barWidth = slot * 0.8 / Double(max(listed.count, 1))
    var bars = ""
    var whiskers = ""
    var labels = ""
    for (i, value) in x.enumerated() {
      let groupLeft = plot.left + Double(i) * slot + slot * 0.1
      let name = Self.categoryName(value, categories)
      for (k, v) in listed.enumerated() {
        let e = cells[v][i]
        guard e.count > 0 && e.mean.isFinite else { continue }
        let colour = Self.palette[v % Self.palette.count]
        let left = groupLeft + Double(k) * barWidth
        let (top, bottom) = (py(max(e.mean, 0)), py(min(e.mean, 0)))
        let data = "data-variant=\"\(xmlEscaped(variants[v]))\" data-category=\"\(xmlEscaped(name))\""
        bars +=
          "<rect class=\"bar\" \(data) x=\"\(c(left))\" y=\"\(c(top))\" width=\"\(c(barWidth))\" "
          + "height=\"\(c(bottom - top))\" fill=\"\(colour)\"/>\n"
        if e.standardError.isFinite && e.standardError > 0 {
          let centre = left + barWidth / 2
          let (high, low) = (py(e.mean + e.standardError), py(e.mean - e.standardError))
          whiskers +=
            "<path class=\"whisker\" \(data) d=\"M\(c(centre)),\(c(high)) L\(c(centre)),\(c(low)) "
            + "M\(c(centre - barWidth / 4)),\(c(high)) L\(c(centre + barWidth / 4)),\(c(high)) "
            + "M\(c(centre - barWidth / 4)),\(c(low)) L\(c(centre + barWidth / 4)),\(c(low))\"/>\n"
        }
      }
      // Names slant down to the left from under their group's centre, so long ones do not collide.
      let centre = plot.left + (Double(i) + 0.5) * slot
      labels +=
        "<text x=\"\(c(centre))\" y=\"\(c(plot.bottom + 14))\" text-anchor=\"end\" "
        + "transform=\"rotate(-35 \(c(centre)) \(c(plot.bottom + 14)))\">\(xmlEscaped(name))</text>\n"
    }
    out += "<g class=\"bars\">\n" + bars + "</g>\n"
    out +=
      "<g class=\"whiskers\" stroke=\"#222222\" stroke-width=\"1\" fill=\"none\">\n" + whiskers + "</g>\n"
    out += "<g class=\"axes\" stroke=\"#333333\" stroke-width=\"1\">\n"
    out +=
      "<line x1=\"\(c(plot.left))\" y1=\"\(c(py(0)))\" x2=\"\(c(plot.right))\" y2=\"\(c(py(0)))\"/>\n"
    out +=
      "<line x1=\"\(c(plot.left))\" y1=\"\(c(plot.top))\" x2=\"\(c(plot.left))\" y2=\"\(c(plot.bottom))\"/>\n"
    out += "</g>\n<g class=\"category-labels\" fill=\"#333333\">\n" + labels + "</g>\n"
    let xMid = (plot.left + plot.right) / 2, yMid = (plot.top + plot.bottom) / 2
    out += SVGFigure.axisLabels(
      x: settings.xLabel, y: settings.yLabel ?? series, xMid: xMid, xBaseline: height - 12, yMid: yMid)

    out += "<g class=\"legend\">\n"
    let legendX = plot.right + 18
    for (row, v) in listed.enumerated() {
      let y = plot.top + 8 + Double(row) * 20
      out +=
        "<rect x=\"\(c(legendX))\" y=\"\(c(y - 6))\" width=\"24\" height=\"12\" fill=\"\(Self.palette[v % Self.palette.count])\"/>\n"
      out +=
        "<text x=\"\(c(legendX + 32))\" y=\"\(c(y + 4))\" fill=\"#222222\">\(xmlEscaped(variants[v]))</text>\n"
    }
    out += "</g>\n"
    if listed.isEmpty {
      out +=
        "<text x=\"\(c(xMid))\" y=\"\(c(yMid))\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n"
    }
    out += "</svg>\n"
    return out
  }

  /// The label of category `value`: its name when `value` is a whole number that indexes
  /// `categories`, else the number itself.
  static func categoryName(_ value: Double, _ categories: [String]) -> String {
    if value.rounded() == value, value >= 0, value < Double(categories.count) {
      return categories[Int(value)]
    }
    return value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
  }
}
