import Foundation
import SweepModel
import Testing

@testable import Aggregation

@Test func welford_matchesTwoPassReference_onHandComputedValues() {
  // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x−mean)² = 32, sample variance 32/7, se = √(32/7)/√8.
  let values: [Double] = [2, 4, 4, 4, 5, 5, 7, 9]
  let w = Welford(values)
  #expect(w.count == 8)
  #expect(w.mean == 5)
  #expect(abs(w.variance - 32.0 / 7.0) < 1e-12)
  #expect(abs(w.standardError - (32.0 / 7.0).squareRoot() / 8.0.squareRoot()) < 1e-12)

  // Against a two-pass computation on values with a large offset (where naive sums lose digits).
  let shifted = (0..<1000).map { 1e9 + Double(($0 * 7919) % 101) * 0.01 }
  let mean = shifted.reduce(0, +) / Double(shifted.count)
  let variance = shifted.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(shifted.count - 1)
  let ws = Welford(shifted)
  #expect(abs(ws.mean - mean) < 1e-6)
  #expect(abs(ws.variance - variance) / variance < 1e-6)
  #expect(abs(ws.standardError - (variance / 1000).squareRoot()) / ws.standardError < 1e-6)
}

@Test func welford_withOneValue_hasMeanButUndefinedStandardError() {
  let one = Welford([3.5])
  #expect(one.mean == 3.5)
  #expect(one.standardError.isNaN)
  #expect(Welford().mean.isNaN)
  #expect(Welford().count == 0)
}

func record(_ variant: String, _ seed: UInt64, _ metrics: [(String, Double)], series: [Series] = [])
  -> AggregationRecord
{
  AggregationRecord(
    variant: variant, seed: seed,
    outcome: Outcome(metrics: metrics.map { Metric($0.0, $0.1) }, series: series))
}

@Test func summaryCSV_hasExactHeaderAndRows_inVariantThenMetricOrder() {
  let records = [
    record("b", 0, [("err", 1), ("drift", 10)]),
    record("a", 0, [("err", 2)]),
    record("b", 1, [("err", 3), ("drift", 20)]),
    record("a", 1, [("err", 4), ("drift", 0.5)]),
    record("a", 2, [("err", 6)]),
  ]
  let table = SummaryTable(records: records, variants: ["a", "b"], metrics: ["err", "drift"])
  // a/err: 2, 4, 6 → mean 4, sd 2, se 2/√3. a/drift: 0.5 alone. b/err: 1, 3 → mean 2, se 1. b/drift: 10, 20 → 15, se 5.
  let se = (2 / 3.0.squareRoot()).description
  #expect(
    table.csv == """
      variant,metric,mean,se,n,not_finite
      a,err,4.0,\(se),3,0
      a,drift,0.5,NaN,1,0
      b,err,2.0,1.0,2,0
      b,drift,15.0,5.0,2,0

      """)
  // Every metric reported when none are named, in order of first appearance.
  #expect(SummaryTable(records: records, variants: ["a", "b"]).metrics == ["err", "drift"])
  // A variant of the spec with no finished run still gets its rows, with n = 0.
  let withEmpty = SummaryTable(records: records, variants: ["a", "b", "c"], metrics: ["err"])
  #expect(withEmpty.estimate(variant: "c", metric: "err")?.count == 0)
  #expect(withEmpty.csv.hasSuffix("c,err,NaN,NaN,0,0\n"))
}

/// Issue 11.11: NaN metrics were counted in n (`NaN ± NaN (n=5)`).
@Test func nonFiniteValues_areLeftOutOfTheMeanAndN_andCountedBesideIt() {
  let records = [
    record("a", 0, [("err", 1)]), record("a", 1, [("err", .nan)]), record("a", 2, [("err", 3)]),
    record("a", 3, [("err", .infinity)]), record("b", 0, [("err", .nan)]), record("b", 1, [("err", .nan)]),
  ]
  let table = SummaryTable(records: records, variants: ["a", "b"], metrics: ["err"])
  let a = table.estimate(variant: "a", metric: "err")
  #expect(a == Estimate(mean: 2, standardError: 1, count: 2, nonFinite: 2))
  #expect(table.csv.contains("a,err,2.0,1.0,2,2\n") && table.csv.contains("b,err,NaN,NaN,0,2\n"))
  let md = table.markdown(title: "t")
  #expect(
    md.contains("| a | 2.0 ± 1.0 (n=2, 2 not finite) |") && md.contains("| b | — (n=0, 2 not finite) |"),
    "\(md)")
}

