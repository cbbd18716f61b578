import Coordinator
import Experiments
import Foundation
import Journal
import Logging
import SweepModel
import SweepProtocol
import ZeroMQ

/// What a sweep file holds: one sweep, or a graph of stages consuming each other's artifacts.
enum SweepDocument {
  case sweep(SweepSpec)
  case graph(GraphPlan)

  /// The sweep's or graph's name.
  var name: String {
    switch self {
    case .sweep(let sweep): sweep.name
    case .graph(let plan): plan.graph.name
    }
  }

  /// What the journal's sweep row calls the experiment (`graph` for a graph of several).
  var experiment: String {
    switch self {
    case .sweep(let sweep): sweep.experiment
    case .graph: "graph"
    }
  }

  /// Steps per lease of chained runs: a sweep's `segment_steps`; in a graph, the smallest any
  /// stage sets (runs that cannot be chained ignore it).
  var segmentSteps: Int? {
    switch self {
    case .sweep(let sweep): sweep.segmentSteps
    case .graph(let plan): plan.graph.stages.compactMap(\.sweep.segmentSteps).min()
    }
  }

  /// Applies `report --baseline` and `--intervals`: to the sweep, or to every stage of a graph that
  /// has the baseline variant (at least one must).
  mutating func setReportOptions(baseline: String?, intervals: Bool) throws {
    func named(_ sweep: SweepSpec) -> Bool {
      baseline.map { name in sweep.variants.contains { $0.name == name } } ?? false
    }
    switch self {
    case .sweep(var sweep):
      if let baseline {
        guard named(sweep) else { throw Self.unknownBaseline(baseline, variants: sweep.variants.map(\.name)) }
        sweep.baseline = baseline
      }
      if intervals { sweep.intervals = true }
      self = .sweep(sweep)
    case .graph(var plan):
      let stages = plan.graph.stages
      if let baseline, !stages.contains(where: { named($0.sweep) }) {
        throw Self.unknownBaseline(baseline, variants: stages.flatMap { $0.sweep.variants.map(\.name) })
      }
      plan.updateReportSettings { sweep in
        if named(sweep) { sweep.baseline = baseline }
        if intervals { sweep.intervals = true }
      }
      self = .graph(plan)
    }
  }

  private static func unknownBaseline(_ name: String, variants: [String]) -> SpecError {
    SpecError(
      file: "--baseline", location: nil, field: "", message: SweepSpec.notAVariant(name, variants: variants))
  }

  /// The text of a sweep file parsed and checked: a graph when it has `stages:`, else a sweep,
  /// with its runs (a graph's runs depend on its journal: the runner resolves them).
  static func parse(_ text: String, file: String) throws -> (document: SweepDocument, runs: [RunSpec]) {
    if let graph = SweepGraph.read(yaml: text, file: file) {
      return (.graph(try ExperimentCatalogue.validate(graph)), [])
    }
    let (sweep, runs) = try ExperimentCatalogue.validate(SweepSpec.read(yaml: text, file: file))
    return (.sweep(sweep), runs)
  }
}

/// Reading sweep files for the commands.
enum SweepFile {
  /// The sweep file at `path`: read (``SweepSpec/readText(path:)`` says what is wrong with a path
  /// or its bytes), parsed, checked against its experiments, and expanded into runs. Every problem
  /// of the file and of the checks is thrown together (``SpecProblems``).
  /// `overrides` (`fixed.step_size=0.001`, from `--set`) are recorded in the text (see
  /// ``SweepOverrides``), so the journal stores the sweep as it ran.
  static func load(_ path: String, overrides: [String] = []) throws -> (
    document: SweepDocument, text: String, runs: [RunSpec]
  ) {
    let raw = try SweepSpec.readText(path: path)
    var text = try SweepOverrides.record(overrides, in: raw, file: path)
    var (document, runs) = try SweepDocument.parse(text, file: path)
    let placements = Self.placements(of: document, file: path)
    if !placements.isEmpty {
      text = try SweepOverrides.record(overrides + placements, in: raw, file: path)
      (document, runs) = try SweepDocument.parse(text, file: path)
    }
    return (document, text, runs)
  }

