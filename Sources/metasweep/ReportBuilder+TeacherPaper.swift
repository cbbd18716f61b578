import Aggregation
import Foundation
import Journal
import SweepModel

extension ReportBuilder {
  /// The multi-task-teacher paper's report (meta-experiments.md §3.4) for a graph with
  /// teacher-evaluate stages: per meta-test length L (the runs' `steps`), `table1-L.md` (Table 1:
  /// joint readout, mean ± SE, the paper's column for this graph's experiment beside it
  /// (``TeacherPaperReport/Column``), and R1-R5 marked met or not),
  /// and in `figures/` Fig. 1 (`fig1-original-vs-readout-a-L`: SGD's own task-A head against the
  /// linear readout of its representation) and Figs 4 and 5 (`fig4-readout-a-vs-freeze-L`,
  /// `fig5-readout-b-vs-freeze-L`: each method's readout minus Freeze's, paired by seed and Exp 2's
  /// class sample), each as SVG and CSV. Evaluation stages are pooled by variant name (baselines and ours are separate
  /// stages); Figs 6 and 7 are the meta-training stage's `tau`/`window` and ours' `delta_histogram`.
  /// Returns the files written.
  func writeTeacherPaper(plan: GraphPlan, byStage: [[FinishedRun]]) throws -> [String] {
    var byLength: [Int: [TeacherPaperReport.Run]] = [:]
    var variantOrder: [String] = []
    var sampledClasses = false
    for (index, stage) in plan.graph.stages.enumerated() where stage.sweep.experiment == "teacher-evaluate" {
      for variant in stage.sweep.variants.map(\.name) where !variantOrder.contains(variant) {
        variantOrder.append(variant)
      }
      for run in byStage[index] {
        guard case .int(let steps) = run.run.parameters["steps"] else { continue }
        var sample: Int64 = 0
        if case .int(let r) = run.run.parameters["b_sample"] { sample = Int64(r) }
        sampledClasses = sampledClasses || sample > 0
        byLength[steps, default: []].append(
          .init(
            variant: run.run.variant, pair: [run.run.seed, UInt64(bitPattern: sample)], outcome: run.outcome))
      }
    }
    let column = TeacherPaperReport.Column(graph: plan.graph, sampledClasses: sampledClasses)
    var written: [String] = []
    let figures = directory + "/figures"
    for (steps, records) in byLength.sorted(by: { $0.key < $1.key }) {
      let paper = TeacherPaperReport(
        records: records, variantOrder: variantOrder, steps: steps, column: column)
      try paper.markdown(graph: plan.graph.name).write(
        toFile: "\(directory)/table1-\(steps).md", atomically: true, encoding: .utf8)
      written.append("table1-\(steps).md")
      try FileManager.default.createDirectory(atPath: figures, withIntermediateDirectories: true)
      for (name, table, label) in paper.figures() {
        let settings = FigureSettings {
          $0.xLabel = "update step on task B"
          $0.title = label
          $0.yScale = .linear
        }
        try table.svg(settings: settings).write(
          toFile: "\(figures)/\(name)-\(steps).svg", atomically: true, encoding: .utf8)
        try table.csv.write(toFile: "\(figures)/\(name)-\(steps).csv", atomically: true, encoding: .utf8)
        written.append("figures/\(name)-\(steps).svg")
      }
    }
    return written
  }
}

/// Table 1, the criteria and the figures of one meta-test length, from the evaluation runs.
struct TeacherPaperReport {
  /// One evaluation run: its variant, what pairs it with the other methods' runs (the seed, and
  /// Exp 2's class sample or 0), and its outcome.
  struct Run {
    var variant: String
    var pair: [UInt64]
    var outcome: Outcome
  }

  /// The column of the paper's Table 1 that a graph's experiment reproduces (meta-experiments.md
  /// §3.4): Exp 2 when evaluations draw task-B class samples, Exp 3 when they also meta-train over
  /// a pool (an input selecting all-but-held-out); otherwise Exp 1 on colour images (CIFAR-10 or
  /// SynthObjects: CIFAR-5A/5B) or on grey ones (MNIST/Fashion).
  enum Column {
    case exp1Grey, exp1Colour, exp2, exp3

