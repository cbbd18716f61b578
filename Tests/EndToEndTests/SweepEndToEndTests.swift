import Foundation
import GRDB
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
    #expect(lines.first == "variant,metric,mean,se,n,not_finite")
    #expect(lines.count == 1 + 2 * 3)
    #expect(lines.dropFirst().allSatisfy { $0.hasSuffix(",4,0") })
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

  /// Issue 11.4: eight garbage bytes in journal.sqlite gave silently different curves, exit 0.
  @Test func damagedOutcome_isNamedByReportAndVerify_neverTabulated_andResumeRedoesIt() throws {
    let clean = try cleanReport()
    let dir = try makeScratchDirectory()
    let spec = try writeSpec(smallSweep, in: dir)
    let out = dir.appendingPathComponent("out")
    #expect(try Binary.run(["run", spec, "--workers", "2", "--out", "out"], in: dir).status == 0)
    let path = out.appendingPathComponent("journal.sqlite").path
    let victim = try #require(try Journal(path: path, readOnly: true).finishedRuns().last)
    // Eight bytes in the middle of its error series, where SQLite keeps the blob.
    let blob = [UInt8](OutcomeBlob.encode(series: victim.outcome.series)).prefix(4000)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let needle = Array(blob.suffix(64))
    let start = try #require(
      (0...(bytes.count - needle.count)).first { bytes[$0..<$0 + needle.count].elementsEqual(needle) })
    for offset in 0..<8 {
      bytes[start + 20 + offset] = [0xDE, 0xAD, 0xBE, 0xEF, 0x13, 0x37, 0x42, 0x99][offset]
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path))

    let report = try Binary.run(["report", out.path], in: dir)
    #expect(report.status == 3, "\(report.stderr)")
    #expect(
      report.stdout.contains("outcome of run \(victim.run.key.short)")
        && report.stdout.contains("checksum mismatch"))
    #expect(reportBytes(out) != clean)  // n = 3 for its variant: honest, and said so
    let verify = try Binary.run(["verify", out.path], in: dir)
    #expect(verify.status == 3 && verify.stdout.contains(victim.run.key.short), "\(verify.stdout)")

    let resumed = try Binary.run(["resume", out.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(
      resumed.stderr.contains("Damaged in the journal, so run again") && resumed.stderr.contains("1 to run"))
    #expect(reportBytes(out) == clean)
    #expect(try Binary.run(["verify", out.path], in: dir).status == 0)
  }

  /// Issue 11.12: a bad option exited 64, a damaged journal printed SQL, a read-only folder
  /// printed Foundation's error domain and code.
  @Test func errors_reachTheUserAsOneReadableLine_withExit2ForBadInput() throws {
    let dir = try makeScratchDirectory()
    let spec = try writeSpec(smallSweep, in: dir)
    let badOption = try Binary.run(["run", spec, "--workers", "0"], in: dir)
    #expect(
      badOption.status == 2 && badOption.stderr.contains("--workers must be at least 1"),
      "\(badOption.stderr)")
    for (option, value, text) in [
      ("--round-exchange", "gossip", "--round-exchange must be peers or coordinator, got 'gossip'"),
      ("--epoch-seconds", "1e30", "--epoch-seconds must be in (0, 3600], got 1e+30"),
      ("--epoch-seconds", "0", "--epoch-seconds must be in (0, 3600], got 0.0"),
    ] {
      let refused = try Binary.run(["run", spec, option, value], in: dir)
      #expect(refused.status == 2 && refused.stderr.contains(text), "\(option) \(value): \(refused.stderr)")
    }

    #expect(try Binary.run(["run", spec, "--workers", "2", "--out", "out"], in: dir).status == 0)
    let path = dir.appendingPathComponent("out/journal.sqlite").path
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var state: UInt64 = 42
    for index in (bytes.count / 3)..<min(bytes.count, bytes.count / 3 + 200_000) {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    for command in [["report", "out"], ["resume", "out", "--workers", "1"], ["status", "out"]] {
      let result = try Binary.run(command, in: dir)
      #expect(result.status == 2 || result.status == 3, "\(command): \(result.status) \(result.stderr)")
      let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
      #expect(
        !result.stderr.contains("SELECT") && !result.stderr.contains("Error Domain"), "\(result.stderr)")
      #expect(errors.count <= 1 && (result.status == 3 || errors.count == 1), "\(command): \(result.stderr)")
    }
  }

  @Test(.enabled(if: getuid() == 0, "mounting a read-only file system needs root"))
  func readOnlyResultsFolder_isOneReadableLine() throws {
    let dir = try makeScratchDirectory()
    let spec = try writeSpec(smallSweep, in: dir)
    let mount = dir.appendingPathComponent("ro").path
    try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
    let mounted = Process()
    mounted.executableURL = URL(fileURLWithPath: "/bin/mount")
    mounted.arguments = ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", mount]
    try mounted.run()
    mounted.waitUntilExit()
    try #require(mounted.terminationStatus == 0)
    defer {
      let unmount = Process()
      unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
      unmount.arguments = [mount]
      try? unmount.run()
      unmount.waitUntilExit()
    }
    let result = try Binary.run(["run", spec, "--out", mount + "/out"], in: dir)
    #expect(result.status == 2, "\(result.stderr)")
    #expect(
      result.stderr.contains("read only") && !result.stderr.contains("Error Domain"), "\(result.stderr)")
    #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
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

    // A wrong outcome with a valid checksum (a worker that computed something else): run 0 gets
    // run 1's metrics, checksummed as the journal does (which also pins that format).
    let queue = try DatabaseQueue(path: out + "/journal.sqlite")
    try queue.write { db in
      let victim = try #require(
        try Row.fetchOne(
          db,
          sql: """
            SELECT o.run_key, o.attempt_id, o.series, (SELECT o1.metrics FROM outcomes o1 JOIN runs r1
              ON r1.key = o1.run_key WHERE r1.ordinal = 1) AS metrics
            FROM outcomes o JOIN runs r ON r.key = o.run_key WHERE r.ordinal = 0
            """))
      let key: String = victim["run_key"]
      let attempt: Int64 = victim["attempt_id"]
      let metrics: Data = victim["metrics"]
      let series: Data = victim["series"]
      var input = Array("metasweep-outcome-v1\0".utf8) + Array(key.utf8)
      input += withUnsafeBytes(of: UInt64(bitPattern: attempt).littleEndian) { Array($0) }
      input += withUnsafeBytes(of: UInt64(metrics.count).littleEndian) { Array($0) } + metrics + series
      try db.execute(
        sql: "UPDATE outcomes SET metrics = ?, checksum = ? WHERE run_key = ?",
        arguments: [metrics, Data(SHA256.digest(input)), key])
    }
    let caught = try Binary.run(["audit", out, "--sample", "8", "--workers", "2"], in: dir)
    #expect(caught.status == 1, "\(caught.stderr)")
    #expect(caught.stdout.contains("DIFFERS backprop seed 0"), "\(caught.stdout)")
    #expect(!caught.stdout.contains("machine types"), "\(caught.stdout)")
    #expect(caught.stdout.contains("7 bit-identical, 1 differ"))
    #if arch(x86_64)
      // Audited by workers with another OpenBLAS kernel (another machine type), the difference is
      // still reported, and said to be one the machines may explain.
      let elsewhere = try Binary.run(
        ["audit", out, "--sample", "8", "--workers", "2"], in: dir,
        environment: ["OPENBLAS_CORETYPE": "Prescott"])
      #expect(elsewhere.status == 1, "\(elsewhere.stderr)")
      let line = elsewhere.stdout.split(separator: "\n").first { $0.hasPrefix("DIFFERS backprop seed 0") }
      #expect(line?.contains("but on other machine types (") == true, "\(elsewhere.stdout)")
      #expect(line?.contains("OpenBLAS Prescott)") == true, "\(elsewhere.stdout)")
    #endif

    // The same change without the checksum is damage, named before anything runs.
    try queue.write { db in
      try db.execute(
        sql:
          "UPDATE outcomes SET checksum = zeroblob(32) WHERE run_key = (SELECT key FROM runs WHERE ordinal = 0)"
      )
    }
    let damaged = try Binary.run(["audit", out, "--sample", "8", "--workers", "2"], in: dir)
    #expect(damaged.status == 1 && damaged.stdout.contains("DAMAGED outcome of run"), "\(damaged.stdout)")
  }
}
