extension ScatterPlot {
  /// The colours of classes 0, 1, ...: Paul Tol's "muted" scheme (nine colours told apart by
  /// colour-blind readers, for more categories than his "bright" one has) and black; classes past
  /// the palette repeat it.
  public static let palette = [
    "#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499",
    "#000000",
  ]

  /// The colour of points whose label has no class name.
  static let otherColour = "#999999"

  /// `figures/<name>.svg`: one `<circle>` per point in `<g class="points">`, in the points' order
  /// (a point with a non-finite coordinate is left out),
  /// inside a plain frame with axis labels but no ticks (t-SNE coordinates have no units), and a
  /// legend (`<g class="legend">`) with one entry per class name, plus "other" when some label
  /// has no name. Coordinates have two decimals, so equal plots give equal bytes.
  public func svg(settings: ScatterPlotSettings = ScatterPlotSettings()) -> String {
    let width = settings.width, height = settings.height
    let hasOther = points.contains { !classNames.indices.contains($0.label) }
    let legendNames = classNames + (hasOther ? ["other"] : [])
    // Wide enough for the longest class name (about 7 px a character at 12 px), swatch included.
    let legendWidth = max(130.0, 50 + 7.0 * Double(legendNames.map(\.count).max() ?? 0))
    let top = subtitle == nil ? 44.0 : 60
    let frame = (left: 40.0, top: top, right: width - legendWidth, bottom: height - 40)
    func c(_ v: Double) -> String { ReportNumber.coordinate(v) }

    // The data range, padded by 4% a side; equal aspect widens the narrower range to match.
    let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
    var xRange = (lower: finite.map(\.x).min() ?? -1, upper: finite.map(\.x).max() ?? 1)
    var yRange = (lower: finite.map(\.y).min() ?? -1, upper: finite.map(\.y).max() ?? 1)
    func widened(_ range: (lower: Double, upper: Double), to span: Double) -> (lower: Double, upper: Double) {
      let middle = (range.lower + range.upper) / 2
      return (middle - span / 2, middle + span / 2)
    }
    xRange = widened(xRange, to: max(xRange.upper - xRange.lower, 1e-9) * 1.08)
    yRange = widened(yRange, to: max(yRange.upper - yRange.lower, 1e-9) * 1.08)
    let frameWidth = frame.right - frame.left, frameHeight = frame.bottom - frame.top
    if settings.hasEqualAspect {
      let unitsPerPixel = max(
        (xRange.upper - xRange.lower) / frameWidth, (yRange.upper - yRange.lower) / frameHeight)
      xRange = widened(xRange, to: unitsPerPixel * frameWidth)
      yRange = widened(yRange, to: unitsPerPixel * frameHeight)
    }
    func px(_ x: Double) -> Double {
      frame.left + (x - xRange.lower) / (xRange.upper - xRange.lower) * frameWidth
    }
    func py(_ y: Double) -> Double {
      frame.bottom - (y - yRange.lower) / (yRange.upper - yRange.lower) * frameHeight
    }
    func colour(_ label: Int) -> String {
      classNames.indices.contains(label) ? Self.palette[label % Self.palette.count] : Self.otherColour
    }

    var out = SVGFigure.opening(
      width: width, height: height, title: title, subtitle: subtitle, left: frame.left)
    out +=
      "<rect class=\"frame\" x=\"\(c(frame.left))\" y=\"\(c(frame.top))\" width=\"\(c(frameWidth))\" "
      + "height=\"\(c(frameHeight))\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
    let xMiddle = (frame.left + frame.right) / 2, yMiddle = (frame.top + frame.bottom) / 2
    out +=
      "<text class=\"x-label\" x=\"\(c(xMiddle))\" y=\"\(c(frame.bottom + 24))\" text-anchor=\"middle\" "
      + "fill=\"#222222\">\(xmlEscaped(settings.xLabel))</text>\n"
    out +=
      "<text class=\"y-label\" x=\"24\" y=\"\(c(yMiddle))\" text-anchor=\"middle\" fill=\"#222222\" "
      + "transform=\"rotate(-90 24 \(c(yMiddle)))\">\(xmlEscaped(settings.yLabel))</text>\n"

    out += "<g class=\"points\" fill-opacity=\"\(c(settings.pointOpacity))\" stroke=\"none\">\n"
    let radius = c(settings.pointRadius)
    for point in finite {
      out +=
        "<circle cx=\"\(c(px(point.x)))\" cy=\"\(c(py(point.y)))\" r=\"\(radius)\" fill=\"\(colour(point.label))\"/>\n"
    }
    out += "</g>\n"
    if finite.isEmpty {
      out +=
        "<text x=\"\(c(xMiddle))\" y=\"\(c(yMiddle))\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n"
    }

    out += "<g class=\"legend\">\n"
    let legendX = frame.right + 20
    for (index, name) in legendNames.enumerated() {
      let y = frame.top + 10 + Double(index) * 20
      let fill = index < classNames.count ? colour(index) : Self.otherColour
      out +=
        "<g class=\"legend-entry\"><circle cx=\"\(c(legendX + 5))\" cy=\"\(c(y))\" r=\"\(c(5))\" fill=\"\(fill)\"/>"
        + "<text x=\"\(c(legendX + 18))\" y=\"\(c(y + 4))\" fill=\"#222222\">\(xmlEscaped(name))</text></g>\n"
    }
    out += "</g>\n</svg>\n"
    return out
  }
}
