import Foundation

extension CurveTable {
  /// The colours of variants 1, 2, ...: Paul Tol's "bright" scheme (blue, red, green, yellow,
  /// cyan, purple: distinct for colour-blind readers, and no two alike as Okabe and Ito's orange
  /// and vermillion were side by side in a legend), then black and Tol's dark muted colours, then
  /// grey; repeats after twelve variants.
  public static let palette = [
    "#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#000000",
    "#332288", "#882255", "#117733", "#999933", "#BBBBBB",
  ]

  /// `figures/<series>.svg`: per variant a mean line (`<path class="mean">`) over a translucent
  /// ±1 standard-error band (`<path class="band">`), with axes, nice ticks, a title and a legend.
  /// Points with no run leave a gap in the line; points with n = 1 have no band.
  public func svg(settings: FigureSettings = FigureSettings()) -> String {
    let width = settings.width, height = settings.height
    // Wide enough for the longest variant name (about 7 px a character at 12 px), swatch included.
    let longestName = variants.map(\.count).max() ?? 0
    let legendWidth = max(190.0, 60 + 7.0 * Double(longestName))
    let plot = (left: 78.0, top: 56.0, right: width - legendWidth, bottom: height - 58)

    // Ranges.
    var means: [Double] = []
    var lows: [Double] = []
    var highs: [Double] = []
    var counts: [Int] = []
    for column in cells {
      for e in column where e.count > 0 && e.mean.isFinite {
        means.append(e.mean)
        counts.append(e.count)
        if e.standardError.isFinite {
          lows.append(e.mean - e.standardError)
          highs.append(e.mean + e.standardError)
        }
      }
    }
    let allPositive = !means.isEmpty && means.allSatisfy { $0 > 0 }
    let isLog: Bool
    switch settings.yScale {
    case .linear: isLog = false
    case .logarithmic: isLog = allPositive
    case .automatic: isLog = allPositive && means.max()! / means.min()! >= 20
    }
    let yAxis: Axis
    var cutNote = ""
    if isLog {
      let values = means + lows.filter { $0 > 0 } + highs
      yAxis = Axis.logarithmic(min: values.min()!, max: values.max()!)
    } else {
      let values = means + lows + highs
      let (low, high) = Axis.robustRange(values)
      yAxis = Axis.linear(min: low, max: high, pad: true)
      if let lowest = values.min(), let highest = values.max(), lowest < yAxis.lower || highest > yAxis.upper
      {
        let cut = [highest > yAxis.upper ? "above" : nil, lowest < yAxis.lower ? "below" : nil].compactMap {
          $0
        }
        cutNote = "; a few points \(cut.joined(separator: " and ")) the axis (the CSV has them)"
      }
    }
    let xAxis = Axis.linear(min: x.first ?? 0, max: x.last ?? 1, pad: false)
    func px(_ v: Double) -> Double { plot.left + xAxis.fraction(v) * (plot.right - plot.left) }
    func py(_ v: Double) -> Double { plot.bottom - yAxis.fraction(v) * (plot.bottom - plot.top) }
    func c(_ v: Double) -> String { ReportNumber.coordinate(v) }

    let title = settings.title ?? series
    var subtitle = "mean ± standard error over seeds"
    if let lo = counts.min(), let hi = counts.max() {
      subtitle += lo == hi ? " (n = \(lo))" : " (n = \(lo)–\(hi))"
    }
    if isLog { subtitle += ", log scale" }
    subtitle += cutNote

    var out = SVGFigure.opening(
      width: width, height: height, title: title, subtitle: subtitle, left: plot.left,
      definitions: "<defs><clipPath id=\"plot-area\"><rect x=\"\(c(plot.left))\" y=\"\(c(plot.top))\" "
        + "width=\"\(c(plot.right - plot.left))\" height=\"\(c(plot.bottom - plot.top))\"/></clipPath></defs>"
    )

    // Grid and ticks.
    out += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
    for tick in yAxis.ticks where tick.isMajor || yAxis.labelsMinorTicks {
      out +=
        "<line x1=\"\(c(plot.left))\" y1=\"\(c(py(tick.value)))\" x2=\"\(c(plot.right))\" y2=\"\(c(py(tick.value)))\"/>\n"
    }
    for tick in xAxis.ticks {
      out +=
        "<line x1=\"\(c(px(tick.value)))\" y1=\"\(c(plot.top))\" x2=\"\(c(px(tick.value)))\" y2=\"\(c(plot.bottom))\"/>\n"
    }
    out += "</g>\n<g class=\"axes\" stroke=\"#333333\" stroke-width=\"1\">\n"
    out +=
      "<line x1=\"\(c(plot.left))\" y1=\"\(c(plot.bottom))\" x2=\"\(c(plot.right))\" y2=\"\(c(plot.bottom))\"/>\n"
    out +=
      "<line x1=\"\(c(plot.left))\" y1=\"\(c(plot.top))\" x2=\"\(c(plot.left))\" y2=\"\(c(plot.bottom))\"/>\n"
    for tick in yAxis.ticks {
      let length = tick.isMajor ? 5.0 : 3.0
      out +=
        "<line x1=\"\(c(plot.left - length))\" y1=\"\(c(py(tick.value)))\" x2=\"\(c(plot.left))\" y2=\"\(c(py(tick.value)))\"/>\n"
    }
    for tick in xAxis.ticks {
      out +=
        "<line x1=\"\(c(px(tick.value)))\" y1=\"\(c(plot.bottom))\" x2=\"\(c(px(tick.value)))\" y2=\"\(c(plot.bottom + 5))\"/>\n"
    }
    out += "</g>\n<g class=\"tick-labels\" fill=\"#333333\">\n"
    for tick in yAxis.ticks where tick.isMajor || yAxis.labelsMinorTicks {
      out +=
        "<text x=\"\(c(plot.left - 8))\" y=\"\(c(py(tick.value) + 4))\" text-anchor=\"end\">\(xmlEscaped(tick.label))</text>\n"
    }
    for tick in xAxis.ticks {
      out +=
        "<text x=\"\(c(px(tick.value)))\" y=\"\(c(plot.bottom + 19))\" text-anchor=\"middle\">\(xmlEscaped(tick.label))</text>\n"
    }
    out += "</g>\n"
    let xMid = (plot.left + plot.right) / 2, yMid = (plot.top + plot.bottom) / 2
    out += SVGFigure.axisLabels(
      x: settings.xLabel, y: settings.yLabel ?? series, xMid: xMid, xBaseline: plot.bottom + 42, yMid: yMid)

    // Bands first, then lines, so no band hides another variant's mean. Longer curves go under
    // shorter ones: where a run that stops early retraces a longer one (the same training, fewer
    // steps), the shorter stays visible.
    let floorY = yAxis.lower
    var bands = ""
    var lines = ""
    let points = cells.map { column in column.filter { $0.count > 0 && $0.mean.isFinite }.count }
    let drawingOrder = variants.indices.sorted { (points[$0], $1) > (points[$1], $0) }
    for v in drawingOrder {
      let variant = variants[v]
      let colour = Self.palette[v % Self.palette.count]
      var line = ""
      var band = ""
      for segment in segments(of: cells[v]) {
        line += segment.enumerated().map { j, i in
          (j == 0 ? "M" : "L") + c(px(x[i])) + "," + c(py(cells[v][i].mean))
        }.joined(separator: " ")
        if segment.count == 1 { line += " L" + c(px(x[segment[0]])) + "," + c(py(cells[v][segment[0]].mean)) }
        line += " "
        // The band: upper edge forwards, lower edge back; an undefined se (n = 1) pinches it to the mean.
        let upper = segment.map { i -> String in
          let e = cells[v][i]
          let top = e.standardError.isFinite ? e.mean + e.standardError : e.mean
          return c(px(x[i])) + "," + c(py(top))
        }
        let lower = segment.reversed().map { i -> String in
          let e = cells[v][i]
          var bottom = e.standardError.isFinite ? e.mean - e.standardError : e.mean
          if isLog && bottom <= 0 { bottom = floorY }
          return c(px(x[i])) + "," + c(py(bottom))
        }
        if segment.count > 1 { band += "M" + (upper + lower).joined(separator: " L") + " Z " }
      }
      bands +=
        "<path class=\"band\" data-variant=\"\(xmlEscaped(variant))\" d=\"\(band.trimmingCharacters(in: .whitespaces))\" "
        + "fill=\"\(colour)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"
      lines +=
        "<path class=\"mean\" data-variant=\"\(xmlEscaped(variant))\" d=\"\(line.trimmingCharacters(in: .whitespaces))\" "
        + "fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n"
    }
    // Task switches (or other boundaries the experiment names), dashed, under the curves.
    var marks = ""
    for mark in settings.marks where mark > xAxis.lower && mark < xAxis.upper {
      marks +=
        "<line x1=\"\(c(px(mark)))\" y1=\"\(c(plot.top))\" x2=\"\(c(px(mark)))\" y2=\"\(c(plot.bottom))\" "
        + "stroke=\"#777777\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>\n"
    }
    if !marks.isEmpty { out += "<g class=\"marks\">\n" + marks + "</g>\n" }
    out += "<g class=\"curves\" clip-path=\"url(#plot-area)\">\n" + bands + lines + "</g>\n"

    // Legend.
    out += "<g class=\"legend\">\n"
    let legendX = plot.right + 18
    // Only variants with data are listed; each keeps its colour, the same in every figure of a sweep.
    let listed = variants.indices.filter { v in cells[v].contains { $0.count > 0 && $0.mean.isFinite } }
    for (row, v) in listed.enumerated() {
      let variant = variants[v]
      let colour = Self.palette[v % Self.palette.count]
      let y = plot.top + 8 + Double(row) * 20
      out +=
        "<rect x=\"\(c(legendX))\" y=\"\(c(y - 6))\" width=\"24\" height=\"12\" fill=\"\(colour)\" fill-opacity=\"0.18\"/>\n"
      out +=
        "<line x1=\"\(c(legendX))\" y1=\"\(c(y))\" x2=\"\(c(legendX + 24))\" y2=\"\(c(y))\" stroke=\"\(colour)\" stroke-width=\"1.8\"/>\n"
      out +=
        "<text x=\"\(c(legendX + 32))\" y=\"\(c(y + 4))\" fill=\"#222222\">\(xmlEscaped(variant))</text>\n"
    }
    // What the dashed lines are, as the legend's last row.
    if !marks.isEmpty, let label = settings.marksLabel {
      let y = plot.top + 8 + Double(listed.count) * 20
      out +=
        "<line x1=\"\(c(legendX))\" y1=\"\(c(y))\" x2=\"\(c(legendX + 24))\" y2=\"\(c(y))\" stroke=\"#777777\" "
        + "stroke-width=\"1\" stroke-dasharray=\"4 3\"/>\n"
      out += "<text x=\"\(c(legendX + 32))\" y=\"\(c(y + 4))\" fill=\"#222222\">\(xmlEscaped(label))</text>\n"
    }
    out += "</g>\n"
    if means.isEmpty {
      out +=
        "<text x=\"\(c(xMid))\" y=\"\(c(yMid))\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n"
    }
    out += "</svg>\n"
    return out
  }

