import Foundation
import Testing

@testable import Aggregation

#if canImport(FoundationXML)
  import FoundationXML
#endif

let fashionMNISTClasses = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

/// `count` points in ten blobs along a circle, labels cycling 0...9, from a fixed linear
/// congruential sequence (the test needs numbers, not a seed's statistics).
func blobPoints(count: Int, classes: Int = 10) -> [ScatterPoint] {
  var state: UInt64 = 12345
  func next() -> Double {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Double(state >> 11) * 0x1p-53 - 0.5
  }
  return (0..<count).map { i in
    let label = i % classes
    let angle = Double(label) / Double(classes) * 2 * Double.pi
    return ScatterPoint(x: 30 * cos(angle) + 8 * next(), y: 20 * sin(angle) + 8 * next(), label: label)
  }
}

/// What an XML parser saw in an SVG: every element with its attributes and the groups it is in,
/// and the text of each `<text>`.
final class SVGOutline: NSObject, XMLParserDelegate {
  struct Element {
    var name: String
    var attributes: [String: String]
    /// The `class` attributes of the enclosing `<g>` elements, outermost first.
    var groups: [String]
  }
  var elements: [Element] = []
  var texts: [(groups: [String], text: String)] = []
  private var groups: [String?] = []
  private var currentText: String?

  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
    attributes: [String: String]
  ) {
    elements.append(Element(name: name, attributes: attributes, groups: groups.compactMap { $0 }))
    if name == "g" { groups.append(attributes["class"]) }
    if name == "text" { currentText = "" }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) { currentText? += string }

  func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?)
  {
    if name == "g" { groups.removeLast() }
    if name == "text", let text = currentText {
      texts.append((groups.compactMap { $0 }, text))
      currentText = nil
    }
  }

  /// Parses `svg`, failing the test when it is not well-formed XML.
  static func parse(_ svg: String) -> SVGOutline {
    let outline = SVGOutline()
    let parser = XMLParser(data: Data(svg.utf8))
    parser.delegate = outline
    let isWellFormed = parser.parse()
    #expect(isWellFormed, "not well-formed XML: \(String(describing: parser.parserError))")
    return outline
  }
}

@Test func scatterPlotSVG_isWellFormedXML_withOneCirclePerPoint_andALegendEntryPerClass() throws {
  let points = blobPoints(count: 2500)
  let plot = ScatterPlot(
    title: "Hidden units after stage 1 <backprop & friends>", subtitle: "5-NN accuracy in the map: 0.912",
    classNames: fashionMNISTClasses, points: points)
  let svg = plot.svg()
  let outline = SVGOutline.parse(svg)

  let dots = outline.elements.filter { $0.name == "circle" && $0.groups.last == "points" }
  #expect(dots.count == 2500)
  // Each point keeps its order and its class's colour, and lies inside the frame.
  let frame = try #require(outline.elements.first { $0.attributes["class"] == "frame" })
  let left = Double(frame.attributes["x"]!)!, top = Double(frame.attributes["y"]!)!
  let right = left + Double(frame.attributes["width"]!)!, bottom = top + Double(frame.attributes["height"]!)!
  for (dot, point) in zip(dots, points) {
    #expect(dot.attributes["fill"] == ScatterPlot.palette[point.label])
    let x = Double(dot.attributes["cx"]!)!, y = Double(dot.attributes["cy"]!)!
    #expect(x > left && x < right && y > top && y < bottom)
  }
  #expect(Set(ScatterPlot.palette).count == 10)

  let entries = outline.elements.filter { $0.name == "g" && $0.attributes["class"] == "legend-entry" }
  #expect(entries.count == 10)
  let legendTexts = outline.texts.filter { $0.groups.contains("legend") }.map(\.text)
  #expect(legendTexts == fashionMNISTClasses)
  let swatches = outline.elements.filter { $0.name == "circle" && $0.groups.last == "legend-entry" }
  #expect(swatches.map { $0.attributes["fill"]! } == ScatterPlot.palette)

  // No tick labels: the only texts are the title, the subtitle, the axis labels and the legend.
  let otherTexts = outline.texts.filter { !$0.groups.contains("legend") }.map(\.text)
  #expect(
    otherTexts == [
      "Hidden units after stage 1 <backprop & friends>", "5-NN accuracy in the map: 0.912", "t-SNE 1",
      "t-SNE 2",
    ])
  #expect(!outline.elements.contains { $0.name == "line" })

  if let folder = ProcessInfo.processInfo.environment["METASWEEP_FIGURE_DIR"] {
    try svg.write(toFile: folder + "/scatter.svg", atomically: true, encoding: .utf8)
  }
}

