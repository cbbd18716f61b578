import ArgumentParser
import Experiments
import Foundation
import Journal
import SweepModel
import ZeroMQ

struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run a sweep file on local worker processes over loopback ZeroMQ (the embedded default).",
    discussion: """
      Results go to results/<sweep name>/ under the current folder (or --out): journal.sqlite, \
      summary.csv, summary.md, runs.csv, curves/, figures/ and MANIFEST.json. Running the same \
      command again after an interruption runs only the runs that have no outcome yet.
      """)

  @Argument(help: "The sweep file (YAML).")
  var spec: String

  @Option(help: "Local worker processes to start (default: one per core, \(cores) here).")
  var workers: Int?

  @Option(help: "The output folder (default: results/<sweep name>).")
  var out: String?

  @Option(
    name: .customLong("set"),
    help: ArgumentHelp(
      "Override a field of the sweep file: path=value, like fixed.step_size=0.001 or seeds=0..<5 (repeatable).",
      valueName: "path=value"))
  var overrides: [String] = []

  @OptionGroup var serve: ServeOptions
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    guard (workers ?? 1) >= 1 else { throw ValidationError("--workers must be at least 1.") }
  }

  func run() throws {
    let logger = logging.bootstrap(label: "metasweep.coordinator")
    let code = try withErrorFunnel {
      let (document, text, runs) = try SweepFile.load(spec, overrides: overrides)
      let runner = SweepRunner(
        directory: out ?? "results/\(document.name)", serve: serve, logger: logger,
        localWorkers: workers ?? cores)
      return try runner.run(document: document, specText: text, runs: runs)
    }
    if code != 0 { throw ExitCode(code) }
  }
}

struct ResumeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resume",
    abstract: "Continue an interrupted sweep from its journal: only runs without an outcome run.")

  @Argument(help: "The sweep's output folder (holding journal.sqlite).")
  var directory: String

  @Option(help: "Local worker processes to start (default: one per core, \(cores) here).")
  var workers: Int?

  @OptionGroup var serve: ServeOptions
  @OptionGroup var logging: LoggingOptions

  func run() throws {
    let logger = logging.bootstrap(label: "metasweep.coordinator")
    let code = try withErrorFunnel {
      let (document, text, runs) = try SweepRunner.storedDocument(in: directory)
      let runner = SweepRunner(
        directory: directory, serve: serve, logger: logger, localWorkers: max(1, workers ?? cores))
      return try runner.run(document: document, specText: text, runs: runs)
    }
    if code != 0 { throw ExitCode(code) }
  }
}

/// This machine's cores: the default number of local workers.
let cores = ProcessInfo.processInfo.activeProcessorCount

struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Rebuild tables, curves, figures and the manifest from the journal alone.")

  @Argument(help: "The sweep's output folder (holding journal.sqlite).")
  var directory: String

  @Option(
    help: ArgumentHelp(
      "Compare every variant with this one, seed by seed: paired differences, 95% intervals and Holm-corrected "
        + "p-values in summary.md and comparisons.csv (default: the sweep file's baseline:).",
      valueName: "variant"))
  var baseline: String?

  @Flag(
    help: "Show each mean's 95% confidence interval in summary.md (default: the sweep file's intervals:).")
  var intervals = false

  func run() throws {
    try withErrorFunnel {
      var (document, _) = try SweepRunner.storedShape(in: directory)
      try document.setReportOptions(baseline: baseline, intervals: intervals)
      let written = try ReportBuilder(directory: directory).write(document: document)
      print(written.text)
      // Tables short of damaged records are written, but a script must not take them as whole.
      if !written.problems.isEmpty { throw ExitCode(3) }
    }
  }
}

struct CoordinatorCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "coordinator", abstract: "Serve a sweep to workers that connect over the network.")

  @Argument(help: "The sweep file (YAML).")
  var spec: String

  @Option(help: "The endpoint to bind, e.g. tcp://0.0.0.0:5555.")
  var bind: String = "tcp://127.0.0.1:5555"

  @Option(help: "The output folder (default: results/<sweep name>).")
  var out: String?

  @Flag(help: "Allow plaintext on a non-loopback address.")
  var insecure = false

  @Option(
    name: .customLong("set"),
    help: ArgumentHelp(
      "Override a field of the sweep file: path=value (repeatable).", valueName: "path=value"))
  var overrides: [String] = []

  @Option(help: "CURVE: the coordinator's key file (from `metasweep keys generate`).")
  var curveKey: String?

  @Option(help: "CURVE: the folder of public keys (.pub) of the workers allowed to connect.")
  var allow: String?

  @OptionGroup var serve: ServeOptions
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    guard (curveKey == nil) == (allow == nil) else {
      throw ValidationError(
        "CURVE needs both --curve-key (the coordinator's key) and --allow (the workers' public keys).")
    }
    let loopback =
      bind.hasPrefix("tcp://127.") || bind.hasPrefix("tcp://localhost:") || bind.hasPrefix("ipc://")
    guard loopback || insecure || curveKey != nil else {
      throw ValidationError(
        "Binding \(bind) would send runs in plaintext beyond this machine. Pass --curve-key and --allow "
          + "(see `metasweep keys generate`), or --insecure on a trusted network.")
    }
  }

  func run() throws {
    let logger = logging.bootstrap(label: "metasweep.coordinator")
    let code = try withErrorFunnel {
      let (document, text, runs) = try SweepFile.load(spec, overrides: overrides)
      var runner = SweepRunner(
        directory: out ?? "results/\(document.name)", serve: serve, logger: logger, localWorkers: 0,
        bind: bind)
      if let curveKey, let allow {
        let allowList = try AllowList.load(directory: allow)
        for problem in allowList.problems { logger.warning("Skipped a public key file: \(problem)") }
        logger.notice("CURVE on: \(allowList.entries.count) workers allowed", metadata: ["allow": "\(allow)"])
        runner.security = (try CurveKeyFile.loadKeyPair(path: curveKey), allowList)
      }
      return try runner.run(document: document, specText: text, runs: runs)
    }
    if code != 0 { throw ExitCode(code) }
  }
}