  /// Runs of consecutive indices whose cell has a finite mean.
  private func segments(of column: [Estimate]) -> [[Int]] {
    var segments: [[Int]] = []
    var current: [Int] = []
    for (i, e) in column.enumerated() {
      if e.count > 0 && e.mean.isFinite {
        current.append(i)
      } else if !current.isEmpty {
        segments.append(current)
        current = []
      }
    }
    if !current.isEmpty { segments.append(current) }
    return segments
  }
}

/// An axis: its range, its scale and its ticks.
struct Axis {
  struct Tick {
    var value: Double
    var label: String
    var isMajor: Bool
  }

  var lower: Double
  var upper: Double
  var isLog: Bool
  var ticks: [Tick]
  /// Whether minor ticks (2 and 5 times a power of ten on a log axis) get grid lines and labels.
  var labelsMinorTicks = false

  /// Where `v` falls between lower (0) and upper (1).
  func fraction(_ v: Double) -> Double {
    if isLog { return (log10(v) - log10(lower)) / (log10(upper) - log10(lower)) }
    return (v - lower) / (upper - lower)
  }

  /// A linear axis from `min` to `max` with about five ticks at 1, 2 or 5 times a power of ten.
  /// With `pad`, the range widens to whole ticks; without, it stays the data range.
  static func linear(min: Double, max: Double, pad: Bool) -> Axis {
    var lo = min, hi = max
    if !(hi > lo) {
      let half = lo == 0 ? 1 : Swift.abs(lo) * 0.1
      lo -= half
      hi += half
    }
    let step = niceStep((hi - lo) / 5)
    if pad {
      lo = (lo / step).rounded(.down) * step
      hi = (hi / step).rounded(.up) * step
    }
    let exponent = Int(log10(step).rounded(.down))
    let magnitude = Swift.max(Swift.abs(lo), Swift.abs(hi))
    let (unit, suffix): (Double, String) =
      magnitude >= 1e6 && step >= 1e5 ? (1e6, "M") : magnitude >= 1e4 && step >= 1e3 ? (1e3, "k") : (1, "")
    let decimals = Swift.max(0, -(exponent - Int(log10(unit))))
    var ticks: [Tick] = []
    let first = Int((lo / step).rounded(.up)), last = Int((hi / step).rounded(.down))
    if first <= last {
      for k in first...last {
        let v = Double(k) * step
        var label = String(format: "%.\(decimals)f", v / unit)
        if label.hasPrefix("-") && Double(label) == 0 { label.removeFirst() }
        ticks.append(
          Tick(value: v, label: label.replacingOccurrences(of: "-", with: "−") + suffix, isMajor: true))
      }
    }
    return Axis(lower: lo, upper: hi, isLog: false, ticks: ticks)
  }

