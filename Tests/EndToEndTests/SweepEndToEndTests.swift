import Foundation
import Journal
import SweepModel
import Testing

/// A small GEOFF sweep: 2 variants x 4 seeds of a shrunken network, quick even in a debug build.
private let smallSweep = """
  name: e2e
  experiment: geoff
  seeds: 0..<4
  fixed:
    examples_per_task: 150
    hidden_units: 40
    target_features: 100
    bin_size: 50
    tail_examples: 50
  variants:
    backprop: {algorithm: backprop}
    crossprop-eta0: {algorithm: crossprop, eta: 0.0}
  metrics: [error_task1, u_drift_task3, w_drift_task3]
  curves: [error, u_drift]
  """

/// Files whose bytes must not depend on how the sweep was run (MANIFEST.json holds the date).
private let reportFiles = [
  "summary.csv", "summary.md", "curves/error.csv", "curves/u_drift.csv", "figures/error.svg",
]

private func writeSpec(_ text: String, in directory: URL, name: String = "sweep.yaml") throws -> String {
  let path = directory.appendingPathComponent(name).path
  try text.write(toFile: path, atomically: true, encoding: .utf8)
  return path
}

private func outcomeCount(_ directory: URL) -> Int {
  let path = directory.appendingPathComponent("journal.sqlite").path
  guard FileManager.default.fileExists(atPath: path), let journal = try? Journal(path: path, readOnly: true)
  else {
    return 0
  }
  return (try? journal.counts().done) ?? 0
}

private func reportBytes(_ directory: URL) -> [String: Data] {
  var out: [String: Data] = [:]
  for file in reportFiles {
    out[file] = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path)
  }
  return out
}

/// The clean, uninterrupted sweep every disturbed one is compared with.
private func cleanReport() throws -> [String: Data] {
  let dir = try makeScratchDirectory()
  let spec = try writeSpec(smallSweep, in: dir)
  let result = try Binary.run(["run", spec, "--workers", "2", "--out", "clean"], in: dir)
  #expect(result.status == 0, "\(result.stderr)")
  return reportBytes(dir.appendingPathComponent("clean"))
}