    init(graph: SweepGraph, sampledClasses: Bool) {
      let pool = graph.stages.contains { stage in
        stage.sweep.experiment == "teacher-metatrain"
          && stage.inputs.contains { $0.selector == .allButHeldOut }
      }
      let colour = graph.stages.contains { stage in
        guard stage.sweep.experiment == "teacher-evaluate",
          case .string(let name) = stage.sweep.fixed["dataset"]
        else { return false }
        return name.hasPrefix("cifar") || name.hasPrefix("synth-objects")
      }
      self = sampledClasses ? (pool ? .exp3 : .exp2) : (colour ? .exp1Colour : .exp1Grey)
    }

    var title: String {
      switch self {
      case .exp1Grey: "Exp 1 (MNIST → Fashion-MNIST)"
      case .exp1Colour: "Exp 1 (CIFAR-5A → 5B)"
      case .exp2: "Exp 2 (CIFAR-5A → CIFAR-100)"
      case .exp3: "Exp 3 (CIFAR-5A → CIFAR-100, pool)"
      }
    }

    /// The paper's joint readout accuracy (%) per method.
    var numbers: [String: String] {
      switch self {
      case .exp1Grey:
        [
          "freeze": "84.8", "sgd": "86.8 ± 1.0", "sgd-0.1": "85.0 ± 0.7", "lwf": "87.2 ± 1.1",
          "ewc": "86.9 ± 1.7", "ours": "87.3 ± 0.7", "teacher": "88.0 ± 1.1",
        ]
      case .exp1Colour:
        [
          "freeze": "65.1", "sgd": "68.7 ± 1.5", "sgd-0.1": "65.4 ± 2.1", "lwf": "69.3 ± 0.7",
          "ewc": "67.7 ± 1.0", "ours": "70.5 ± 1.1", "teacher": "76.7 ± 0.3",
        ]
      case .exp2, .exp3:
        [
          "freeze": "68.6 ± 2.9", "sgd": "71.0 ± 2.1", "sgd-0.1": "69.7 ± 2.3", "lwf": "73.1 ± 1.7",
          "ewc": "72.9 ± 2.1", "ours": self == .exp2 ? "75.0 ± 1.3" : "73.6 ± 2.6", "teacher": "81.9 ± 1.2",
        ]
      }
    }
  }

  /// The methods in Table 1's order; other variants (ablations) follow in the graph's order.
  static let methods = ["freeze", "sgd", "sgd-0.1", "lwf", "ewc", "ours", "teacher"]

  let records: [Run]
  let variants: [String]
  let steps: Int
  let column: Column

  init(records: [Run], variantOrder: [String], steps: Int, column: Column) {
    self.records = records
    self.steps = steps
    self.column = column
    let present = Set(records.map(\.variant))
    variants = (Self.methods + variantOrder.filter { !Self.methods.contains($0) }).filter(present.contains)
  }

  /// The metric over the variant's seeds.
  func estimate(_ metric: String, _ variant: String) -> Welford {
    Welford(records.filter { $0.variant == variant }.compactMap { $0.outcome.metric(metric) })
  }

  /// The mean of the variant's series at step x over its seeds, NaN when it has none.
  func mean(_ series: String, _ variant: String, at x: Double) -> Double {
    Welford(
      records.filter { $0.variant == variant }.compactMap { record in
        guard let curve = record.outcome.series(named: series) else { return nil }
        return curve.values.indices.first { curve.x($0) == x }.map { curve.values[$0] }
      }
    ).mean
  }

  /// The series of each variant minus `reference`'s, in points, pair by pair (seed and class
  /// sample) at equal x, averaged over pairs; `label` names the y axis.
  func relative(_ series: String, to reference: String, label: String) -> CurveTable {
    var byVariant: [String: [Double: Welford]] = [:]
    var xs = Set<Double>()
    let referenceCurves = Dictionary(
      records.filter { $0.variant == reference }.compactMap { r in
        r.outcome.series(named: series).map { (r.pair, $0) }
      },
      uniquingKeysWith: { first, _ in first })
    for record in records where record.variant != reference {
      guard let curve = record.outcome.series(named: series), let base = referenceCurves[record.pair] else {
        continue
      }
      var baseAt: [Double: Double] = [:]
      for i in base.values.indices { baseAt[base.x(i)] = base.values[i] }
      for i in curve.values.indices {
        guard let b = baseAt[curve.x(i)] else { continue }
        byVariant[record.variant, default: [:]][curve.x(i), default: Welford()].add(
          100 * (curve.values[i] - b))
        xs.insert(curve.x(i))
      }
    }
    let x = xs.sorted()
    let shown = variants.filter { byVariant[$0] != nil }
    return CurveTable(
      series: label, variants: shown, x: x,
      cells: shown.map { v in x.map { (byVariant[v]?[$0] ?? Welford()).estimate } })
  }