  /// What a sweep's parameters take from where its file is (a `command` experiment's folder,
  /// ``Experiment/placed(_:sweepFile:)``), as overrides recorded with the text: `resume`,
  /// `report` and `audit` read the journal's copy, which is nowhere near the program.
  static func placements(of document: SweepDocument, file: String) -> [String] {
    func placed(_ sweep: SweepSpec, prefix: String) -> [String] {
      guard let family = ExperimentCatalogue.family(named: sweep.experiment) else { return [] }
      let placed = family.placed(sweep.fixed, sweepFile: file)
      return placed.keys.sorted().compactMap { key in
        guard placed[key] != sweep.fixed[key], case .string(let text)? = placed[key] else { return nil }
        return "\(prefix)fixed.\(key)=\(CanonicalJSON.quote(text))"
      }
    }
    switch document {
    case .sweep(let sweep): return placed(sweep, prefix: "")
    case .graph(let plan): return plan.graph.stages.flatMap { placed($0.sweep, prefix: "stages.\($0.name).") }
    }
  }
}

/// One sweep served to completion: journal, coordinator, local workers, report.
struct SweepRunner {
  var directory: String
  var serve: ServeOptions
  var logger: Logger
  /// Local worker processes to start (0: wait for workers that connect by themselves).
  var localWorkers: Int
  /// Where the coordinator listens; the default picks a free loopback port.
  var bind = "tcp://127.0.0.1:0"
  /// Runs that must go to another worker than the one named (audits).
  var avoiding: [RunKey: String] = [:]
  /// CURVE: the coordinator's key pair and the workers allowed in (nil: plaintext).
  var security: (keyPair: CurveKeyPair, allowList: AllowList)?
  /// Where workers fetch run inputs from (nil: the store beside this folder's journal).
  var artifactStore: ArtifactStore?

  /// The journal of a sweep folder.
  static func journalPath(_ directory: String) -> String { directory + "/journal.sqlite" }

  /// The sweep file stored in the journal of `directory`, parsed and checked again against the
  /// experiments, as running it needs.
  static func storedDocument(in directory: String) throws -> (
    document: SweepDocument, text: String, runs: [RunSpec]
  ) {
    let text = try storedText(in: directory)
    let (document, runs) = try SweepDocument.parse(
      text, file: "\(journalPath(directory)) (stored sweep file)")
    return (document, text, runs)
  }

  /// The sweep file stored in the journal of `directory`, parsed but not checked against the
  /// experiments (which may read datasets this machine lacks): enough to report and audit it.
  static func storedShape(in directory: String) throws -> (document: SweepDocument, text: String) {
    let text = try storedText(in: directory)
    let file = "\(journalPath(directory)) (stored sweep file)"
    if let reading = SweepGraph.read(yaml: text, file: file) {
      guard reading.problems.isEmpty, let graph = reading.graph else { throw SpecProblems(reading.problems) }
      // The runs as each stage expands them: a report needs the slots' stages and numbers only.
      return (.graph(GraphPlan(graph: graph, stageRuns: graph.stages.map { $0.sweep.expand() })), text)
    }
    return (.sweep(try SweepSpec.parse(yaml: text, file: file)), text)
  }

  /// The journal of `directory`, which must exist: else an error saying the folder is not a
  /// sweep's output folder (exit 2).
  static func existingJournalPath(_ directory: String) throws -> String {
    let path = journalPath(directory)
    guard FileManager.default.fileExists(atPath: path) else {
      throw SpecError(
        file: path, location: nil, field: "",
        message: "no journal here: is \(directory) a sweep's output folder?")
    }
    return path
  }

  /// The text of the sweep file stored in the journal of `directory`, checked against its hash.
  private static func storedText(in directory: String) throws -> String {
    let path = try existingJournalPath(directory)
    let journal = try Journal(path: path, readOnly: true)
    guard let info = try journal.sweepInfo() else {
      throw SpecError(file: path, location: nil, field: "", message: "the journal holds no sweep")
    }
    guard SHA256.hex(info.specText) == info.specHash else {
      throw JournalError(
        .corruptData,
        "The copy of the sweep file in \(path) is damaged (it no longer matches its hash). Continue with the "
          + "original file: `metasweep run SWEEP.yaml --out \(directory)` stores it again.")
    }
    return info.specText
  }