  /// A log axis covering `min`...`max` (both > 0), its ends rounded out to 1, 2 or 5 times a power
  /// of ten; ticks at powers of ten and, when it spans at most two decades, at 2 and 5 times them.
  /// Over more than ten decades (a diverged run's curve) the ends are powers of ten, only every
  /// k-th power of ten is a tick, k chosen for at most ten, and every label is a power (`10⁴`), so
  /// the labels neither pile up nor mix notations and the lowest curve sits on a labelled line.
  static func logarithmic(min: Double, max: Double) -> Axis {
    let loExp = Int(log10(min).rounded(.down))
    let hiExp = Int(log10(max).rounded(.down))
    let every = Swift.max(1, (hiExp + 1 - loExp + 9) / 10)
    var lower = [5.0, 2, 1].map { $0 * pow(10, Double(loExp)) }.first { $0 <= min } ?? pow(10, Double(loExp))
    var upper =
      [1.0, 2, 5, 10].map { $0 * pow(10, Double(hiExp)) }.first { $0 >= max } ?? pow(10, Double(hiExp + 1))
    if every > 1 {
      lower = pow(10, Double(loExp))
      upper = pow(10, Double(loExp + every * ((hiExp + 1 - loExp + every - 1) / every)))
    }
    if !(upper > lower) { upper = lower * 10 }
    let showMinor = log10(upper) - log10(lower) <= 2.01
    var ticks: [Tick] = []
    for e in loExp...(loExp + every * ((hiExp + 1 - loExp + every - 1) / every))
    where (e - loExp) % every == 0 {
      let decade = pow(10, Double(e))
      for m in every == 1 ? [1, 2, 5] : [1] {
        let v = Double(m) * decade
        // A relative tolerance, so 10^e computed by pow still counts as inside the range.
        guard v >= lower * (1 - 1e-9) && v <= upper * (1 + 1e-9) else { continue }
        let label = every > 1 ? powerLabel(e) : logLabel(mantissa: m, exponent: e)
        ticks.append(Tick(value: v, label: label, isMajor: m == 1))
      }
    }
    var axis = Axis(lower: lower, upper: upper, isLog: true, ticks: ticks)
    axis.labelsMinorTicks = showMinor
    return axis
  }

