import ArgumentParser
import Foundation
import Journal
import SweepModel

struct AuditCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "audit",
    abstract:
      "Re-run a sample of finished runs on other workers and report any outcome that is not bit-identical.",
    discussion: """
      The sample is re-run as a sweep of its own in DIR/audit/ (journal and tables), each run on a
      worker other than the one that produced it; then every metric and series is compared bit for
      bit with the journaled outcome. Exit code 0 when all agree, 1 when any differs.
        metasweep audit results/crossprop-geoff --sample 8                 # local workers
        metasweep audit results/x --sample 20 --bind tcp://0.0.0.0:5555 --insecure   # cluster workers
      """)

  @Argument(help: "The sweep's output folder (holding journal.sqlite).")
  var directory: String

  @Option(help: "How many finished runs to re-run.")
  var sample: Int = 8

  @Option(help: "Chooses which runs are sampled (the same seed gives the same sample).")
  var seed: UInt64 = 0

  @Option(help: "Local worker processes to start (at least 2, so each run can change worker); 0 with --bind.")
  var workers: Int = 2

  @Option(help: "Serve the audit to workers that connect here instead of local ones.")
  var bind: String?

  @Flag(help: "Allow plaintext on a non-loopback --bind address.")
  var insecure = false

  @OptionGroup var serve: ServeOptions
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    guard sample >= 1 else { throw ValidationError("--sample must be at least 1.") }
    guard bind != nil || workers >= 2 else {
      throw ValidationError(
        "--workers must be at least 2: each run must go to another worker than its first.")
    }
    if let bind, !insecure, !(bind.hasPrefix("tcp://127.") || bind.hasPrefix("ipc://")) {
      throw ValidationError(
        "Binding \(bind) would send runs in plaintext beyond this machine; pass --insecure on a trusted network."
      )
    }
  }

  func run() throws {
    let logger = logging.bootstrap(label: "metasweep.audit")
    let code = try withErrorFunnel {
      let (document, text) = try SweepRunner.storedShape(in: directory)
      let journal = try Journal(path: SweepRunner.journalPath(directory), readOnly: true)
      let (original, damaged) = try journal.readFinishedRuns()
      // A damaged record fails the audit at once: there is no outcome to compare.
      for record in damaged { print("DAMAGED \(record)") }
      let chosen = Self.sample(original, count: sample, seed: seed)
      guard !chosen.isEmpty else {
        throw SpecError(
          file: SweepRunner.journalPath(directory), location: nil, field: "",
          message: "no finished runs to audit")
      }
      let auditDirectory = directory + "/audit"
      try? FileManager.default.removeItem(atPath: auditDirectory)
      var runner = SweepRunner(
        directory: auditDirectory, serve: serve, logger: logger, localWorkers: bind == nil ? workers : 0)
      if let bind { runner.bind = bind }
      // A graph's runs consume artifacts: they are served from the audited sweep's store.
      runner.artifactStore = ArtifactStore(journalPath: SweepRunner.journalPath(directory))
      runner.avoiding = Dictionary(uniqueKeysWithValues: chosen.map { ($0.run.key, $0.worker) })
      let runs = chosen.enumerated().map { index, finished in
        var run = finished.run
        run.ordinal = index
        return run
      }
      let served = try runner.run(document: document, specText: text, runs: runs, quiet: true)
      guard served == 0 else { return served }
      let auditJournal = try Journal(path: SweepRunner.journalPath(auditDirectory), readOnly: true)
      let audited = try auditJournal.finishedRuns()
      let byKey = Dictionary(uniqueKeysWithValues: audited.map { ($0.run.key, $0) })
      let (firstMachines, againMachines) = (try journal.machineTypes(), try auditJournal.machineTypes())
      var differing = 0
      for first in chosen {
        guard let second = byKey[first.run.key] else { continue }
        if let difference = Self.firstDifference(first.outcome, second.outcome)
          ?? Self.artifactDifference(first.artifacts, second.artifacts)
        {
          differing += 1
          print(
            "DIFFERS \(first.run.variant) seed \(first.run.seed) (run \(first.run.key.short)): \(difference); "
              + "first on \(first.worker), again on \(second.worker)"
              + Self.machineNote(
                first: firstMachines[first.run.key] ?? [], again: againMachines[first.run.key] ?? []))
        } else {
          print(
            "same    \(first.run.variant) seed \(first.run.seed): \(first.worker) and \(second.worker) agree bit for bit"
          )
        }
      }
      print(
        "\(chosen.count) runs re-run on other workers: \(chosen.count - differing) bit-identical, \(differing) differ"
          + (damaged.isEmpty ? "" : "; \(damaged.count) damaged in the journal")
      )
      return differing == 0 && damaged.isEmpty ? 0 : 1
    }
    if code != 0 { throw ExitCode(code) }
  }

  /// What a difference may owe to the machines: when the run was computed on other machine types
  /// the second time (both known), the last bits may differ without anything being wrong.
  static func machineNote(first: [String], again: [String]) -> String {
    guard !first.isEmpty, !again.isEmpty, Set(first) != Set(again) else { return "" }
    return
      "; but on other machine types (\(first.joined(separator: " + ")), then \(again.joined(separator: " + "))), "
      + "and runs are bit-identical only on one machine type"
  }

  /// `count` finished runs in an order set by `seed`, never by dictionary or journal order.
  static func sample(_ runs: [FinishedRun], count: Int, seed: UInt64) -> [FinishedRun] {
    let ranked = runs.map { (rank: SHA256.hex("\(seed):\($0.run.key.hex)"), run: $0) }.sorted {
      $0.rank < $1.rank
    }
    return ranked.prefix(count).map(\.run).sorted { $0.run.ordinal < $1.run.ordinal }
  }

  /// Which artifact two runs made differently (by content hash), or nil when they made the same.
  static func artifactDifference(_ a: [StoredArtifact], _ b: [StoredArtifact]) -> String? {
    guard a.map(\.name) == b.map(\.name) else { return "they make different artifacts" }
    for (x, y) in zip(a, b) where x.reference != y.reference {
      return "artifact \(x.name) is \(x.reference) then \(y.reference)"
    }
    return nil
  }

  /// Where two outcomes first differ in any bit, or nil when they are bit-identical.
  static func firstDifference(_ a: Outcome, _ b: Outcome) -> String? {
    guard a.metrics.map(\.name) == b.metrics.map(\.name) else { return "they report different metrics" }
    for (x, y) in zip(a.metrics, b.metrics) where x.value.bitPattern != y.value.bitPattern {
      return "\(x.name) is \(x.value) then \(y.value)"
    }
    guard a.series.map(\.name) == b.series.map(\.name) else { return "they report different series" }
    for (x, y) in zip(a.series, b.series) {
      guard x.xStart.bitPattern == y.xStart.bitPattern, x.xStep.bitPattern == y.xStep.bitPattern,
        x.values.count == y.values.count
      else { return "series \(x.name) has another shape" }
      if let i = x.values.indices.first(where: { x.values[$0].bitPattern != y.values[$0].bitPattern }) {
        return "series \(x.name) point \(i) is \(x.values[i]) then \(y.values[i])"
      }
    }
    return nil
  }
}
