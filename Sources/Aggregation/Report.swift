import Foundation
import SweepModel

/// Everything a results folder shows: the summary table, the curves, and the manifest.
///
/// ``write(to:settings:)`` writes `summary.csv`, `summary.md`, `runs.csv`, `curves/<series>.csv`,
/// `curves/<series>.long.csv`, `figures/<series>.svg` and `MANIFEST.json` (see ``TidyTables`` for
/// the per-run files). The same inputs give byte-identical files: numbers
/// have fixed formats, and nothing iterates a dictionary to lay out output.
public struct Report: Sendable, Equatable {
  public var summary: SummaryTable
  public var curves: [CurveTable]
  public var manifest: ReportManifest
  /// `runs.csv`: every run's every metric, one row each (empty when built without records).
  public var runs: String = ""
  /// The long form of each curve in ``curves``, by series, in the same order.
  public var longCurves: [LongCurve] = []
  /// Every variant against a baseline (`comparisons.csv`, and a section of summary.md), or nil.
  public var comparisons: ComparisonTable?
  /// Whether summary.md shows each mean's 95% confidence interval.
  public var intervals = false
  /// Which way each metric is better (by name without its index), for summary.tex's bold.
  public var directions: [String: MetricDirection] = [:]

  /// The per-run points of one series (`curves/<series>.long.csv`).
  public struct LongCurve: Sendable, Equatable {
    public var series: String
    public var csv: String
  }

  public init(summary: SummaryTable, curves: [CurveTable], manifest: ReportManifest) {
    self.summary = summary
    self.curves = curves
    self.manifest = manifest
  }

  /// Aggregates `records` (finished runs, in spec order) into a report.
  ///
  /// - Parameters:
  ///   - variants: the spec's variant order; variants only the records mention follow.
  ///   - metrics: scalar metrics to tabulate, in order; empty for every metric reported.
  ///   - series: series to average into curves, in order; empty for every series reported.
  ///   - baseline: the variant every other is compared with, seed by seed (nil: no comparisons).
  ///   - intervals: whether summary.md shows 95% confidence intervals.
  public init(
    records: [AggregationRecord], variants: [String], metrics: [String] = [], series: [String] = [],
    manifest: ReportManifest, baseline: String? = nil, intervals: Bool = false
  ) {
    self.summary = SummaryTable(records: records, variants: variants, metrics: metrics)
    self.curves = CurveTable.makeAll(records: records, variants: variants, series: series)
    self.manifest = manifest
    self.runs = TidyTables.runsCSV(records: records, variants: variants)
    self.intervals = intervals
    self.comparisons = baseline.map {
      ComparisonTable(records: records, variants: variants, metrics: metrics, baseline: $0)
    }
    self.longCurves = curves.compactMap { curve in
      TidyTables.longCurveCSV(series: curve.series, records: records, variants: variants).map {
        LongCurve(series: curve.series, csv: $0)
      }
    }
  }

  /// summary.md: the summary's tables (with intervals when asked), then the comparisons with the
  /// baseline when there is one.
  public var summaryMarkdown: String {
    summary.markdown(title: manifest.sweepName, intervals: intervals) + (comparisons?.markdown ?? "")
  }

  /// The file name used for a series (`curves/<name>.csv`): the name with `/`, `\`, and control
  /// characters replaced by `_`, and a leading dot escaped, so a series name cannot leave the folder.
  public static func fileName(forSeries name: String) -> String {
    var safe = String(
      name.unicodeScalars.map { s -> Character in
        s == "/" || s == "\\" || s.value < 0x20 || s == ":" ? "_" : Character(s)
      })
    if safe.isEmpty || safe.hasPrefix(".") { safe = "_" + safe }
    return safe
  }

  /// Writes every file of the report into `folder` (created if needed), replacing files of the
  /// same name atomically.
  public func write(
    to folder: String, settings: FigureSettings = FigureSettings(), xLabels: [String: String] = [:],
    titles: [String: String] = [:], categories: [String: [String]] = [:]
  ) throws {
    let root = URL(fileURLWithPath: folder, isDirectory: true)
    let manager = FileManager.default
    try manager.createDirectory(at: root.appendingPathComponent("curves"), withIntermediateDirectories: true)
    try manager.createDirectory(at: root.appendingPathComponent("figures"), withIntermediateDirectories: true)
    func put(_ text: String, _ path: String) throws {
      try Data(text.utf8).write(to: root.appendingPathComponent(path), options: .atomic)
    }
    try put(summary.csv, "summary.csv")
    try put(summary.latex(title: manifest.sweepName, directions: directions), "summary.tex")
    try put(summaryMarkdown, "summary.md")
    if let comparisons { try put(comparisons.csv, "comparisons.csv") }
    if !runs.isEmpty { try put(runs, "runs.csv") }
    for long in longCurves { try put(long.csv, "curves/\(Self.fileName(forSeries: long.series)).long.csv") }
    for curve in curves { try put(curve.csv, "curves/\(Self.fileName(forSeries: curve.series)).csv") }
    for figure in figures(settings: settings, xLabels: xLabels, titles: titles, categories: categories) {
      try put(figure.svg, "figures/\(figure.name).svg")
    }
    try put(manifest.json, "MANIFEST.json")
  }

  /// Every curve's figure as SVG, named as its file (`figures/<name>.svg`): lines over bands, or
  /// bars for a series in `categories`; x labels and titles per series where given.
  public func figures(
    settings: FigureSettings = FigureSettings(), xLabels: [String: String] = [:],
    titles: [String: String] = [:],
    categories: [String: [String]] = [:]
  ) -> [(name: String, svg: String)] {
    curves.map { curve in
      var figure = settings
      if let xLabel = xLabels[curve.series] { figure.xLabel = xLabel }
      if let title = titles[curve.series] {
        figure.title = title
        figure.yLabel = curve.series
      }
      let svg =
        categories[curve.series].map { curve.barsSVG(settings: figure, categories: $0) }
        ?? curve.svg(settings: figure)
      return (Self.fileName(forSeries: curve.series), svg)
    }
  }
}