struct ExperimentsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "experiments",
    abstract: "List experiment families, their parameters with defaults, and what they report.")

  func run() {
    for family in ExperimentCatalogue.all {
      let d = family.descriptor
      print("\(d.name): \(d.summary)")
      print("  parameters:")
      let width = d.parameters.map(\.name.count).max() ?? 0
      for p in d.parameters {
        let name = p.name.padding(toLength: width, withPad: " ", startingAt: 0)
        print("    \(name)  \(p.kind.summary), default \(p.defaultValue): \(p.doc)")
      }
      if d.acceptsOtherParameters {
        print("    (any other)  passed to the program with the seed, as one JSON object on standard input")
        print("  metrics: what the program prints, as `@metasweep {\"metric\": NAME, \"value\": V}` lines")
        print(
          "  series:  what the program prints, as `@metasweep {\"point\": NAME, \"x\": X, \"value\": V}` lines"
        )
      } else {
        print("  metrics: \(d.metrics.joined(separator: ", "))")
        print("  series:  \(d.series.joined(separator: ", "))")
      }
      if !d.artifacts.isEmpty {
        print(
          "  makes:   \(d.artifacts.joined(separator: ", ")) (artifacts later stages of a sweep graph may consume)"
        )
      }
      if !d.pointMaps.isEmpty {
        print(
          "  maps:    \(ExperimentCatalogue.abbreviated(d.pointMaps)) (per run, as <map>_x, <map>_y, <map>_label)"
        )
      }
    }
  }
}

extension ParameterDescriptor.Kind {
  var summary: String {
    switch self {
    case .int(let r): "integer in \(r.lowerBound)...\(r.upperBound)"
    case .double(let r): "number in \(r.lowerBound)...\(r.upperBound)"
    case .choice(let words): "one of " + words.joined(separator: "|")
    case .bool: "true|false"
    case .text: "text"
    case .artifact(let isList):
      isList ? "input: artifacts of another stage" : "input: another stage's artifact"
    }
  }
}

struct RunOneCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run-one", abstract: "Run one trial in this process (no network) and print its metrics.",
    discussion: "metasweep run-one --experiment geoff --param algorithm=crossprop --param eta=0.5 --seed 3")

  @Option(help: "The experiment family.")
  var experiment: String

  @Option(name: .customLong("param"), help: "A parameter as name=value (repeatable).")
  var parameters: [String] = []

  @Option(help: "The run's root seed.")
  var seed: UInt64 = 0

  @Flag(help: "Also print every series, one value per line.")
  var series = false

  func run() throws {
    try withErrorFunnel {
      var sweep = SweepSpec(
        name: "run-one", experiment: experiment, seeds: [seed], fixed: [:], variants: [], metrics: [],
        curves: [],
        file: "--param")
      for text in parameters {
        guard let equals = text.firstIndex(of: "=") else {
          throw SpecError(
            file: "--param", location: nil, field: text, message: "write parameters as name=value")
        }
        sweep.fixed[String(text[..<equals])] = ParameterValue(
          parsing: String(text[text.index(after: equals)...]))
      }
      sweep.variants = [SweepSpec.Variant(name: "run-one", parameters: [:])]
      let run = try ExperimentCatalogue.validate(sweep)[0]
      let outcome = try ExperimentCatalogue.run(
        experiment: run.experiment, parameters: run.parameters, seed: seed)
      print("run \(run.key.short)")
      for metric in outcome.metrics { print("\(metric.name) \(metric.value)") }
      for artifact in outcome.artifacts { print("artifact \(artifact.name) \(artifact.sha256)") }
      if series {
        for s in outcome.series {
          for (i, v) in s.values.enumerated() { print("\(s.name) \(s.x(i)) \(v)") }
        }
      }
    }
  }
}

extension ParameterValue {
  /// A command-line value: an integer, a number, true/false, or else a word.
  init(parsing text: String) {
    if let n = Int(text) {
      self = .int(n)
    } else if let x = Double(text) {
      self = .double(x)
    } else if text == "true" || text == "false" {
      self = .bool(text == "true")
    } else {
      self = .string(text)
    }
  }
}

extension SpecError: UserFacingError {
  var userMessage: String { description }
  var exitCode: Int32 { 2 }
}

extension JournalError: UserFacingError {
  var userMessage: String { description }
  /// 2 when the user can fix it (another coordinator, the wrong or an unwritable folder, a damaged
  /// file), 1 for what looks like a bug.
  var exitCode: Int32 {
    switch code {
    case .folderInUse, .cannotOpen, .sweepMismatch, .duplicateRun, .corruptData: 2
    case .unknownRun, .unknownAttempt, .attemptMismatch, .invalidArgument, .database: 1
    }
  }
}

extension SpecProblems: UserFacingError {
  var userMessage: String { description }
  var exitCode: Int32 { 2 }
}
