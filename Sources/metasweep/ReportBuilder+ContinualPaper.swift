import Aggregation
import Foundation
import Journal
import SweepModel

extension ReportBuilder {
  /// The gradient-reconstruction paper's report for a `permuted-continual` sweep
  /// (meta-experiments.md §1.4): `paper.md` (per variant the accuracy matrix, mean ± SE over seeds;
  /// a table of ACC, BWT, forgetting and start-of-task accuracy; criteria (a)-(d) marked met or
  /// not, with what the oracle-sign ablation says) and the paper's Figure 1 as one figure per
  /// variant, `figures/fig1-<variant>.svg` (every task's test accuracy against the global
  /// iteration, mean with an SE band), with its CSV. Returns the files written.
  func writeContinualPaper(sweep: SweepSpec, finished: [FinishedRun]) throws -> [String] {
    let report = ContinualPaperReport(sweep: sweep, finished: finished)
    try report.markdown().write(toFile: directory + "/paper.md", atomically: true, encoding: .utf8)
    var written = ["paper.md"]
    let figures = directory + "/figures"
    try FileManager.default.createDirectory(atPath: figures, withIntermediateDirectories: true)
    for variant in report.variants {
      guard let table = report.taskCurves(variant) else { continue }
      let settings = FigureSettings {
        $0.xLabel = "iteration (all tasks)"
        $0.title = "Fig. 1, \(variant): test accuracy (%) of every task"
        $0.yScale = .linear
      }
      let name = "fig1-\(variant)"
      try table.svg(settings: settings).write(
        toFile: "\(figures)/\(name).svg", atomically: true, encoding: .utf8)
      try table.csv.write(toFile: "\(figures)/\(name).csv", atomically: true, encoding: .utf8)
      written.append("figures/\(name).svg")
    }
    return written
  }
}

/// The tables and criteria of a `permuted-continual` sweep, from its finished runs.
struct ContinualPaperReport {
  let sweep: SweepSpec
  /// The runs of each variant.
  let runs: [String: [Outcome]]
  let variants: [String]
  /// Each variant's method (its runs' `method` parameter).
  let methods: [String: String]
  let tasks: Int
  /// Whether the runs read real images (MNIST, Fashion-MNIST): criterion (a)'s threshold is then 10
  /// points, not 5.
  let realData: Bool

  init(sweep: SweepSpec, finished: [FinishedRun]) {
    self.sweep = sweep
    var runs: [String: [Outcome]] = [:]
    var methods: [String: String] = [:]
    var tasks = 0
    var realData = false
    for run in finished {
      runs[run.run.variant, default: []].append(run.outcome)
      if case .string(let method) = run.run.parameters["method"] { methods[run.run.variant] = method }
      if case .int(let count) = run.run.parameters["tasks"] { tasks = max(tasks, count) }
      if case .string(let dataset) = run.run.parameters["dataset"] {
        realData = realData || dataset == "mnist" || dataset == "fashion-mnist"
      }
    }
    self.runs = runs
    self.methods = methods
    self.tasks = tasks
    self.realData = realData
    variants = sweep.variants.map(\.name).filter { runs[$0] != nil }
  }

  func estimate(_ metric: String, _ variant: String) -> Welford {
    Welford((runs[variant] ?? []).compactMap { $0.metric(metric) })
  }

  /// How many of the variant's runs diverged.
  func diverged(_ variant: String) -> Int {
    (runs[variant] ?? []).filter { $0.metric("diverged") == 1 }.count
  }

  /// The first variant running `method`, if any.
  func variant(running method: String) -> String? { variants.first { methods[$0] == method } }

  /// Every task's accuracy curve of `variant`, in %, mean and SE over seeds.
  func taskCurves(_ variant: String) -> CurveTable? {
    let outcomes = runs[variant] ?? []
    guard let first = outcomes.first?.series(named: "task_1") else { return nil }
    let x = first.values.indices.map(first.x)
    let names = (1...tasks).map { "task \($0)" }
    let cells = (1...tasks).map { k in
      x.indices.map { i in
        Welford(
          outcomes.compactMap { outcome -> Double? in
            guard let curve = outcome.series(named: "task_\(k)"), i < curve.values.count else { return nil }
            return 100 * curve.values[i]
          }
        ).estimate
      }
    }
    return CurveTable(series: "test accuracy (%)", variants: names, x: x, cells: cells)
  }