  /// Serves every run of `sweep` without an outcome, then writes the report; returns the exit code
  /// (0 complete, 3 complete with failed runs, 130 interrupted).
  /// With `quiet`, the tables are written but not printed.
  func run(sweep: SweepSpec, specText: String, runs: [RunSpec], quiet: Bool = false) throws -> Int32 {
    try run(document: .sweep(sweep), specText: specText, runs: runs, quiet: quiet)
  }

  /// Serves a sweep or a graph (see `run(sweep:specText:runs:quiet:)`). A graph's runs are resolved
  /// from its journal and added as their inputs are journaled, unless `runs` lists them (an audit).
  func run(document: SweepDocument, specText: String, runs: [RunSpec], quiet: Bool = false) throws -> Int32 {
    // Held until this returns: a second coordinator on the folder stops at once, naming this one.
    let lock = try ResultsFolderLock(directory: directory)
    defer { withExtendedLifetime(lock) {} }
    var phase = ContinuousClock.now
    /// Logs how long the step since the last call took (at debug level: `--log-level debug`).
    func timed(_ step: String) {
      let now = ContinuousClock.now
      logger.debug("\(step) took \(String(format: "%.3f", (now - phase).inSeconds)) s")
      phase = now
    }
    let journal = try Journal(path: Self.journalPath(directory))
    timed("Opening the journal")
    for problem in try journal.repairIndexes() {
      logger.warning("The journal's index was damaged, and is rebuilt from its tables: \(problem)")
    }
    timed("SQLite's integrity check")
    var runs = runs
    var feeder: GraphFeeder?
    /// A graph's runs whose inputs the journal holds; the rest wait for them.
    func resolveGraph() throws {
      guard case .graph(let plan) = document, runs.isEmpty || feeder != nil else { return }
      let (done, failed) = try journal.outcomeArtifacts()
      feeder = GraphFeeder(plan: plan, finished: done, failed: failed)
      runs = feeder!.initialRuns()
    }
    try resolveGraph()
    try reconcileEditedPrograms(&runs, journal: journal)
    func prepare() throws -> PrepareSummary {
      try journal.prepare(
        sweepName: document.name, experiment: document.experiment, specHash: SHA256.hex(specText),
        specText: specText, runs: runs)
    }
    var prepared = try prepare()
    timed("Preparing the runs")
    // Outcomes and checkpoints whose bytes no longer match their checksums are set aside, and
    // their runs run again; nothing damaged is ever tabulated or continued from.
    let damaged = try journal.quarantineDamaged()
    timed("Checking every outcome's checksum")
    for record in damaged {
      logger.warning("Damaged in the journal, so run again: \(record)")
    }
    if !damaged.isEmpty {
      if feeder != nil {
        // What a damaged run fed waits for it to run again.
        try resolveGraph()
        prepared = try prepare()
      } else {
        let counts = try journal.counts()
        prepared = PrepareSummary(
          total: counts.total, alreadyDone: counts.done, failed: counts.failed, pending: counts.pending)
      }
    }
    let pending = try journal.pendingRuns(inKeyOrder: true).map { stored in
      var run = stored
      run.inputs = ExperimentCatalogue.inputHashes(experiment: run.experiment, parameters: run.parameters)
      return run
    }
    // What workers fetch besides other runs' artifacts (a user's program, shipped): stored once.
    var shipped = Set<String>()
    for run in pending {
      let hashes = ExperimentCatalogue.shippedHashes(experiment: run.experiment, parameters: run.parameters)
      guard !hashes.isEmpty, !shipped.isSuperset(of: hashes) else { continue }
      let store = artifactStore ?? journal.artifactStore
      for bytes in try ExperimentCatalogue.shippedFiles(
        experiment: run.experiment, parameters: run.parameters)
      {
        shipped.insert(try store.store(bytes).sha256)
      }
    }
    let foreign = try journal.checkpointBuilds().filter { $0 != BuildInfo.buildID }
    if !foreign.isEmpty && !serve.allowOtherBuild {
      throw SpecError(
        file: Self.journalPath(directory), location: nil, field: "",
        message:
          "chained runs have checkpoints from another build (\(foreign.joined(separator: ", "))) than this one "
          + "(\(BuildInfo.buildID)): continuing them would not be bit-identical to an uninterrupted run. Use the same "
          + "metasweep binary, or pass --allow-other-build to continue anyway.")
    }
    let waiting = feeder.map { " (\($0.waitingCount) more wait for their inputs)" } ?? ""
    // Where the results go comes first: `run sweeps/x.yaml` from another folder writes under that folder.
    let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
    let tally = "\(runs.count) runs\(waiting), \(prepared.alreadyDone) already done, \(pending.count) to run"
    logger.notice("Sweep \(document.name) → \(absolute): \(tally)")

    var ending = CoordinatorShell.Ending.complete
    if !pending.isEmpty {
      var settings = CoordinatorShell.Settings()
      settings.dispatcher.heartbeatInterval = .milliseconds(Int64(serve.heartbeat * 1000))
      settings.dispatcher.workerTimeout = .milliseconds(Int64(serve.workerTimeout * 1000))
      settings.dispatcher.retryLimit = serve.retries
      settings.dispatcher.minimumStallTimeout = .milliseconds(Int64(serve.stallTimeout * 1000))
      settings.dispatcher.prefetch = serve.prefetch
      settings.dispatcher.expectedWorkers = localWorkers
      settings.dispatcher.requiredBuildID = BuildInfo.buildID
      settings.dispatcher.segmentSteps = document.segmentSteps
      settings.dispatcher.rounds = ExperimentCatalogue.rounds
      settings.dispatcher.roundCheckpointInterval = .milliseconds(Int64(serve.roundCheckpointSeconds * 1000))
      settings.dispatcher.roundExchange = Dispatcher.RoundExchange(rawValue: serve.roundExchange) ?? .peers
      settings.dispatcher.epochDuration = .microseconds(Int64(serve.epochSeconds * 1_000_000))
      // Workers that connect by themselves come and go; local ones read this host's disk.
      settings.dispatcher.waitsForCapableWorkers = localWorkers == 0
      let dispatcher = Dispatcher(
        pending: pending, alreadyDone: prepared.alreadyDone, alreadyFailed: prepared.failed,
        firstAttempt: try journal.maxAttemptID() + 1, priorFailures: try journal.failureCounts(),
        priorAttempts: try journal.attemptsOfPendingRuns().mapValues {
          Dispatcher.IssuedAttempt(key: $0.key, holder: $0.holder.map(WorkerIdentity.init(digest:)))
        },
        checkpoints: try journal.latestCheckpoints().mapValues {
          Dispatcher.Checkpoint(stepsDone: $0.stepsDone, bytes: $0.data)
        },
        avoiding: avoiding, settings: settings.dispatcher)

      var security = self.security
      var localKeys: LocalWorkerPool.Keys?
      var viewer: CurveKeyPair?
      if security == nil && localWorkers > 0 && ZeroMQ.hasCurve {
        // The embedded default speaks CURVE too, with keys made for this run and handed to the local
        // workers in their environment: another account on this machine can neither join the sweep
        // nor report for its workers. (Without CURVE in libzmq, loopback stays plaintext.) A third
        // key, written to the folder, lets `status --connect` in (LiveViewKeys).
        let server = try CurveKeyPair.generate()
        let worker = try CurveKeyPair.generate()
        let status = try CurveKeyPair.generate()
        security = (
          server,
          try AllowList(entries: [
            .init(name: "local", publicKey: worker.publicKey),
            .init(name: "status", publicKey: status.publicKey),
          ])
        )
        localKeys = LocalWorkerPool.Keys(workerSecretKey: worker.secretKey, serverPublicKey: server.publicKey)
        viewer = status
      }
      let context = try ZMQContext()
      // The authenticator must exist before the server socket binds, or libzmq lets everyone in.
      let authenticator = try security.map { try ZAPAuthenticator(context: context, allowList: $0.allowList) }
      let socket = try CoordinatorShell.makeRouter(context: context, settings: settings)
      if let security, let authenticator {
        try socket.makeCurveServer(keyPair: security.keyPair, authenticator: authenticator)
      }
      let endpoint = try socket.bind(bind)
      // The port is the kernel's choice by default: say it, so `status --connect` can find it.
      var liveView = "metasweep status --connect \(endpoint)"
      if let viewer, let security {
        do {
          liveView = try LiveViewKeys.write(
            endpoint: endpoint, viewer: viewer, serverPublicKey: security.keyPair.publicKey,
            directory: directory)
        } catch {
          logger.warning("No live view: \(error)")
        }
      }
      defer { LiveViewKeys.remove(directory) }
      logger.notice("Live view: \(liveView)")

      SignalTrap.install()
      let store = artifactStore ?? journal.artifactStore
      let pool = try LocalWorkerPool(
        count: localWorkers, endpoint: endpoint, logDirectory: directory + "/logs", keys: localKeys,
        localStore: URL(fileURLWithPath: store.folder).standardizedFileURL.path)
      defer { pool.stop() }
      let reporter = ProgressReporter(sweepName: document.name)
      let shell = CoordinatorShell(
        socket: socket, authenticator: authenticator, journal: journal, dispatcher: dispatcher,
        settings: settings, logger: logger, feeder: feeder, artifactStore: store,
        checkedArtifacts: artifactStore == nil ? journal.verifiedArtifacts : [:], onProgress: reporter.update)
      let started = ContinuousClock.now
      let cpuBefore = Self.processCPUSeconds()
      ending = try shell.run {
        pool.restartExited()
        return SignalTrap.isTriggered || pool.hasGivenUp
      }
      reporter.finish(shell.progress)
      let wall = ContinuousClock.now - started
      let seconds = wall.inSeconds
      let served = shell.progress.completedHere
      let cpu = Self.processCPUSeconds() - cpuBefore
      logger.notice(
        "Served \(served) runs in \(String(format: "%.2f", seconds)) s (\(String(format: "%.1f", Double(served) / max(seconds, 1e-9))) runs/s); coordinator CPU \(String(format: "%.2f", cpu)) s (\(String(format: "%.1f", served > 0 ? cpu / Double(served) * 1e6 : 0)) µs per run, \(shell.journalCommits) journal commits)"
      )
      let progress = shell.progress
      if progress.roundsDone > 0 {
        let rounds = Double(progress.roundsDone)
        logger.notice(
          "Rounds: \(progress.roundsDone) rounds, \(progress.shardsDone) shards; per round \(String(format: "%.0f", Double(progress.replicaBytesSent) / rounds)) bytes of replicas out, \(String(format: "%.0f", Double(progress.gradientBytesReceived) / rounds)) bytes of gradients in, coordinator CPU \(String(format: "%.1f", cpu / rounds * 1e6)) µs; \(progress.staleShards) stale shard reports ignored, \(progress.replicaResends) replicas sent again"
        )
      }
      if shell.refusedHandshakes > 0 {
        logger.warning("Refused \(shell.refusedHandshakes) CURVE handshakes (keys not in the allow-list)")
      }
      if shell.artifactBytesSent > 0 {
        logger.notice(
          "Sent \(String(format: "%.1f", Double(shell.artifactBytesSent) / 1e6)) MB of artifacts to workers that lacked a run's inputs (\(shell.artifactChunksSent) chunks)"
        )
      }
      if shell.malformedMessages > 0 {
        logger.warning("Dropped \(shell.malformedMessages) malformed messages")
      }
      if ending == .complete { pool.waitForExit(seconds: 3) }
    }

    phase = ContinuousClock.now
    let report = try ReportBuilder(directory: directory).write(document: document, journal: journal)
    timed("Writing the report")
    if !quiet { print(report.text) }
    if ending == .interrupted {
      FileHandle.standardError.write(
        Data("Stopped: finished runs are journaled. Continue with: metasweep resume \(directory)\n".utf8))
      // SIGTERM is a scheduler's orderly stop (a time limit, a requeue): stopping cleanly is success.
      return SignalTrap.received == SIGTERM ? 0 : 130
    }
    let counts = try journal.counts()
    return counts.failed > 0 ? 3 : 0
  }
}