@Test func summaryMarkdown_groupsMetricsByPrefix_andShowsN() {
  let records = [
    record("adam", 0, [("error_task1", 0.5), ("error_task2", 0.25), ("seconds", 3)]),
    record("adam", 1, [("error_task1", 0.7), ("error_task2", 0.35), ("seconds", 5)]),
  ]
  let md = SummaryTable(records: records, variants: ["adam"]).markdown(title: "demo")
  #expect(md.contains("## error\n"))
  #expect(md.contains("| variant | error_task1 | error_task2 |"))
  #expect(md.contains("| adam | 0.60 ± 0.10 (n=2) | 0.300 ± 0.050 (n=2) |"))
  #expect(md.contains("## other metrics\n"))
  #expect(md.contains("| adam | 4.0 ± 1.0 (n=2) |"))
}

@Test func curves_averageOverSeedsPerX_neverOverSteps() {
  let records = [
    record("a", 0, [], series: [Series(name: "error", xStart: 100, xStep: 100, values: [1, 2, 3])]),
    record("a", 1, [], series: [Series(name: "error", xStart: 100, xStep: 100, values: [3, 4])]),
    record("b", 0, [], series: [Series(name: "error", xStart: 100, xStep: 100, values: [10, 20, 30, 40])]),
    record("b", 1, [], series: [Series(name: "other", xStart: 0, xStep: 1, values: [7])]),
  ]
  let curve = CurveTable(series: "error", records: records, variants: ["a", "b"])
  #expect(curve.x == [100, 200, 300, 400])
  #expect(curve.cells[0].map(\.mean).prefix(3) == [2, 3, 3])
  #expect(curve.cells[0].map(\.count) == [2, 2, 1, 0])
  #expect(curve.cells[0][0].standardError == 1)
  #expect(curve.cells[1].map(\.mean) == [10, 20, 30, 40])
  #expect(curve.cells[1].map(\.count) == [1, 1, 1, 1])
  #expect(
    curve.csv == """
      x,a_mean,a_se,a_n,b_mean,b_se,b_n
      100.0,2.0,1.0,2,10.0,NaN,1
      200.0,3.0,1.0,2,20.0,NaN,1
      300.0,3.0,NaN,1,30.0,NaN,1
      400.0,NaN,NaN,0,40.0,NaN,1

      """)
  #expect(CurveTable.makeAll(records: records, variants: ["a", "b"]).map(\.series) == ["error", "other"])
}

/// A small sweep with learning curves: three variants × five seeds, error falling over 50 bins.
func demoRecords() -> [AggregationRecord] {
  var records: [AggregationRecord] = []
  for (v, variant) in ["backprop", "crossprop-eta0.5", "adam & friends"].enumerated() {
    for seed in UInt64(0)..<5 {
      let rate = 0.04 + 0.03 * Double(v)
      let values = (0..<50).map { i -> Double in
        let noise = Double((Int(seed) * 7 + i * 13 + v * 5) % 11 - 5) * 0.004
        return 0.5 * exp(-rate * Double(i)) * (1 + noise * 10) + 0.004
      }
      records.append(
        AggregationRecord(
          variant: variant, seed: seed,
          outcome: Outcome(
            metrics: [
              Metric("error_task1", values.last!), Metric("error_task2", values[25]),
              Metric("seconds", 2 + Double(seed)),
            ],
            series: [Series(name: "error", xStart: 100, xStep: 100, values: values)])))
    }
  }
  return records
}

func demoManifest() -> ReportManifest {
  ReportManifest(
    sweepName: "demo", specHash: String(repeating: "ab", count: 32), commit: "0bbfd4f",
    toolchain: "Swift 6.3.1",
    host: "node-1", date: Date(timeIntervalSince1970: 1_700_000_000), total: 15, done: 15, failed: 0,
    pending: 0)
}