  /// "87.32 ± 0.74" in percent (or points), rounded as every table is (`meanWithError`).
  static func percent(_ w: Welford) -> String {
    guard w.count > 0 else { return "–" }
    return w.count > 1
      ? meanWithError(w.mean, w.standardError, scale: 100) : String(format: "%.1f", 100 * w.mean)
  }

  /// R[i][j] of `variant`: task j's accuracy at the end of task i, mean ± SE.
  func accuracyMatrix(_ variant: String) -> [String] {
    let outcomes = runs[variant] ?? []
    let perTask = outcomes.first.flatMap { o -> Int? in
      guard let curve = o.series(named: "task_1"), curve.values.count > 1 else { return nil }
      return (curve.values.count - 1) / tasks
    }
    guard let perTask else { return [] }
    var lines = [
      "| after task | " + (1...tasks).map { "task \($0)" }.joined(separator: " | ") + " |",
      "|---|" + String(repeating: "---:|", count: tasks),
    ]
    for i in 1...tasks {
      let cells = (1...tasks).map { j in
        Self.percent(
          Welford(outcomes.compactMap { $0.series(named: "task_\(j)").map { $0.values[i * perTask] } }))
      }
      lines.append("| \(i) | " + cells.joined(separator: " | ") + " |")
    }
    return lines
  }

  /// Criteria (a)-(d) of meta-experiments.md §1.4 as (name, measured, met), each where the methods
  /// it needs were run; and the oracle's line.
  func criteria() -> [(String, String, Bool)] {
    var list: [(String, String, Bool)] = []
    func mean(_ metric: String, _ variant: String) -> Double { estimate(metric, variant).mean }
    let sgd = variant(running: "sgd")
    let meta = variant(running: "meta-sign")
    if let sgd {
      let drop = mean("after_task_1", sgd) - mean("final_task_1", sgd)
      let threshold = realData ? 0.10 : 0.05
      list.append(
        (
          "(a) SGD forgets",
          String(
            format: "task 1 drops %.1f points from the end of task 1 to the end (≥ %.0f)", 100 * drop,
            100 * threshold),
          drop >= threshold
        ))
    }
    func bwtTest(_ variant: String, against sgd: String) -> (String, Bool) {
      let bwt = mean("bwt", variant)
      let baseline = mean("bwt", sgd)
      let improved = (1..<tasks).contains {
        mean("final_task_\($0)", variant) > mean("after_task_\($0)", variant)
      }
      return (
        String(
          format:
            "BWT %.1f (≥ −2), BWT − SGD's (%.1f) = %.1f (≥ 5); an old task ends above where its training left it: %@",
          100 * bwt, 100 * baseline, 100 * (bwt - baseline), improved ? "yes" : "no"),
        bwt >= -0.02 && bwt - baseline >= 0.05 && improved
      )
    }
    if let sgd, let meta {
      let (text, met) = bwtTest(meta, against: sgd)
      list.append(("(b) meta-sign keeps old tasks", text, met))
      let (later, baseline) = (mean("start_accuracy_later", meta), mean("start_accuracy_later", sgd))
      list.append(
        (
          "(c) later tasks start higher",
          String(
            format: "start-of-task accuracy of tasks %@: meta-sign %.1f > SGD %.1f",
            tasks >= 3 ? "3 on" : "2 on",
            100 * later, 100 * baseline),
          later > baseline
        ))
    }
    if let meta, let distill = variant(running: "meta-sign-distill") {
      let gap = mean("acc", distill) - mean("acc", meta)
      list.append(
        (
          "(d) distillation keeps ACC",
          String(format: "ACC meta-sign-distill − meta-sign = %.1f points (≥ −2)", 100 * gap), gap >= -0.02
        ))
    }
    if let sgd, let oracle = variant(running: "oracle-sign") {
      let (text, met) = bwtTest(oracle, against: sgd)
      list.append(("oracle-sign on (b)'s test (ablation)", text, met))
    }
    return list
  }

