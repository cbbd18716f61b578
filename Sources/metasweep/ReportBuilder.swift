import Aggregation
import Experiments
import Foundation
import Journal
import SweepModel

/// Writes a sweep's tables, curves, figures and manifest from its journal alone.
struct ReportBuilder {
  var directory: String

  /// Reads the journal (read-only) and writes the report; returns a short description of it.
  func write(sweep: SweepSpec) throws -> String {
    try write(sweep: sweep, journal: Journal(path: SweepRunner.journalPath(directory), readOnly: true))
  }

  /// Writes the report of `sweep` from `journal`; returns a short description of it.
  func write(sweep: SweepSpec, journal: Journal) throws -> String {
    let finished = try journal.finishedRuns()
    let counts = try journal.counts()
    let info = try journal.sweepInfo()
    let records = finished.map {
      AggregationRecord(variant: $0.run.variant, seed: $0.run.seed, outcome: $0.outcome)
    }
    let manifest = ReportManifest(
      sweepName: sweep.name, specHash: info?.specHash ?? "", commit: Self.gitCommit(),
      toolchain: Self.toolchain(),
      host: ProcessInfo.processInfo.hostName, date: Date(), total: counts.total, done: counts.done,
      failed: counts.failed, pending: counts.pending)
    let report = Report(
      records: records, variants: sweep.variants.map(\.name), metrics: sweep.metrics, series: sweep.curves,
      manifest: manifest)
    let xLabel = ExperimentCatalogue.family(named: sweep.experiment)?.descriptor.seriesXLabel ?? "step"
    try report.write(to: directory, settings: FigureSettings { $0.xLabel = xLabel })
    let paperTables = try writePaperTables(sweep: sweep, finished: finished)
    var text = report.summary.markdown(title: sweep.name)
    text += "\nWrote \(directory)/summary.csv, summary.md, curves/, figures/, MANIFEST.json"
    for table in paperTables { text += ", \(table)" }
    text += " (\(counts.done) of \(counts.total) runs done, \(counts.failed) failed)."
    return text
  }

  /// The commit of the working directory's git checkout, or "unknown".
  static func gitCommit() -> String {
    let head = command("/usr/bin/git", ["rev-parse", "HEAD"]) ?? "unknown"
    let dirty =
      command("/usr/bin/git", ["status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
    return dirty ? head + "-dirty" : head
  }

  /// `swift --version`'s first line where a toolchain is installed, else what this binary was built with.
  static func toolchain() -> String {
    command("/usr/bin/env", ["swift", "--version"])?.split(separator: "\n").first.map(String.init)
      ?? BuildInfo.toolchain
  }

  private static func command(_ path: String, _ arguments: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