@Test func scatterPlotSVG_isByteIdenticalForEqualPlots_withTwoDecimalNumbers() throws {
  let plot = ScatterPlot(
    title: "map", classNames: ["0", "1", "2"], points: blobPoints(count: 90, classes: 3))
  let svg = plot.svg()
  #expect(svg == plot.svg())
  let numbers = try Regex(#" (cx|cy|r)="([^"]*)""#)
  var count = 0
  for match in svg.matches(of: numbers) {
    let value = String(match.output[2].substring!)
    #expect(try Regex(#"^-?[0-9]+\.[0-9]{2}$"#).wholeMatch(in: value) != nil, "\(value)")
    count += 1
  }
  #expect(count == 3 * (90 + 3))
}

@Test func scatterPlotSVG_keepsEqualAspect_andDrawsUnnamedLabelsGreyAsOther() throws {
  // (0, 0), (10, 1) and (−10, −1): with equal aspect, 10 units of x span 10× the pixels of 1 unit of y.
  let points = [
    ScatterPoint(x: 0, y: 0, label: 0), ScatterPoint(x: 10, y: 1, label: 1),
    ScatterPoint(x: -10, y: -1, label: 7),
    ScatterPoint(x: .nan, y: 0, label: 0),
  ]
  let plot = ScatterPlot(title: "aspect", classNames: ["a", "b"], points: points)
  let outline = SVGOutline.parse(plot.svg())
  let dots = outline.elements.filter { $0.name == "circle" && $0.groups.last == "points" }
  #expect(dots.count == 3)  // the NaN point is left out
  let x = dots.map { Double($0.attributes["cx"]!)! }, y = dots.map { Double($0.attributes["cy"]!)! }
  let xPerUnit = (x[1] - x[0]) / 10, yPerUnit = (y[0] - y[1]) / 1
  #expect(abs(xPerUnit - yPerUnit) < 0.02 * xPerUnit, "x \(xPerUnit) px/unit, y \(yPerUnit) px/unit")
  #expect(dots[2].attributes["fill"] == ScatterPlot.otherColour)
  #expect(outline.texts.filter { $0.groups.contains("legend") }.map(\.text) == ["a", "b", "other"])

  // Without equal aspect, each axis fills the frame.
  let stretched = SVGOutline.parse(plot.svg(settings: ScatterPlotSettings { $0.hasEqualAspect = false }))
  let sx = stretched.elements.filter { $0.name == "circle" && $0.groups.last == "points" }
  let stretchedX = sx.map { Double($0.attributes["cx"]!)! },
    stretchedY = sx.map { Double($0.attributes["cy"]!)! }
  #expect((stretchedY[0] - stretchedY[1]) > 5 * (stretchedX[1] - stretchedX[0]) / 10)

  // An empty plot is still a well-formed figure.
  #expect(
    SVGOutline.parse(ScatterPlot(title: "none", classNames: ["a"], points: []).svg()).elements.count > 0)
}

@Test func embeddingCSV_hasOneExactLinePerPoint_inEmbeddingThenPointOrder() {
  let table = EmbeddingTable(embeddings: [
    .init(
      variant: "backprop", seed: 1,
      points: [ScatterPoint(x: 0.1, y: -2.5, label: 3), ScatterPoint(x: 1e-17, y: .nan, label: 0)]),
    .init(
      variant: "crossprop, eta=0", seed: 18_446_744_073_709_551_615,
      points: [ScatterPoint(x: 3, y: 4, label: 9)]),
  ])
  #expect(
    table.csv == """
      x,y,label,variant,seed
      0.1,-2.5,3,backprop,1
      1e-17,NaN,0,backprop,1
      3.0,4.0,9,"crossprop, eta=0",18446744073709551615

      """)
  #expect(EmbeddingTable(embeddings: []).csv == "x,y,label,variant,seed\n")
}
