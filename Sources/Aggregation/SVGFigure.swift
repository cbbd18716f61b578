/// What every figure the report draws starts with.
enum SVGFigure {
  /// The `<svg>` element of a `width` × `height` figure (Helvetica 12 px), its `<title>`, a white
  /// background, `definitions` if any, then `title` (bold, 16 px) and `subtitle` (grey) drawn at
  /// x = `left`; each element on a line of its own.
  static func opening(
    width: Double, height: Double, title: String, subtitle: String?, left: Double, definitions: String? = nil
  )
    -> String
  {
    func c(_ v: Double) -> String { ReportNumber.coordinate(v) }
    var out = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(c(width))" height="\(c(height))" \
      viewBox="0 0 \(c(width)) \(c(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
      <title>\(xmlEscaped(title))</title>
      <rect x="0" y="0" width="\(c(width))" height="\(c(height))" fill="#ffffff"/>

      """
    if let definitions { out += definitions + "\n" }
    out +=
      "<text x=\"\(c(left))\" y=\"24\" font-size=\"16\" font-weight=\"bold\" fill=\"#222222\">\(xmlEscaped(title))</text>\n"
    if let subtitle {
      out += "<text x=\"\(c(left))\" y=\"42\" fill=\"#555555\">\(xmlEscaped(subtitle))</text>\n"
    }
    return out
  }

  /// The axis titles: `x` centred at (`xMid`, `xBaseline`), `y` rotated at x = 20, centred on `yMid`.
  static func axisLabels(x: String, y: String, xMid: Double, xBaseline: Double, yMid: Double) -> String {
    func c(_ v: Double) -> String { ReportNumber.coordinate(v) }
    return
      "<text class=\"x-label\" x=\"\(c(xMid))\" y=\"\(c(xBaseline))\" text-anchor=\"middle\" fill=\"#222222\">"
      + xmlEscaped(x) + "</text>\n"
      + "<text class=\"y-label\" x=\"20\" y=\"\(c(yMid))\" text-anchor=\"middle\" fill=\"#222222\" "
      + "transform=\"rotate(-90 20 \(c(yMid)))\">" + xmlEscaped(y) + "</text>\n"
  }
}
