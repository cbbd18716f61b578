import Aggregation
import Experiments
import Foundation
import Journal
import SweepModel

/// Writes a sweep's tables, curves, figures and manifest from its journal alone.
struct ReportBuilder {
  var directory: String

  /// What a report said, and the damaged records it left out.
  struct Written {
    /// The tables as markdown and the files written.
    var text: String
    /// What is wrong with the journal: damaged records (not tabulated; `metasweep resume` runs them
    /// again) and runs of the sweep that its journal has lost track of.
    var problems: [String]
  }

  /// Reads the journal (read-only) and writes the report.
  func write(sweep: SweepSpec) throws -> Written {
    try write(sweep: sweep, journal: Journal(path: SweepRunner.journalPath(directory), readOnly: true))
  }

  /// Reads the journal (read-only) and writes the report of a sweep or a graph.
  func write(document: SweepDocument) throws -> Written {
    try write(document: document, journal: Journal(path: SweepRunner.journalPath(directory), readOnly: true))
  }

  /// Writes the report of a sweep or a graph (a folder per stage, ``writeGraph(_:journal:)``),
  /// then a PNG and a PDF beside every figure.
  func write(document: SweepDocument, journal: Journal) throws -> Written {
    var written: Written
    switch document {
    case .sweep(let sweep): written = try write(sweep: sweep, journal: journal)
    case .graph(let plan): written = try writeGraph(plan, journal: journal)
    }
    if let missing = Self.convertFigures(under: directory) { written.text += "\n" + missing }
    return written
  }