  /// Fig. 1: SGD's task-A accuracy through its own head and through a linear readout, in %.
  func originalVersusReadout(_ variant: String = "sgd") -> CurveTable {
    let curves = [("original head", "original_a"), ("linear readout", "readout_a")]
    var byCurve: [[Double: Welford]] = Array(repeating: [:], count: curves.count)
    var xs = Set<Double>()
    for record in records where record.variant == variant {
      for (k, (_, series)) in curves.enumerated() {
        guard let curve = record.outcome.series(named: series) else { continue }
        for i in curve.values.indices {
          byCurve[k][curve.x(i), default: Welford()].add(100 * curve.values[i])
          xs.insert(curve.x(i))
        }
      }
    }
    let x = xs.sorted()
    return CurveTable(
      series: "task-A test accuracy (%)", variants: curves.map(\.0), x: x,
      cells: byCurve.map { byX in x.map { (byX[$0] ?? Welford()).estimate } })
  }

  /// (file name, table, title) of Figs. 1, 4 and 5.
  func figures() -> [(String, CurveTable, String)] {
    var list: [(String, CurveTable, String)] = []
    if variants.contains("sgd") {
      list.append(
        (
          "fig1-original-vs-readout-a", originalVersusReadout(),
          "Fig. 1: task-A accuracy (%) of SGD, own head vs readout"
        ))
    }
    if variants.contains("freeze") {
      list.append(
        (
          "fig4-readout-a-vs-freeze",
          relative("readout_a", to: "freeze", label: "readout A − Freeze (points)"),
          "Fig. 4: readout A minus Freeze (points)"
        ))
      list.append(
        (
          "fig5-readout-b-vs-freeze",
          relative("readout_b", to: "freeze", label: "readout B − Freeze (points)"),
          "Fig. 5: readout B minus Freeze (points)"
        ))
    }
    return list
  }

  /// "87.32 ± 0.74 (n=3)" in percent, rounded as every table is (`meanWithError`).
  static func percent(_ w: Welford) -> String {
    guard w.count > 0 else { return "–" }
    let text =
      w.count > 1
      ? meanWithError(w.mean, w.standardError, scale: 100) : String(format: "%.1f", 100 * w.mean)
    return text + " (n=\(w.count))"
  }