extension SweepRunner {
  /// CPU time (user + system) this process has used, in seconds.
  static func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
  }
}

/// Local worker processes: this same binary started as `metasweep worker`, restarted when one
/// dies (a crash or a kill -9 costs only its run in flight), killed when the sweep stops.
final class LocalWorkerPool {
  /// The CURVE keys local workers connect with, passed in their environment (never on a command
  /// line, which every account on the machine can read).
  struct Keys {
    var workerSecretKey: String
    var serverPublicKey: String
  }

  private var processes: [Process] = []
  private let endpoint: String
  private let logDirectory: String
  private let keys: Keys?
  /// The coordinator's artifact store, which local workers read inputs from (on this same disk).
  private let localStore: String?
  private var restarts = 0
  /// Restarts allowed before the pool gives up (a worker that crashes on start would loop).
  private let restartLimit: Int

  init(count: Int, endpoint: String, logDirectory: String, keys: Keys?, localStore: String? = nil) throws {
    self.localStore = localStore
    self.endpoint = endpoint
    self.logDirectory = logDirectory
    self.keys = keys
    self.restartLimit = 5 * count
    guard count > 0 else { return }
    try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
    for index in 0..<count { processes.append(try start(index)) }
  }

  private func start(_ index: Int) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: BuildInfo.executablePath)
    process.arguments =
      [
        "worker", "--connect", endpoint, "--slots", "1", "--name", "local-\(index)", "--parent-pid",
        "\(getpid())", "--peer-bind", "tcp://127.0.0.1:0",
      ] + (localStore.map { ["--local-store", $0] } ?? [])
    let logPath = "\(logDirectory)/worker-\(index).log"
    if !FileManager.default.fileExists(atPath: logPath) {
      _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    }
    let log = FileHandle(forWritingAtPath: logPath)
    _ = try? log?.seekToEnd()
    process.standardOutput = log
    process.standardError = log
    process.standardInput = FileHandle.nullDevice
    if let keys {
      var environment = ProcessInfo.processInfo.environment
      environment[WorkerKeyEnvironment.secretKey] = keys.workerSecretKey
      environment[WorkerKeyEnvironment.serverKey] = keys.serverPublicKey
      process.environment = environment
    }
    try process.run()
    return process
  }

  /// Starts a new worker in place of each one that exited, within the restart limit.
  func restartExited() {
    for index in processes.indices where !processes[index].isRunning && restarts < restartLimit {
      restarts += 1
      if let process = try? start(index) { processes[index] = process }
    }
  }

  /// Whether every worker has exited and no restart is left.
  var hasGivenUp: Bool {
    !processes.isEmpty && restarts >= restartLimit && processes.allSatisfy { !$0.isRunning }
  }

  /// Waits up to `seconds` for the workers to leave by themselves.
  func waitForExit(seconds: Double) {
    let deadline = Date().addingTimeInterval(seconds)
    while processes.contains(where: \.isRunning) && Date() < deadline { usleep(10_000) }
  }

  /// Kills workers still running and reaps them, then removes the logs they left empty (and the
  /// logs folder when nothing is left in it), so a folder's logs/ holds only what a worker said.
  func stop() {
    for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    for process in processes { process.waitUntilExit() }
    let manager = FileManager.default
    for index in processes.indices {
      let path = "\(logDirectory)/worker-\(index).log"
      if let size = (try? manager.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
        try? manager.removeItem(atPath: path)
      }
    }
    if (try? manager.contentsOfDirectory(atPath: logDirectory))?.isEmpty == true {
      try? manager.removeItem(atPath: logDirectory)
    }
  }
}
