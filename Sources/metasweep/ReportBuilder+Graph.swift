import Aggregation
import Experiments
import Foundation
import Journal
import SweepModel

extension ReportBuilder {
  /// Writes a graph's report: for each stage, its tables, curves, figures and manifest in
  /// `stages/<stage>/` (variants named without the stage, a held-out member's runs as their own
  /// rows), and every stage's table in the top folder's `summary.md`.
  func writeGraph(_ plan: GraphPlan, journal: Journal) throws -> Written {
    let (finished, damaged) = try journal.readFinishedRuns()
    let counts = try journal.counts()
    let info = try journal.sweepInfo()
    var byStage = Array(repeating: [FinishedRun](), count: plan.graph.stages.count)
    for run in finished {
      guard let stage = plan.stageIndex(ofVariant: run.run.variant) else { continue }
      var local = run
      local.run.variant = String(run.run.variant.dropFirst(plan.graph.stages[stage].name.count + 1))
      byStage[stage].append(local)
    }
    var markdown = "# \(plan.graph.name)\n"
    var written: [String] = []
    let commit = Self.gitCommit()
    let machineTypes = try journal.machineTypes()
    for (index, stage) in plan.graph.stages.enumerated() {
      let folder = "\(directory)/stages/\(stage.name)"
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      let runs = byStage[index].sorted { $0.run.ordinal < $1.run.ordinal }
      var variants: [String] = []
      for variant in stage.sweep.variants.map(\.name) {
        variants.append(variant)
        let heldOut = variant + GraphPlan.heldOutSuffix
        if runs.contains(where: { $0.run.variant == heldOut }) { variants.append(heldOut) }
      }
      let slots = plan.stageSlots[index].count
      var manifest = ReportManifest(
        sweepName: "\(plan.graph.name)/\(stage.name)", specHash: info?.specHash ?? "",
        commit: commit,
        toolchain: Self.toolchain(), host: ProcessInfo.processInfo.hostName, date: Date(), total: slots,
        done: runs.count, failed: 0, pending: slots - runs.count)
      manifest.datasets = Self.datasets(of: runs)
      manifest.machines = MachineTally(runs, types: machineTypes).runs
      manifest.overrides = plan.graph.overrides
      let report = Report(
        records: runs.map {
          AggregationRecord(
            variant: $0.run.variant, seed: $0.run.seed, outcome: $0.outcome, parameters: $0.run.parameters,
            runKey: $0.run.key.hex)
        },
        variants: variants, metrics: stage.sweep.metrics, series: stage.sweep.curves, manifest: manifest,
        baseline: stage.sweep.baseline, intervals: stage.sweep.intervals)
      try Self.write(report, to: folder, experiment: stage.sweep.experiment, runs: runs)
      _ = try ReportBuilder(directory: folder).writePaperTables(sweep: stage.sweep, finished: runs)
      markdown += "\n" + report.summary.markdown(title: "Stage \(stage.name) (\(stage.sweep.experiment))")
      markdown += "\(runs.count) of \(slots) runs done.\n"
      written.append("stages/\(stage.name)/")
    }
    written += try writeTeacherPaper(plan: plan, byStage: byStage)
    try markdown.write(toFile: directory + "/summary.md", atomically: true, encoding: .utf8)
    var text = markdown
    text += "\nWrote \(directory)/summary.md and, per stage, \(written.joined(separator: ", ")) "
    text += "(\(counts.done) of \(plan.slots.count) runs done, \(counts.failed) failed"
    let waiting = plan.slots.count - counts.total
    if waiting > 0 { text += ", \(waiting) waiting for inputs that do not exist yet" }
    text += ")."
    text += MachineTally(finished, types: machineTypes).note
    let problems = damaged.map(\.description)
    text += Self.damageReport(problems)
    return Written(text: text, problems: problems)
  }
}