@Suite(.serialized) struct SweepEndToEndTests {
  @Test func run_writesTables_withOneOutcomePerRun() throws {
    let dir = try makeScratchDirectory()
    let spec = try writeSpec(smallSweep, in: dir)
    let result = try Binary.run(["run", spec, "--workers", "2", "--out", "out"], in: dir)
    #expect(result.status == 0, "\(result.stderr)")
    let out = dir.appendingPathComponent("out")
    let journal = try Journal(path: out.appendingPathComponent("journal.sqlite").path)
    let finished = try journal.finishedRuns()
    #expect(finished.count == 8)
    #expect(Set(finished.map(\.run.key)).count == 8)
    let csv = try String(contentsOf: out.appendingPathComponent("summary.csv"), encoding: .utf8)
    let lines = csv.split(separator: "\n")
    #expect(lines.first == "variant,metric,mean,se,n")
    #expect(lines.count == 1 + 2 * 3)
    #expect(lines.dropFirst().allSatisfy { $0.hasSuffix(",4") })
    for file in ["summary.md", "curves/error.csv", "figures/u_drift.svg", "MANIFEST.json"] {
      #expect(
        FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "missing \(file)")
    }
  }

  @Test func killingAWorkerMidSweep_losesNothing_andDuplicatesNothing() throws {
    let clean = try cleanReport()
    let dir = try makeScratchDirectory()
    let spec = try writeSpec(smallSweep, in: dir)
    let out = dir.appendingPathComponent("out")
    let coordinator = try Binary.Running(
      ["run", spec, "--workers", "2", "--out", "out", "--heartbeat", "0.2", "--worker-timeout", "1"],
      directory: dir)
    #expect(waitUntil { outcomeCount(out) >= 2 })
    let workers = childProcesses(of: coordinator.pid)
    #expect(workers.count == 2)
    if let victim = workers.first { kill(victim, SIGKILL) }
    let result = coordinator.wait()
    #expect(result.status == 0, "\(result.stderr)")
    let journal = try Journal(path: out.appendingPathComponent("journal.sqlite").path)
    #expect(try journal.finishedRuns().count == 8)
    #expect(reportBytes(out) == clean)
  }

  @Test func killingTheCoordinator_thenResuming_runsOnlyWhatIsLeft_andTablesAreBitIdentical() throws {
    let clean = try cleanReport()
    let dir = try makeScratchDirectory()
    let spec = try writeSpec(smallSweep, in: dir)
    let out = dir.appendingPathComponent("out")
    let coordinator = try Binary.Running(["run", spec, "--workers", "2", "--out", "out"], directory: dir)
    #expect(waitUntil { outcomeCount(out) >= 3 })
    kill(coordinator.pid, SIGKILL)
    _ = coordinator.wait()
    let before = outcomeCount(out)
    #expect(before >= 3 && before < 8)
    let resumed = try Binary.run(["resume", out.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("\(before) already done"))
    let journal = try Journal(path: out.appendingPathComponent("journal.sqlite").path)
    #expect(try journal.finishedRuns().count == 8)
    #expect(reportBytes(out) == clean)
  }

  @Test func journalThatRefusesAWrite_stopsTheCoordinatorWithItsReason_andKeepsWhatWasCommitted() throws {
    let dir = try makeScratchDirectory()
    let out = dir.appendingPathComponent("out")
    let slowSpec = try writeSpec(
      smallSweep.replacingOccurrences(of: "examples_per_task: 150", with: "examples_per_task: 3000"), in: dir)
    let coordinator = try Binary.Running(["run", slowSpec, "--workers", "1", "--out", "out"], directory: dir)
    #expect(waitUntil { outcomeCount(out) >= 2 })
    // Another connection makes every further outcome insert fail, as a full disk would. (Opening it
    // for writing also expires the leases in the file; the coordinator's next outcome fails anyway.)
    let path = out.appendingPathComponent("journal.sqlite").path
    try Journal(path: path).executeRawSQL(
      "CREATE TRIGGER refuse BEFORE INSERT ON outcomes BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    let ended = coordinator.wait()
    #expect(ended.status != 0 && ended.status != 130, "\(ended.stderr)")
    #expect(
      ended.stderr.contains("disk on fire") && ended.stderr.contains("metasweep resume"), "\(ended.stderr)")
    let journal = try Journal(path: path)
    try journal.executeRawSQL("DROP TRIGGER refuse")
    let kept = try journal.finishedRuns().count
    #expect(kept >= 2 && kept < 8)
    // Nothing committed is lost, and resuming finishes the sweep.
    let resumed = try Binary.run(["resume", out.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try journal.finishedRuns().count == 8)
  }

  @Test func interruptWithSIGINT_exits130_SIGTERMExits0_andRunningTheSameCommandAgainCompletes() throws {
    let dir = try makeScratchDirectory()
    let out = dir.appendingPathComponent("out")
    // Longer runs, so the signal lands mid-sweep.
    let slowSpec = try writeSpec(
      smallSweep.replacingOccurrences(of: "examples_per_task: 150", with: "examples_per_task: 3000"), in: dir)
    let first = try Binary.Running(["run", slowSpec, "--workers", "1", "--out", "out"], directory: dir)
    #expect(waitUntil { outcomeCount(out) >= 1 })
    kill(first.pid, SIGINT)
    let interrupted = first.wait()
    #expect(interrupted.status == 130, "\(interrupted.stderr)")
    #expect(interrupted.stderr.contains("metasweep resume"))
    let status = try Binary.run(["status", out.path], in: dir)
    #expect(status.status == 0, "\(status.stderr)")
    let grid = status.stdout.split(separator: "\n").filter {
      $0.hasPrefix("backprop") || $0.hasPrefix("crossprop-eta0")
    }
    #expect(grid.count == 2)
    let marks = grid.map { $0.split(separator: " ").last.map(String.init) ?? "" }.joined()
    #expect(marks.count == 8 && marks.contains("#") && marks.contains("."), "\(status.stdout)")
    // SIGTERM (a scheduler's time limit) stops the same way but counts as a clean stop.
    let before = outcomeCount(out)
    let second = try Binary.Running(["run", slowSpec, "--workers", "1", "--out", "out"], directory: dir)
    #expect(waitUntil { outcomeCount(out) > before })
    kill(second.pid, SIGTERM)
    let terminated = second.wait()
    #expect(terminated.status == 0 && terminated.stderr.contains("Stopped"), "\(terminated.stderr)")
    let again = try Binary.run(["run", slowSpec, "--workers", "2", "--out", "out"], in: dir)
    #expect(again.status == 0, "\(again.stderr)")
    #expect(outcomeCount(out) == 8)
  }

  @Test func report_rebuildsTheSameFilesFromTheJournalAlone() throws {
    let dir = try makeScratchDirectory()
    let spec = try writeSpec(smallSweep, in: dir)
    #expect(try Binary.run(["run", spec, "--workers", "2", "--out", "out"], in: dir).status == 0)
    let out = dir.appendingPathComponent("out")
    let first = reportBytes(out)
    for file in reportFiles { try FileManager.default.removeItem(at: out.appendingPathComponent(file)) }
    let result = try Binary.run(["report", out.path], in: dir)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(reportBytes(out) == first)
    #expect(first.values.allSatisfy { !$0.isEmpty })
  }
}

@Suite struct CommandLineErrorTests {
  @Test(arguments: [
    ("name: x\nexperiment: geoff\nseeds: 0..<2\nvariants:\n  a: {algorithm: backprop\n", "sweep.yaml:"),
    ("name: x\nexperiment: geoff\nseeds: 0..<2\nvariants:\n  a: {algorithm: sgd}\n", "sweep.yaml:5:"),
    ("name: x\nexperiment: geoff\nseeds: 0..<2\nvariants:\n  a: {step_size: -0.1}\n", "variants.a.step_size"),
    ("name: x\nexperiment: geof\nseeds: 0..<2\nvariants:\n  a: {}\n", "sweep.yaml:2:"),
    ("name: x\nexperiment: geoff\nseeds: 0..<2\nvariants:\n  a: {examples_per_task: 100}\n", "sweep.yaml:5:"),
    ("name: x\nexperiment: geoff\nseeds: 0..<2\nvariants:\n  a: {}\nworkers: 3\n", "sweep.yaml:6:"),
  ])
  func badSweepFile_exits2_withOneLineNamingTheFileAndPlace(spec: String, expected: String) throws {
    let dir = try makeScratchDirectory()
    try spec.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let result = try Binary.run(["run", "sweep.yaml", "--workers", "1"], in: dir)
    #expect(result.status == 2)
    let lines = result.stderr.split(separator: "\n")
    #expect(lines.count == 1, "\(result.stderr)")
    #expect(result.stderr.contains(expected), "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("results").path))
  }

  /// Sweep files that `run` and `coordinator` must refuse, each with the place it must name.
  static let refusedFiles = [
    (
      "name: x\nexperiment: geoff\nseeds: 0..<2\nvariants:\n  a: {algorithm: backprop}\n  b: {algorithm: backprop}\n",
      "sweep.yaml:6:3: variants.b: has the same parameters as variant 'a' (line 5)"
    ),
    (
      "name: x\nexperiment: geoff\nseeds: 0..<2\nvariants:\n  a: {}\n  b: {algorithm: backprop}\n",
      "sweep.yaml:6:3:"
    ),
    ("name: x\nexperiment: geoff\nseeds: 0..<2\nvariants:\n  a: {algorithm: sgd}\n", "sweep.yaml:5:"),
    ("name: x\nexperiment: geoff\nseeds: [0, 1\nvariants:\n  a: {}\n", "sweep.yaml:"),
  ]

  @Test(arguments: [["run", "--workers", "1"], ["coordinator", "--bind", "tcp://127.0.0.1:0"]])
  func refusedSweepFile_exits2_withItsPlace_andCreatesNoOutputFolder(command: [String]) throws {
    for (spec, expected) in Self.refusedFiles {
      let dir = try makeScratchDirectory()
      try spec.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
      let out = dir.appendingPathComponent("fresh/out")
      let result = try Binary.run(
        [command[0], "sweep.yaml", "--out", out.path] + command.dropFirst(), in: dir, timeout: 60)
      #expect(result.status == 2, "\(command[0]) \(spec): \(result.stderr)")
      #expect(result.stderr.contains(expected), "\(result.stderr)")
      #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("fresh").path), "\(spec)")
    }
  }

  @Test func sweepFileThatIsNotUTF8_orNotAFile_exits2_sayingWhich() throws {
    let dir = try makeScratchDirectory()
    var bytes = Array("name: x\nexperiment: geoff\nseeds: 0..<2\nfixed:\n  mom".utf8)
    bytes += [0xE9] + Array("ntum: 0.9\nvariants: {a: {}}\n".utf8)
    try Data(bytes).write(to: dir.appendingPathComponent("sweep.yaml"))
    try FileManager.default.createDirectory(
      at: dir.appendingPathComponent("sweeps"), withIntermediateDirectories: true)
    for (path, expected) in [
      (
        "sweep.yaml", "error: sweep.yaml:5:6: the file is not UTF-8 text (byte 0xE9 here); save it as UTF-8\n"
      ),
      ("sweeps", "error: sweeps: is a directory, not a sweep file; pass the sweep file inside it\n"),
      ("nope.yaml", "error: nope.yaml: no such file; check the path to the sweep file\n"),
    ] {
      let result = try Binary.run(["run", path, "--workers", "1", "--out", "out"], in: dir)
      #expect(result.status == 2, "\(result.stderr)")
      #expect(result.stderr == expected)
      #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
    }
  }

  @Test func sweepFileWithSeveralMistakes_exits2_withOneLinePerProblem_inFileOrder() throws {
    let dir = try makeScratchDirectory()
    let spec = """
      name: many
      experiment: geoff
      seeds: 0..<2
      variants:
        a: {algorithm: sgd}
        b: {eta: 7}
      workers: 3
      metrics: [error_task1, error_rate]
      """
    try spec.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let result = try Binary.run(["run", "sweep.yaml", "--workers", "1", "--out", "out"], in: dir)
    #expect(result.status == 2, "\(result.stderr)")
    let lines = result.stderr.split(separator: "\n").map(String.init)
    #expect(lines.count == 4, "\(result.stderr)")
    #expect(lines.allSatisfy { $0.hasPrefix("error: sweep.yaml:") }, "\(result.stderr)")
    #expect(
      lines.map { $0.split(separator: ":").prefix(4).joined(separator: ":") } == [
        "error: sweep.yaml:5:7", "error: sweep.yaml:6:7", "error: sweep.yaml:7:1", "error: sweep.yaml:8:24",
      ], "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
  }

  @Test func sweepOfTenMillionRuns_isRefusedAtOnce_withExit2_andNoFolder() throws {
    let dir = try makeScratchDirectory()
    let variants = (1...100).map { "  v\($0): {value: \($0)}" }.joined(separator: "\n")
    let spec = "name: huge\nexperiment: noop\nseeds: 0..<100000\nvariants:\n\(variants)\n"
    try spec.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let started = Date()
    // Before the limit, this spent minutes and gigabytes preparing 10 M runs: stop it after 60 s.
    let result = try Binary.run(
      ["run", "sweep.yaml", "--workers", "1", "--out", "out"], in: dir, timeout: 60)
    #expect(Date().timeIntervalSince(started) < 30)
    #expect(result.status == 2, "\(result.stderr)")
    #expect(
      result.stderr.hasPrefix(
        "error: sweep.yaml:3:1: seeds: 100 variants × 100000 seeds make 10000000 runs, more than the 1000000"),
      "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
  }

  @Test func runOne_givesBitIdenticalMetrics_inTwoProcesses() throws {
    let dir = try makeScratchDirectory()
    let arguments = [
      "run-one", "--experiment", "geoff", "--param", "algorithm=crossprop", "--param", "eta=0.5",
      "--param", "examples_per_task=200", "--param", "tail_examples=100", "--param", "hidden_units=30",
      "--seed", "7", "--series",
    ]
    let a = try Binary.run(arguments, in: dir)
    let b = try Binary.run(arguments, in: dir)
    #expect(a.status == 0, "\(a.stderr)")
    #expect(a.stdout == b.stdout)
    #expect(a.stdout.contains("error_task3"))
  }
}

@Suite struct FailureEndToEndTests {
  @Test func poisonRuns_failAfterTheRetryLimit_withTheirErrorJournaled_andTheSweepFinishes() throws {
    let dir = try makeScratchDirectory()
    let spec = """
      name: poison
      experiment: noop
      seeds: 0..<3
      variants:
        ok: {value: 1.5}
        poison: {fail: true}
      """
    try spec.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let result = try Binary.run(
      ["run", "sweep.yaml", "--workers", "2", "--retries", "2", "--out", "out"], in: dir)
    #expect(result.status == 3, "\(result.stderr)")
    let journal = try Journal(path: dir.appendingPathComponent("out/journal.sqlite").path, readOnly: true)
    let failed = try journal.failedRuns()
    #expect(failed.count == 3)
    #expect(failed.allSatisfy { $0.failures == 2 && $0.error.contains("failed on purpose") })
    #expect(try journal.finishedRuns().count == 3)
    let csv = try String(contentsOf: dir.appendingPathComponent("out/summary.csv"), encoding: .utf8)
    #expect(csv.contains("ok,value,1.5,0.0,3"), "\(csv)")
    let status = try Binary.run(["status", dir.appendingPathComponent("out").path], in: dir)
    #expect(status.stdout.contains("poison  xxx"), "\(status.stdout)")
  }
}

@Suite struct AuditEndToEndTests {
  @Test func audit_reRunsASampleOnOtherWorkers_andNamesBothWorkersWhenAnOutcomeDiffers() throws {
    let dir = try makeScratchDirectory()
    try smallSweep.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    #expect(try Binary.run(["run", "sweep.yaml", "--workers", "2", "--out", "out"], in: dir).status == 0)
    let out = dir.appendingPathComponent("out").path
    let clean = try Binary.run(["audit", out, "--sample", "8", "--workers", "2"], in: dir)
    #expect(clean.status == 0, "\(clean.stderr)")
    let same = clean.stdout.split(separator: "\n").filter { $0.hasPrefix("same") }
    #expect(same.count == 8, "\(clean.stdout)")
    // Every run was re-run by the other worker.
    #expect(same.allSatisfy { $0.contains("local-0 and local-1") || $0.contains("local-1 and local-0") })

    // Tamper with one journaled outcome: the audit must catch it.
    let journal = try Journal(path: out + "/journal.sqlite")
    try journal.executeRawSQL(
      "UPDATE outcomes SET metrics = (SELECT o.metrics FROM outcomes o JOIN runs r ON r.key = o.run_key WHERE r.ordinal = 1) "
        + "WHERE run_key = (SELECT key FROM runs WHERE ordinal = 0)")
    let caught = try Binary.run(["audit", out, "--sample", "8", "--workers", "2"], in: dir)
    #expect(caught.status == 1, "\(caught.stderr)")
    #expect(caught.stdout.contains("DIFFERS backprop seed 0"), "\(caught.stdout)")
    #expect(caught.stdout.contains("7 bit-identical, 1 differ"))
  }
}