@Test func svgFigure_isWellFormed_withOneMeanPathPerVariant_andLegendNames() throws {
  let curve = CurveTable(
    series: "error", records: demoRecords(), variants: ["backprop", "crossprop-eta0.5", "adam & friends"])
  let svg = curve.svg(settings: FigureSettings { $0.xLabel = "examples" })
  try checkWellFormedXML(svg)
  #expect(svg.components(separatedBy: "<path class=\"mean\"").count - 1 == 3)
  #expect(svg.components(separatedBy: "<path class=\"band\"").count - 1 == 3)
  #expect(svg.contains(">backprop</text>"))
  #expect(svg.contains(">crossprop-eta0.5</text>"))
  #expect(svg.contains(">adam &amp; friends</text>"))
  #expect(svg.contains("log scale"))
  #expect(svg.contains(">examples</text>"))
  if let folder = ProcessInfo.processInfo.environment["METASWEEP_FIGURE_DIR"] {
    try svg.write(toFile: folder + "/error.svg", atomically: true, encoding: .utf8)
  }
  // A linear axis and an empty table also make well-formed figures.
  try checkWellFormedXML(curve.svg(settings: FigureSettings { $0.yScale = .linear }))
  try checkWellFormedXML(CurveTable(series: "none", records: [], variants: ["a"]).svg())
  // A variant without this series is left out of the legend.
  let partial = CurveTable(series: "error", records: demoRecords(), variants: ["backprop", "no-such-run"])
    .svg()
  #expect(partial.contains(">backprop</text>") && !partial.contains(">no-such-run</text>"))
}

@Test func barsFigure_drawsOneBarPerVariantAndCategory_asLongAsItsMean_labelledByName() throws {
  // Two variants over categories 0-2; the second has no value at category 1, a third none at all.
  func estimate(_ mean: Double, _ se: Double) -> Estimate {
    Estimate(mean: mean, standardError: se, count: 3)
  }
  let empty = Estimate(mean: .nan, standardError: .nan, count: 0)
  let curve = CurveTable(
    series: "mse_per_function", variants: ["lstm", "bayes & co", "absent"], x: [0, 1, 2],
    cells: [
      [estimate(0.2, 0.01), estimate(0.1, 0.01), estimate(0.05, 0.01)],
      [estimate(0.4, 0.02), empty, estimate(0.3, 0)],
      [empty, empty, empty],
    ])
  let svg = curve.barsSVG(
    settings: FigureSettings { $0.xLabel = "function" }, categories: ["0 FALSE", "1 NOR", "2 ¬x₁∧x₂"])
  try checkWellFormedXML(svg)
  let bars = svg.components(separatedBy: "<rect class=\"bar\"").dropFirst()
  #expect(bars.count == 5)
  // Heights are proportional to the means (a zero baseline): lstm at 0 is twice lstm at 1.
  func height(_ variant: String, _ category: String) -> Double? {
    guard
      let bar = bars.first(where: { $0.contains("data-variant=\"\(variant)\" data-category=\"\(category)\"") }
      ),
      let range = bar.range(of: "height=\"")
    else { return nil }
    return Double(bar[range.upperBound...].prefix { $0 != "\"" })
  }
  let (a, b, c) = (height("lstm", "0 FALSE")!, height("lstm", "1 NOR")!, height("bayes &amp; co", "0 FALSE")!)
  #expect(abs(a / b - 2) < 1e-3 && abs(c / a - 2) < 1e-3)
  #expect(height("bayes &amp; co", "1 NOR") == nil)
  #expect(svg.contains(">2 ¬x₁∧x₂</text>") && svg.contains(">function</text>"))
  #expect(svg.contains(">bayes &amp; co</text>") && !svg.contains(">absent</text>"))
  // Whiskers where the SE is positive: 4 bars have one.
  #expect(svg.components(separatedBy: "<path class=\"whisker\"").count - 1 == 4)
  // A category past the names is labelled by its number.
  #expect(CurveTable.categoryName(7, ["a"]) == "7" && CurveTable.categoryName(0, ["a"]) == "a")
  try checkWellFormedXML(
    CurveTable(series: "none", variants: ["a"], x: [], cells: [[]]).barsSVG(categories: []))
}