  /// `rsvg-convert` (Debian's librsvg2-bin, which tools/setup installs).
  static let rsvgConvert = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  /// Writes `<name>.png` (900 px wide) and `<name>.pdf` beside every `figures/<name>.svg` under
  /// `folder`, with rsvg-convert; PDFs carry no date (SOURCE_DATE_EPOCH=0), so the same figure
  /// gives the same bytes. Returns a line to show when rsvg-convert is missing (the SVGs are then
  /// the only figures), else nil.
  static func convertFigures(under folder: String) -> String? {
    guard let rsvgConvert else {
      return "(No PNG or PDF copies of the figures: rsvg-convert is missing; apt-get install librsvg2-bin.)"
    }
    guard let paths = FileManager.default.enumerator(atPath: folder) else { return nil }
    var figures: [String] = []
    while let path = paths.nextObject() as? String {
      // The artifact store and the logs can hold many files and never a figure.
      if path == "artifacts" || path == "logs" {
        paths.skipDescendants()
      } else if path.hasSuffix(".svg") && (path.hasPrefix("figures/") || path.contains("/figures/")) {
        figures.append(path)
      }
    }
    figures.sort()
    for figure in figures {
      let svg = "\(folder)/\(figure)"
      let stem = String(svg.dropLast(4))
      for (format, extra) in [("png", ["-w", "900", "-b", "white"]), ("pdf", [])] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: rsvgConvert)
        process.arguments = ["-f", format] + extra + ["-o", "\(stem).\(format)", svg]
        process.environment = ["SOURCE_DATE_EPOCH": "0", "PATH": "/usr/bin:/bin"]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { continue }
        process.waitUntilExit()
      }
    }
    return nil
  }

  /// The report of `sweep` from `journal` (the intact outcomes only), with what it read.
  static func report(sweep: SweepSpec, journal: Journal) throws -> (
    report: Report, finished: [FinishedRun], damaged: [DamagedRecord], counts: JournalCounts,
    machines: MachineTally
  ) {
    let (finished, damaged) = try journal.readFinishedRuns()
    let counts = try journal.counts()
    let info = try journal.sweepInfo()
    let records = finished.map {
      AggregationRecord(
        variant: $0.run.variant, seed: $0.run.seed, outcome: $0.outcome, parameters: $0.run.parameters,
        runKey: $0.run.key.hex)
    }
    var manifest = ReportManifest(
      sweepName: sweep.name, specHash: info?.specHash ?? "", commit: Self.gitCommit(),
      toolchain: Self.toolchain(),
      host: ProcessInfo.processInfo.hostName, date: Date(), total: counts.total, done: counts.done,
      failed: counts.failed, pending: counts.pending)
    manifest.datasets = Self.datasets(of: finished)
    let machines = MachineTally(finished, types: try journal.machineTypes())
    manifest.machines = machines.runs
    manifest.overrides = sweep.overrides
    manifest.keptResults = try journal.keptRuns().map { kept in
      var programSHA256 = ""
      if case .string(let hash) = kept.run.parameters[EditedPrograms.hashParameter] { programSHA256 = hash }
      return ReportManifest.KeptResult(
        variant: kept.run.variant, seed: kept.run.seed, runKey: kept.run.key.hex,
        insteadOf: kept.insteadOf.hex,
        programSHA256: programSHA256)
    }
    var report = Report(
      records: records, variants: sweep.variants.map(\.name), metrics: sweep.metrics, series: sweep.curves,
      manifest: manifest, baseline: sweep.baseline, intervals: sweep.intervals)
    report.directions =
      ExperimentCatalogue.family(named: sweep.experiment)?.descriptor.metricDirections ?? [:]
    return (report, finished, damaged, counts, machines)
  }

  /// Writes the report of `sweep` from `journal`: tables of the intact outcomes only.
  func write(sweep: SweepSpec, journal: Journal) throws -> Written {
    let (report, finished, damaged, counts, machines) = try Self.report(sweep: sweep, journal: journal)
    try Self.write(report, to: directory, experiment: sweep.experiment, runs: finished)
    let paperTables = try writePaperTables(sweep: sweep, finished: finished)
    var text = report.summaryMarkdown
    text += "\nWrote \(directory)/summary.csv, summary.md, runs.csv, curves/, figures/, MANIFEST.json"
    if report.comparisons != nil { text += ", comparisons.csv" }
    for table in paperTables { text += ", \(table)" }
    text += " (\(counts.done) of \(counts.total) runs done, \(counts.failed) failed)."
    text += machines.note
    var problems = damaged.map(\.description)
    let expected = sweep.variants.count * sweep.seeds.count
    if counts.total != expected {
      problems.append(
        "the sweep has \(expected) runs, but the journal's current spec holds \(counts.total): run rows are damaged"
      )
    }
    text += Self.damageReport(problems)
    return Written(text: text, problems: problems)
  }

  /// The datasets `runs` read, by name, with the content hashes they were pinned to (in run order).
  static func datasets(of runs: [FinishedRun]) -> [String: [String]] {
    var datasets: [String: [String]] = [:]
    for run in runs {
      if case .string(let name) = run.run.parameters["dataset"],
        case .string(let hash) = run.run.parameters["dataset_sha256"],
        !(datasets[name]?.contains(hash) ?? false)
      {
        datasets[name, default: []].append(hash)
      }
    }
    return datasets
  }

  /// Which machine types computed a report's runs, from the journal's ``Journal/machineTypes()``.
  struct MachineTally {
    /// How many of the runs each machine type computed (a run whose segments crossed types counts
    /// under each): the manifest's `machines`.
    var runs: [String: Int] = [:]
    /// The counts beyond one per run that such crossings add.
    var extra = 0

    init(_ finished: [FinishedRun], types: [RunKey: [String]]) {
      for run in finished {
        let machines = types[run.run.key] ?? []
        for machine in machines { runs[machine, default: 0] += 1 }
        extra += max(machines.count - 1, 0)
      }
    }

    /// A paragraph saying that the runs came from several machine types ("" when from one or none).
    var note: String {
      guard runs.count > 1 else { return "" }
      var text =
        "\nComputed on \(runs.count) machine types; a run can differ in its last bits from one to another:"
      for (type, count) in runs.sorted(by: { $0.key < $1.key }) {
        text += "\n  \(type): \(count) run\(count == 1 ? "" : "s")"
      }
      if extra > 0 {
        text += "\n  (a run computed in segments on more than one counts under each: \(extra) more)"
      }
      return text
    }
  }

  /// The lines that name what the report left out because the journal is damaged ("" when nothing).
  static func damageReport(_ problems: [String]) -> String {
    guard !problems.isEmpty else { return "" }
    var text = "\nThe journal is damaged; left out of the tables (`metasweep resume` runs them again):"
    for problem in problems.prefix(20) { text += "\n  \(problem)" }
    if problems.count > 20 {
      text += "\n  and \(problems.count - 20) more (`metasweep verify` lists them all)"
    }
    return text
  }

  /// Writes `report`'s files, its figures drawn as ``figures(of:experiment:runs:)`` draws them.
  static func write(_ report: Report, to folder: String, experiment: String, runs: [FinishedRun]) throws {
    let style = FigureStyle(experiment: experiment, runs: runs)
    var report = report
    report.directions = style.directions
    try report.write(
      to: folder, settings: style.settings, xLabels: style.xLabels, titles: style.titles,
      categories: style.categories)
  }

  /// `report`'s figures as SVG by file name, as ``write(_:to:experiment:runs:)`` writes them.
  static func figures(of report: Report, experiment: String, runs: [FinishedRun]) -> [(
    name: String, svg: String
  )] {
    let style = FigureStyle(experiment: experiment, runs: runs)
    return report.figures(
      settings: style.settings, xLabels: style.xLabels, titles: style.titles, categories: style.categories)
  }

  /// How an experiment's figures are drawn: x axes labelled with what its series count, titles saying
  /// what they measure, bars for series of categories, and the task switches of `runs` marked when
  /// every run switches at the same x.
  struct FigureStyle {
    var settings: FigureSettings
    var xLabels: [String: String]
    var titles: [String: String]
    var categories: [String: [String]]
    var directions: [String: MetricDirection]

    init(experiment: String, runs: [FinishedRun]) {
      let descriptor = ExperimentCatalogue.family(named: experiment)?.descriptor
      settings = FigureSettings { $0.xLabel = descriptor?.seriesXLabel ?? "step" }
      if let switches = descriptor?.taskSwitches {
        let all = Set(runs.map { switches($0.run.parameters) })
        if all.count == 1, let marks = all.first, !marks.isEmpty {
          settings.marks = marks
          settings.marksLabel = "task switch"
        }
      }
      xLabels = descriptor?.seriesXLabels ?? [:]
      titles = descriptor?.seriesTitles ?? [:]
      categories = descriptor?.seriesCategories ?? [:]
      directions = descriptor?.metricDirections ?? [:]
    }
  }

  /// The commit of the sources this binary was built from, embedded at build time (the last commit
  /// that changed Sources/ or Package.swift, `-dirty` with uncommitted changes there; see
  /// Plugins/BuildCommit), whichever folder it runs in.
  static func gitCommit() -> String { BuildCommit.sources }

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