  /// The y range to draw: every value, unless a few points (under 2% of them, like the first bins
  /// of a run that starts far off) would squash the rest, in which case the range of the others,
  /// widened by half of it at most towards the cut points.
  static func robustRange(_ values: [Double]) -> (Double, Double) {
    guard let lowest = values.min(), let highest = values.max() else { return (0, 1) }
    let sorted = values.sorted()
    let k = sorted.count / 50  // 2%
    guard k > 0 else { return (lowest, highest) }
    let (low, high) = (sorted[k], sorted[sorted.count - 1 - k])
    let span = Swift.max(high - low, 1e-12 * Swift.max(abs(high), 1))
    // Cut only where the outliers would take over more than half of the axis.
    let top = highest - high > span ? high + span / 2 : highest
    let bottom = low - lowest > span ? low - span / 2 : lowest
    return (bottom, top)
  }

  static func niceStep(_ raw: Double) -> Double {
    let e = log10(raw).rounded(.down)
    let base = pow(10, e)
    let f = raw / base
    let nice: Double = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10
    return nice * base
  }

  /// `10⁴`, `10⁻²`: a power of ten with a superscript exponent.
  static func powerLabel(_ e: Int) -> String {
    let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
    let exponent = String(abs(e)).map { digits[Int(String($0))!] }
    return "10" + (e < 0 ? "⁻" : "") + String(exponent)
  }

  /// `m·10^e` as plain decimals between 10⁻⁴ and 10⁵, else as `m·1e<e>`.
  static func logLabel(mantissa m: Int, exponent e: Int) -> String {
    if e >= 0 && e <= 5 { return String(m) + String(repeating: "0", count: e) }
    if e < 0 && e >= -4 { return "0." + String(repeating: "0", count: -e - 1) + String(m) }
    return "\(m)e\(e)".replacingOccurrences(of: "-", with: "−")
  }
}