@Test func report_writesEveryFile_byteIdenticalForIdenticalInputs() throws {
  let base = FileManager.default.temporaryDirectory.appendingPathComponent("aggregation-\(UUID().uuidString)")
    .path
  let variants = ["backprop", "crossprop-eta0.5", "adam & friends"]
  let names = ["MANIFEST.json", "summary.csv", "summary.md", "curves/error.csv", "figures/error.svg"]
  var contents: [[Data]] = []
  for copy in ["one", "two"] {
    let report = Report(records: demoRecords(), variants: variants, manifest: demoManifest())
    try report.write(to: base + "/" + copy)
    contents.append(
      try names.map { try Data(contentsOf: URL(fileURLWithPath: base + "/" + copy + "/" + $0)) })
  }
  #expect(contents[0] == contents[1])
  #expect(String(decoding: contents[0][1], as: UTF8.self).hasPrefix("variant,metric,mean,se,n,not_finite\n"))
  #expect(
    String(decoding: contents[0][0], as: UTF8.self) == """
      {
        "commit": "0bbfd4f",
        "counts": {
          "done": 15,
          "failed": 0,
          "pending": 0,
          "total": 15
        },
        "date": "2023-11-14T22:13:20Z",
        "host": "node-1",
        "spec_hash": "\(String(repeating: "ab", count: 32))",
        "sweep": "demo",
        "toolchain": "Swift 6.3.1"
      }

      """)
  let parsed = try JSONSerialization.jsonObject(with: contents[0][0]) as? [String: Any]
  #expect(parsed?["sweep"] as? String == "demo")
}

@Test func manifest_listsTheMachineTypesThatComputedTheRuns_inOrder_betweenHostAndSpecHash() throws {
  var manifest = demoManifest()
  manifest.machines = ["x86_64, Xeon \"Gold\", OpenBLAS SkylakeX": 2, "x86_64, AMD EPYC, OpenBLAS Zen": 13]
  let json = manifest.json
  #expect(
    json.contains(
      """
        "host": "node-1",
        "machines": {
          "x86_64, AMD EPYC, OpenBLAS Zen": 13,
          "x86_64, Xeon \\"Gold\\", OpenBLAS SkylakeX": 2
        },
        "spec_hash":
      """))
  let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
  #expect((parsed?["machines"] as? [String: Int])?["x86_64, AMD EPYC, OpenBLAS Zen"] == 13)
}

@Test func manifestDate_isUTCISO8601_forDatesAcrossEras() {
  #expect(ReportManifest.iso8601(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
  #expect(ReportManifest.iso8601(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
  #expect(ReportManifest.iso8601(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
}

/// A structural XML check: one root, tags nest and close in order, attributes quoted, entities known.
func checkWellFormedXML(_ text: String) throws {
  struct Malformed: Error { var reason: String }
  var stack: [String] = []
  var roots = 0
  var rest = Substring(text)
  if rest.hasPrefix("<?xml") {
    guard let end = rest.range(of: "?>") else { throw Malformed(reason: "unterminated declaration") }
    rest = rest[end.upperBound...]
  }
  while let open = rest.firstIndex(of: "<") {
    try checkText(rest[..<open])
    guard let close = rest[open...].firstIndex(of: ">") else { throw Malformed(reason: "unterminated tag") }
    let tag = rest[rest.index(after: open)..<close]
    rest = rest[rest.index(after: close)...]
    if tag.hasPrefix("/") {
      let name = String(tag.dropFirst())
      guard stack.popLast() == name else { throw Malformed(reason: "mismatched </\(name)>") }
      continue
    }
    let selfClosing = tag.hasSuffix("/")
    let body = selfClosing ? tag.dropLast() : tag
    let name = String(body.prefix { !$0.isWhitespace })
    guard !name.isEmpty else { throw Malformed(reason: "empty tag") }
    // Attributes: name="value" pairs, values without '<' or raw '&'.
    var attributes = body.dropFirst(name.count)
    while true {
      attributes = attributes.drop { $0.isWhitespace }
      if attributes.isEmpty { break }
      guard let eq = attributes.firstIndex(of: "="), attributes[attributes.index(after: eq)] == "\"" else {
        throw Malformed(reason: "bad attribute in <\(name)>")
      }
      let valueStart = attributes.index(eq, offsetBy: 2)
      guard let valueEnd = attributes[valueStart...].firstIndex(of: "\"") else {
        throw Malformed(reason: "unquoted")
      }
      let value = attributes[valueStart..<valueEnd]
      guard !value.contains("<") else { throw Malformed(reason: "< in attribute") }
      try checkText(value)
      attributes = attributes[attributes.index(after: valueEnd)...]
    }
    if stack.isEmpty { roots += 1 }
    if !selfClosing { stack.append(name) }
  }
  try checkText(rest)
  guard stack.isEmpty else { throw Malformed(reason: "unclosed <\(stack.last!)>") }
  guard roots == 1 else { throw Malformed(reason: "\(roots) root elements") }

  func checkText(_ s: Substring) throws {
    var s = s
    while let amp = s.firstIndex(of: "&") {
      let entity = s[amp...].prefix { $0 != ";" }
      guard ["&amp", "&lt", "&gt", "&quot", "&apos"].contains(String(entity)) else {
        throw Malformed(reason: "unknown entity \(entity)")
      }
      s = s[s.index(after: amp)...]
    }
  }
}