  func markdown() -> String {
    var lines = [
      "# \(sweep.name): continual learning with gradient-reconstruction meta-networks", "",
      "Accuracies in %, mean ± standard error over seeds (\(tasks) permuted tasks). ACC is the mean final "
        + "accuracy; BWT the mean over old tasks of (final − right after the task's own training); forgetting "
        + "the mean over old tasks of (best at a task end − final), Lopez-Paz & Ranzato's and Chaudhry's "
        + "definitions; start is a task's accuracy at the first evaluation after its training began. A run that "
        + "diverged (a non-finite loss) stopped training there and counts with what its NaN logits predict.",
      "",
      "| variant | method | ACC | BWT | forgetting | start, tasks 3 on | zeroed coordinates | updates growing abs(θ) "
        + "| sign agreement | seeds | diverged |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in variants {
      let row = [
        "acc", "bwt", "forgetting", "start_accuracy_later", "zeroed_fraction", "growing_fraction",
        "sign_agreement",
      ].map {
        Self.percent(estimate($0, variant))
      }
      lines.append(
        "| \(variant) | \(methods[variant] ?? "–") | " + row.joined(separator: " | ")
          + " | \(runs[variant]?.count ?? 0) | \(diverged(variant)) |")
    }
    lines += [
      "", "## Criteria (a)-(d) (meta-experiments.md §1.4, means over seeds)", "",
      "| criterion | measured | met |", "|---|---|---|",
    ]
    let criteria = criteria()
    lines += criteria.map { "| \($0.0) | \($0.1) | \($0.2 ? "yes" : "**no**") |" }
    if let b = criteria.first(where: { $0.0.hasPrefix("(b)") }),
      let oracle = criteria.first(where: { $0.0.hasPrefix("oracle") }), let sgd = variant(running: "sgd"),
      let meta = variant(running: "meta-sign"), let oracleVariant = variant(running: "oracle-sign")
    {
      let gain = { (v: String) in 100 * (self.estimate("bwt", v).mean - self.estimate("bwt", sgd).mean) }
      let acc = { (v: String) in 100 * self.estimate("acc", v).mean }
      let sentence: String
      if b.2 {
        sentence = "(b) holds."
      } else if oracle.2 {
        sentence =
          "(b) fails while oracle-sign passes its test: the sign rule works with the true old gradients, and the "
          + "scalar predictor is the bottleneck."
      } else {
        // BWT alone flatters a method that never learns the later tasks (nothing to forget), so the
        // verdict also weighs ACC.
        let facts = String(
          format:
            "(b) fails, and oracle-sign misses its thresholds too. With the true old gradients the rule changes BWT by "
            + "%+.1f points against SGD and ends at ACC %.1f (SGD %.1f); with the predicted ones by %+.1f, at ACC %.1f.",
          gain(oracleVariant), acc(oracleVariant), acc(sgd), gain(meta), acc(meta))
        let verdict =
          gain(oracleVariant) >= 5 && acc(oracleVariant) > acc(sgd) && acc(meta) < acc(sgd)
          ? " The rule keeps old tasks when it knows their gradients; the predictor is the bottleneck."
          : acc(oracleVariant) <= acc(sgd) ? " The rule itself does not help here." : ""
        sentence = facts + verdict
      }
      lines += ["", sentence]
    }
    for variant in variants {
      lines += [
        "", "## Accuracy matrix: \(variant)", "", "Row i: every task's accuracy at the end of task i.", "",
      ]
      lines += accuracyMatrix(variant)
    }
    lines += [
      "",
      "Figures: `figures/fig1-<variant>.svg` (the paper's Figure 1, one panel per variant); the per-run "
        + "diagnostics `theta_rms`, `zeroed_fraction`, `growing_fraction`, `predictor_loss` and `sign_agreement` are "
        + "in `curves/`. Zeroed coordinates and updates growing abs(θ) are means over tasks 2 on; the sign agreement "
        + "is p̄'s with the old tasks' true gradients on their stored minibatches.",
    ]
    return lines.joined(separator: "\n") + "\n"
  }
}