  /// The criteria R1-R5 of meta-experiments.md §3.4 as (name, what was measured, met), for the
  /// methods this length has; a criterion missing a method it needs is left out.
  func criteria() -> [(String, String, Bool)] {
    func final(_ metric: String, _ variant: String) -> Double { estimate(metric, variant).mean }
    func has(_ names: String...) -> Bool { names.allSatisfy(variants.contains) }
    var list: [(String, String, Bool)] = []
    if has("sgd") {
      let xs =
        records.first { $0.variant == "sgd" }?.outcome.series(named: "readout_a").map { c in
          c.values.indices.map(c.x)
        } ?? []
      // The note's step 300 when the meta-test is that long, else its last step.
      let step = xs.contains(300) ? 300 : (xs.last ?? 0)
      let dropReadout = mean("readout_a", "sgd", at: 0) - mean("readout_a", "sgd", at: step)
      let dropOriginal = mean("original_a", "sgd", at: 0) - mean("original_a", "sgd", at: step)
      list.append(
        (
          "R1 (Fig. 1)",
          String(
            format:
              "SGD at step %.0f: Original-A drop %.1f pts ≥ 2 × Readout-A drop %.1f pts, and Readout-A drop ≥ 3 pts",
            step, 100 * dropOriginal, 100 * dropReadout),
          dropOriginal >= 2 * dropReadout && dropReadout >= 0.03
        ))
    }
    if has("freeze", "sgd", "ewc", "lwf", "ours") {
      let freeze = final("readout_a", "freeze")
      func forgetting(_ v: String) -> Double { freeze - final("readout_a", v) }
      list.append(
        (
          "R2",
          String(
            format:
              "task-A forgetting (Freeze − method, readout A at the end): ours %.2f ≤ 0.5 × SGD %.2f, and < EWC %.2f and LwF %.2f (pts)",
            100 * forgetting("ours"), 100 * forgetting("sgd"), 100 * forgetting("ewc"),
            100 * forgetting("lwf")),
          forgetting("ours") <= 0.5 * forgetting("sgd") && forgetting("ours") < forgetting("ewc")
            && forgetting("ours") < forgetting("lwf")
        ))
    }
    if has("sgd", "sgd-0.1", "ours") {
      let (ours, sgd, tenth) = (
        final("readout_b", "ours"), final("readout_b", "sgd"), final("readout_b", "sgd-0.1")
      )
      list.append(
        (
          "R3",
          String(
            format: "Readout-B: ours %.1f ≥ SGD×0.1 %.1f and ≥ SGD %.1f − 3", 100 * ours, 100 * tenth,
            100 * sgd),
          ours >= tenth && ours >= sgd - 0.03
        ))
    }
    if has("sgd", "sgd-0.1", "lwf", "ewc", "ours", "teacher") {
      let ours = estimate("joint_readout", "ours")
      let best = ["sgd", "sgd-0.1", "lwf", "ewc"].map { final("joint_readout", $0) }.max()!
      let teacher = final("joint_readout", "teacher")
      list.append(
        (
          "R4",
          String(
            format: "joint readout: ours %.1f ≥ best baseline %.1f − 1 SE (%.1f), and Teacher %.1f ≥ ours",
            100 * ours.mean, 100 * best, 100 * ours.standardError, 100 * teacher),
          ours.mean >= best - (ours.standardError.isFinite ? ours.standardError : 0) && teacher >= ours.mean
        ))
    }
    if has("ours") {
      let (negative, cv) = (final("delta_negative_fraction", "ours"), final("delta_cv", "ours"))
      list.append(
        (
          "R5 (Fig. 7)",
          String(
            format: "δ at the last step is not constant: %.1f%% below 0 (≥ 5%%) or CV %.2f (> 0.1)",
            100 * negative, cv),
          negative >= 0.05 || cv > 0.1
        ))
    }
    return list
  }

  func markdown(graph: String) -> String {
    var lines = [
      "# \(graph): Table 1 after \(steps) meta-test steps", "",
      "Joint readout accuracy (%) after the meta-test's last step, mean ± standard error over runs (seeds, "
        + "times class samples where task B's classes are drawn), with the paper's \(column.title) beside it. "
        + "Rows after the paper's methods are this graph's ablations.", "",
      "| method | this graph | readout A | readout B | A forgotten vs Freeze (pts) | paper, \(column.title) |",
      "|---|---:|---:|---:|---:|---:|",
    ]
    let freeze = variants.contains("freeze") ? estimate("readout_a", "freeze").mean : Double.nan
    for variant in variants {
      let forgotten = 100 * (freeze - estimate("readout_a", variant).mean)
      lines.append(
        "| \(variant) | \(Self.percent(estimate("joint_readout", variant))) | "
          + "\(Self.percent(estimate("readout_a", variant))) | \(Self.percent(estimate("readout_b", variant))) | "
          + (forgotten.isFinite ? String(format: "%.2f", forgotten) : "–")
          + " | \(column.numbers[variant] ?? "–") |")
    }
    lines += [
      "", "## Criteria R1-R5 (meta-experiments.md §3.4, means over runs)", "",
      "| criterion | measured | met |",
      "|---|---|---|",
    ]
    lines += criteria().map { "| \($0.0) | \($0.1) | \($0.2 ? "yes" : "**no**") |" }
    lines += [
      "",
      "Figures: `figures/fig1-original-vs-readout-a-\(steps).svg` (Fig. 1), "
        + "`figures/fig4-readout-a-vs-freeze-\(steps).svg` and `figures/fig5-readout-b-vs-freeze-\(steps).svg` "
        + "(Figs. 4 and 5, paired by seed and class sample), the meta-training stage's `tau.svg` and `window.svg` (Fig. 6) and "
        + "ours' `delta_histogram.svg` (Fig. 7).",
    ]
    return lines.joined(separator: "\n") + "\n"
  }
}