@Test func report_labelsEachFiguresXAxis_withItsSeriesOwnLabel_orTheSweepsDefault() throws {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString)")
    .path
  let records = (UInt64(0)..<3).map { seed in
    AggregationRecord(
      variant: "v", seed: seed,
      outcome: Outcome(series: [
        Series(name: "error", xStart: 1, xStep: 1, values: [0.5, 0.4, 0.3]),
        Series(name: "per_function", xStart: 0, xStep: 1, values: [0.1, 0.2]),
      ]))
  }
  let report = Report(records: records, variants: ["v"], manifest: demoManifest())
  try report.write(
    to: folder, settings: FigureSettings { $0.xLabel = "meta-training step" },
    xLabels: ["per_function": "function (index)"])
  let error = try String(contentsOfFile: folder + "/figures/error.svg", encoding: .utf8)
  let perFunction = try String(contentsOfFile: folder + "/figures/per_function.svg", encoding: .utf8)
  #expect(error.contains(">meta-training step</text>") && !error.contains("function (index)"))
  #expect(perFunction.contains(">function (index)</text>") && !perFunction.contains("meta-training step"))
}

@Test func logAxis_overSeventyDecades_hasAtMostElevenTicks_andOverThreeDecadesKeepsEvery() {
  // A diverged run's curve (1e-7 ... 1e62) once stacked 70 labels on top of each other.
  let wide = Axis.logarithmic(min: 1e-7, max: 3e61)
  #expect(wide.ticks.count <= 11 && wide.ticks.count >= 5, "\(wide.ticks.map(\.value))")
  #expect(wide.ticks.first?.value == 1e-7)
  // Its ends are labelled powers of ten, and every label is written the same way.
  #expect(wide.lower == 1e-7 && wide.ticks.last.map { abs($0.value / wide.upper - 1) < 1e-9 } == true)
  #expect(wide.ticks.first?.label == "10⁻⁷" && wide.ticks.allSatisfy { $0.label.hasPrefix("10") })
  #expect(
    Axis.logarithmic(min: 0.05, max: 7e18).ticks.map(\.label) == (0..<8).map { Axis.powerLabel(-2 + 3 * $0) })
  let narrow = Axis.logarithmic(min: 0.002, max: 3)
  #expect(narrow.ticks.filter(\.isMajor).map(\.value) == [0.01, 0.1, 1])
}

@Test func figures_cutAFewFarPoints_markTaskSwitches_andTitleByDescription() throws {
  // One run starts far off (1000 for two points), the rest stay within 40...60.
  var values = (0..<100).map { 50 + 10 * sin(Double($0)) }
  values[0] = 1000
  values[1] = 900
  let records = [
    record("far", 0, [], series: [Series(name: "error", xStart: 100, xStep: 100, values: values)]),
    record(
      "near", 0, [],
      series: [Series(name: "error", xStart: 100, xStep: 100, values: (0..<100).map { _ in 45 })]),
  ]
  let curve = CurveTable(series: "error", records: records, variants: ["far", "near"])
  let svg = curve.svg(
    settings: FigureSettings {
      $0.yScale = .linear
      $0.marks = [5000, 20_000]
      $0.marksLabel = "task switch"
      $0.title = "squared error per example"
      $0.yLabel = "error"
    })
  try checkWellFormedXML(svg)
  #expect(svg.contains("a few points above the axis"), "the two far points are cut")
  let (low, high) = Axis.robustRange(values + Array(repeating: 45, count: 100))
  #expect(low >= 39 && high < 100, "\(low)...\(high)")
  // Only the mark inside the x range is drawn (and the legend's dashed row says what it is).
  #expect(svg.components(separatedBy: "stroke-dasharray=\"4 3\"").count - 1 == 2)
  #expect(svg.contains(">task switch</text>") && svg.contains(">squared error per example</text>"))
  #expect(svg.contains("rotate(-90") && svg.contains(">error</text>"))
  // Without outliers nothing is cut.
  let plain = CurveTable(series: "error", records: [records[1]], variants: ["near"]).svg()
  #expect(!plain.contains("a few points"))
}
