import Foundation
import Journal
import Testing

/// The `command` experiment through the real binary: the repository's Python example, edits of a
/// program, and programs that fail in every way.
@Suite(.serialized) struct CommandEndToEndTests {
  /// The repository's examples/python folder.
  static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples/python")
  /// A smaller run of the example: 4 step sizes x 3 seeds, 200 steps.
  static let small = ["--set", "seeds=0..<3", "--set", "fixed.steps=200"]

  static func done(_ out: URL) -> Int {
    let path = out.appendingPathComponent("journal.sqlite").path
    guard FileManager.default.fileExists(atPath: path), let journal = try? Journal(path: path, readOnly: true)
    else { return 0 }
    return (try? journal.counts().done) ?? 0
  }

  /// summary.csv and every curve CSV of a results folder.
  static func tables(_ out: URL) -> [String: Data] {
    var files = ["summary.csv"]
    let curves =
      (try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("curves").path)) ?? []
    files += curves.sorted().map { "curves/" + $0 }
    var tables: [String: Data] = [:]
    for file in files {
      tables[file] = FileManager.default.contents(atPath: out.appendingPathComponent(file).path)
    }
    return tables
  }

  @Test func theExample_runsEndToEnd_andKill9OfAWorkerOrTheCoordinator_changesNothingInItsTables() throws {
    let spec = Self.example.appendingPathComponent("sweep.yaml").path
    let dir = try makeScratchDirectory()
    let clean = try Binary.run(["run", spec, "--workers", "2", "--out", "clean"] + Self.small, in: dir)
    #expect(clean.status == 0, "\(clean.stderr)")
    let cleanOut = dir.appendingPathComponent("clean")
    let cleanTables = Self.tables(cleanOut)
    #expect(cleanTables.count == 5, "\(cleanTables.keys.sorted())")  // summary, 2 curves, 2 long curves
    let summary = String(decoding: cleanTables["summary.csv"] ?? Data(), as: UTF8.self)
    #expect(summary.contains("lr=0.01,test_mse,") && summary.contains(",3,0\n"), "\(summary)")

    // kill -9 of a worker mid-sweep: its run goes to the other worker.
    let workerKilled = dir.appendingPathComponent("worker")
    let sweep = try Binary.Running(
      ["run", spec, "--workers", "2", "--out", "worker", "--heartbeat", "0.2", "--worker-timeout", "1"]
        + Self.small,
      directory: dir)
    #expect(waitUntil { Self.done(workerKilled) >= 2 })
    let workers = childProcesses(of: sweep.pid)
    #expect(workers.count == 2)
    if let victim = workers.first { kill(victim, SIGKILL) }
    let finished = sweep.wait()
    #expect(finished.status == 0, "\(finished.stderr)")
    #expect(Self.tables(workerKilled) == cleanTables)

    // kill -9 of the coordinator, then resume.
    let coordinatorKilled = dir.appendingPathComponent("coordinator")
    let again = try Binary.Running(
      ["run", spec, "--workers", "2", "--out", "coordinator"] + Self.small, directory: dir)
    #expect(waitUntil { Self.done(coordinatorKilled) >= 3 })
    kill(again.pid, SIGKILL)
    _ = again.wait()
    let before = Self.done(coordinatorKilled)
    #expect(before < 12)
    let resumed = try Binary.run(["resume", coordinatorKilled.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0 && resumed.stderr.contains("\(before) already done"), "\(resumed.stderr)")
    #expect(Self.tables(coordinatorKilled) == cleanTables)
  }

  @Test func theChainedExample_inSegments_withAWorkerAndTheCoordinatorKilled_matchesTheWholeRun() throws {
    let dir = try makeScratchDirectory()
    let example = Self.example.deletingLastPathComponent().appendingPathComponent("chained")
    for file in ["train.py", "sweep.yaml"] {
      try FileManager.default.copyItem(
        at: example.appendingPathComponent(file), to: dir.appendingPathComponent(file))
    }
    let chained = try String(contentsOf: dir.appendingPathComponent("sweep.yaml"), encoding: .utf8)
    try chained.replacingOccurrences(of: "segment_steps: 300\n", with: "").write(
      to: dir.appendingPathComponent("whole.yaml"), atomically: true, encoding: .utf8)
    let small = ["--set", "seeds=0..<2"]
    let whole = try Binary.run(["run", "whole.yaml", "--workers", "2", "--out", "whole"] + small, in: dir)
    #expect(whole.status == 0, "\(whole.stderr)")
    let wholeTables = Self.tables(dir.appendingPathComponent("whole"))
    #expect(wholeTables.count == 5, "\(wholeTables.keys.sorted())")

    // Segments of 300 steps (4 per run), a worker killed once a checkpoint is journaled, then the
    // coordinator killed once a run is done, then resumed.
    let out = dir.appendingPathComponent("chained")
    let journalPath = out.appendingPathComponent("journal.sqlite").path
    func checkpoints() -> Int {
      guard FileManager.default.fileExists(atPath: journalPath),
        let journal = try? Journal(path: journalPath, readOnly: true)
      else { return 0 }
      return (try? journal.checkpointCount()) ?? 0
    }
    let sweep = try Binary.Running(
      [
        "run", "sweep.yaml", "--workers", "2", "--out", "chained", "--heartbeat", "0.2", "--worker-timeout",
        "1",
      ]
        + small, directory: dir)
    #expect(waitUntil { checkpoints() >= 1 })
    let workers = childProcesses(of: sweep.pid)
    #expect(workers.count == 2)
    if let victim = workers.first { kill(victim, SIGKILL) }
    #expect(waitUntil { Self.done(out) >= 1 })
    kill(sweep.pid, SIGKILL)
    _ = sweep.wait()
    #expect(Self.done(out) < 4)
    let resumed = try Binary.run(["resume", out.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(Self.tables(out) == wholeTables)
    // Every run went through its checkpoints: segments ended at steps 300, 600 and 900.
    let journal = try Journal(path: journalPath, readOnly: true)
    for run in try journal.runs(variant: "lr=0.01", seed: 0) {
      let ends = try journal.attemptHistory(of: run.key).compactMap(\.message).filter {
        $0.hasPrefix("segment ended")
      }
      #expect(
        Set(ends).isSuperset(of: [
          "segment ended: checkpoint at step 300", "segment ended: checkpoint at step 900",
        ]), "\(ends)")
    }
  }

  @Test func aShippedProgram_runsOnWorkersThatHaveNoCopyOfIt() throws {
    let dir = try makeScratchDirectory()
    let program = dir.appendingPathComponent("program")
    try FileManager.default.createDirectory(
      at: program.appendingPathComponent("lib/__pycache__"), withIntermediateDirectories: true)
    let files = [
      "learn.sh": """
      . "$(dirname "$0")/lib/helper.sh"
      read -r p
      echo "@metasweep {\\"metric\\": \\"answer\\", \\"value\\": $(answer)}"
      echo "model of seed $METASWEEP_SEED" > model.txt
      echo '@metasweep {"artifact": "model", "path": "model.txt"}'
      echo '@metasweep {"done": true}'
      """,
      "lib/helper.sh": "answer() { echo 42; }",
      "lib/__pycache__/x.pyc": "left out of the program",
      "sweep.yaml": """
      name: shipped
      experiment: command
      seeds: 0..<4
      fixed: {command: sh learn.sh, files: "learn.sh, lib", ship: true}
      variants: {v: {}}
      """,
    ]
    for (name, text) in files {
      try text.write(to: program.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      ["coordinator", "program/sweep.yaml", "--bind", endpoint, "--out", "out"], directory: dir)
    // Once the coordinator has stored the program, the workers' host has no copy of it.
    let store = dir.appendingPathComponent("out/artifacts")
    #expect(
      waitUntil {
        (FileManager.default.subpaths(atPath: store.path) ?? []).contains {
          $0.split(separator: "/").count == 2
        }
      })
    try FileManager.default.moveItem(at: program, to: dir.appendingPathComponent("elsewhere"))
    let workers = try (0..<2).map { index in
      try Binary.Running(
        ["worker", "--connect", endpoint, "--slots", "1", "--name", "w\(index)"], directory: dir)
    }
    let result = coordinator.wait()
    #expect(result.status == 0, "\(result.stderr)")
    for worker in workers { _ = worker.wait(timeout: 30) }
    let summary = try String(contentsOf: dir.appendingPathComponent("out/summary.csv"), encoding: .utf8)
    #expect(summary.contains("v,answer,42.0,0.0,4,0"), "\(summary)")
    // The store holds the shipped program and each run's model, which the journal names.
    let stored = (FileManager.default.subpaths(atPath: store.path) ?? []).filter {
      $0.split(separator: "/").count == 2
    }
    #expect(stored.count == 5, "\(stored)")
    let journal = try Journal(path: dir.appendingPathComponent("out/journal.sqlite").path, readOnly: true)
    #expect(
      try journal.outcomeArtifacts().done.values.map { $0.keys.sorted() }
        == Array(repeating: ["model"], count: 4))
  }

  @Test func editingTheProgram_changesItsRunKeys_andRevertingTheEdit_findsTheOldOutcomes() throws {
    let dir = try makeScratchDirectory()
    for file in ["sgd.py", "sweep.yaml"] {
      try FileManager.default.copyItem(
        at: Self.example.appendingPathComponent(file), to: dir.appendingPathComponent(file))
    }
    let program = dir.appendingPathComponent("sgd.py")
    let original = try Data(contentsOf: program)
    func run(_ extra: [String] = []) throws -> String {
      let result = try Binary.run(
        ["run", "sweep.yaml", "--workers", "2", "--out", "out"] + Self.small + extra, in: dir)
      #expect(result.status == 0, "\(result.stderr)")
      return result.stderr
    }
    func kept() throws -> [[String: Any]] {
      let data = try Data(contentsOf: dir.appendingPathComponent("out/MANIFEST.json"))
      let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
      return manifest["kept_results"] as? [[String: Any]] ?? []
    }
    #expect(try run().contains("12 runs, 0 already done, 12 to run"))
    // An edit: the runs it invalidates are counted, and run again.
    try (original + Data("\n# an edit\n".utf8)).write(to: program)
    let edited = try run()
    #expect(edited.contains("12 runs done with the previous version run again"), "\(edited)")
    #expect(edited.contains("12 runs, 0 already done, 12 to run"), "\(edited)")
    let editedTables = Self.tables(dir.appendingPathComponent("out"))
    // A second edit, with --keep-results: the first edit's outcomes stay, listed in MANIFEST.json,
    // and a resume keeps them too.
    try (original + Data("\n# another edit\n".utf8)).write(to: program)
    let keeping = try run(["--keep-results"])
    #expect(keeping.contains("Keeping 12 runs done with an earlier version"), "\(keeping)")
    #expect(keeping.contains("12 runs, 12 already done, 0 to run"), "\(keeping)")
    #expect(Self.tables(dir.appendingPathComponent("out")) == editedTables)
    let listed = try kept()
    #expect(listed.count == 12 && Set(listed.compactMap { $0["instead_of"] as? String }).count == 12)
    #expect(Set(listed.compactMap { $0["program_sha256"] as? String }).count == 1)
    let resumed = try Binary.run(["resume", "out", "--workers", "2"], in: dir)
    #expect(resumed.stderr.contains("12 runs, 12 already done, 0 to run"), "\(resumed.stderr)")
    #expect(try kept().count == 12)
    // Reverting finds the original outcomes; nothing is kept any more.
    try original.write(to: program)
    #expect(try run().contains("12 runs, 12 already done, 0 to run"))
    #expect(try kept().isEmpty)
  }

  @Test func programsThatCrashHangOrPrintGarbage_failTheirRunsWithTheirErrorText_andTheSweepGoesOn() throws {
    let dir = try makeScratchDirectory()
    let scripts = [
      "good.sh":
        "read -r p; echo '@metasweep {\"metric\": \"m\", \"value\": 1}'; echo '@metasweep {\"done\": true}'",
      "crash.sh": "echo 'loading weights' >&2; echo 'Segmentation fault in layer 3' >&2; kill -SEGV $$",
      "hang.sh": "sleep 1000",
      "garbage.sh": "echo '@metasweep {\"metric\": oops'; echo '@metasweep {\"done\": true}'",
      "flood.sh": "yes 'chatter chatter chatter' | head -n 400000; echo '@metasweep {\"done\": true}'",
    ]
    for (name, text) in scripts {
      try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    try """
    name: failing
    experiment: command
    seeds: 0..<2
    fixed: {timeout: 2}
    variants:
      good: {command: sh good.sh}
      crash: {command: sh crash.sh}
      hang: {command: sh hang.sh}
      garbage: {command: sh garbage.sh}
      flood: {command: sh flood.sh, timeout: 120}
    """.write(to: dir.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
    let result = try Binary.run(
      ["run", "s.yaml", "--workers", "2", "--out", "out", "--retries", "1"], in: dir)
    #expect(result.status == 3, "\(result.stderr)")  // some runs failed
    let out = dir.appendingPathComponent("out")
    let counts = try Journal(path: out.appendingPathComponent("journal.sqlite").path, readOnly: true).counts()
    #expect(counts.done == 4 && counts.failed == 6, "\(counts)")  // good and flood finish
    let status = try Binary.run(["status", out.path], in: dir).stdout
    #expect(
      status.contains("killed by signal 11") && status.contains("Segmentation fault in layer 3"), "\(status)")
    #expect(status.contains("timed out after 2.0 s"), "\(status)")
    #expect(status.contains("malformed result line"), "\(status)")

    // Each attempt's output, by key prefix or by variant and seed: the crash's standard error whole,
    // the flood's first and last lines with what was left out between, a good run's nothing.
    let journal = try Journal(path: out.appendingPathComponent("journal.sqlite").path, readOnly: true)
    let crash = try #require(try journal.runs(variant: "crash", seed: 1).first)
    let byKey = try Binary.run(["logs", out.path, String(crash.key.hex.prefix(8))], in: dir)
    #expect(byKey.status == 0, "\(byKey.stderr)")
    #expect(
      byKey.stdout.contains("run \(crash.key.short) (variant crash, seed 1): 1 attempt")
        && byKey.stdout.contains(": failed, ") && byKey.stdout.contains("killed by signal 11")
        && byKey.stdout.contains("--- standard error ---\nloading weights\nSegmentation fault in layer 3\n"),
      "\(byKey.stdout)")
    #expect(status.contains("metasweep logs \(out.path) "), "\(status)")
    let flood = try Binary.run(["logs", out.path, "flood", "0"], in: dir)
    #expect(flood.status == 0 && flood.stdout.contains(": succeeded, "), "\(flood.stderr)")
    let chatter = flood.stdout.components(separatedBy: "chatter chatter chatter\n").count - 1
    #expect(chatter > 1000 && chatter < 6000, "\(chatter) lines kept")
    #expect(flood.stdout.contains("bytes left out ...]"), "\(flood.stdout.prefix(300))")
    let good = try Binary.run(["logs", out.path, "good", "0"], in: dir)
    #expect(good.stdout.contains("(no output kept)"), "\(good.stdout)")
    for wrong in [["good", "7"], ["zz"], ["0000000000"]] {
      let missing = try Binary.run(["logs", out.path] + wrong, in: dir)
      #expect(missing.status == 2 && missing.stderr.contains("error: "), "\(wrong): \(missing.stderr)")
    }
    let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
    #expect(
      summary.contains("| good | 1.0 ± 0 (n=2)") || summary.contains("| good | 1 ± 0 (n=2)"), "\(summary)")
  }
}
