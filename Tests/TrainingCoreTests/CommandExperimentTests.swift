import Foundation
import SweepModel
import Testing

@testable import Experiments

/// The `command` experiment with real programs (sh and python3 scripts written by each test).
@Suite struct CommandExperimentTests {
  let folder: URL

  init() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "command-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  }

  /// Writes `text` as `name` in the test's folder.
  func write(_ name: String, _ text: String) throws {
    try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
  }

  /// The family's parameters for `command` in the test's folder, plus `extra`.
  func parameters(_ command: String, _ extra: Parameters = [:]) -> Parameters {
    var parameters: Parameters = ["command": .string(command), "directory": .string(folder.path)]
    parameters.merge(extra) { _, new in new }
    return ExperimentCatalogue.completed(parameters, descriptor: CommandExperiment.descriptor)
  }

  func run(_ command: String, _ extra: Parameters = [:], seed: UInt64 = 7) throws -> Outcome {
    try CommandExperiment.run(parameters: parameters(command, extra), seed: seed)
  }

  @Test func aProgram_getsItsParametersAndSeed_inAFreshFolder_andReportsMetricsAndCurves() throws {
    try write(
      "learn.py",
      """
      import json, os, sys
      p = json.load(sys.stdin)
      print("free text is kept in the log, not read")
      for i in range(4):
          print("@metasweep " + json.dumps({"point": "loss", "x": 100 + 50 * i, "value": p["lr"] / (i + 1)}))
      print("@metasweep " + json.dumps({"metric": "seed_seen", "value": p["seed"]}))
      print("@metasweep " + json.dumps({"metric": "env_seed", "value": int(os.environ["METASWEEP_SEED"])}))
      print("@metasweep " + json.dumps({"metric": "fresh", "value": float(os.getcwd() != os.environ["METASWEEP_PROGRAM_DIR"] and os.listdir(".") == [])}))
      print("@metasweep " + json.dumps({"metric": "steps", "value": p["steps"]}))
      print("@metasweep " + json.dumps({"metric": "bad", "value": None}))
      print("@metasweep " + json.dumps({"metric": "secrets", "value": sum(k.startswith("METASWEEP_") and k not in ("METASWEEP_SEED", "METASWEEP_PROGRAM_DIR", "METASWEEP_WORK_DIR") for k in os.environ)}))
      print("@metasweep " + json.dumps({"done": True}))
      """)
    // tools/test sets METASWEEP_BIN; `metasweep run` hands its workers CURVE keys the same way.
    let outcome = try run("python3 learn.py", ["lr": .double(0.5), "steps": .int(200)])
    #expect(outcome.metrics.map(\.name) == ["seed_seen", "env_seed", "fresh", "steps", "bad", "secrets"])
    #expect(outcome.metrics.prefix(4).map(\.value) == [7, 7, 1, 200])
    #expect(outcome.metrics[4].value.isNaN && outcome.metrics[5].value == 0)
    #expect(
      outcome.series == [Series(name: "loss", xStart: 100, xStep: 50, values: [0.5, 0.25, 0.5 / 3, 0.125])])
  }

  @Test func placeholders_becomeWords_neverShellText() throws {
    try write(
      "args.sh",
      """
      printf '@metasweep {"metric": "words", "value": %d}\\n' "$#"
      [ "$1" = "a b;echo x" ] && echo '@metasweep {"metric": "intact", "value": 1}'
      echo '@metasweep {"done": true}'
      """)
    let outcome = try run("sh args.sh {name} {seed}", ["name": .string("a b;echo x")], seed: 3)
    #expect(outcome.metrics == [Metric("words", 2), Metric("intact", 1)])
    #expect(
      try CommandConfig.split(#"python3 'a b' c\ d "e\"f" {x}"#) == ["python3", "a b", "c d", #"e"f"#, "{x}"])
    #expect(message { try CommandConfig.split("echo 'open") }.contains("unclosed quote"))
    #expect(try CommandConfig.substitute("--lr={lr} {{x}}", ["lr": "0.1"]) == "--lr=0.1 {x}")
    #expect(
      message { try CommandConfig.substitute("{nope}", ["lr": "0.1"]) }.contains("{nope} is not a parameter"))
  }

  @Test func aFailingProgram_failsTheAttempt_withTheEndOfItsStandardError() throws {
    try write("fail.sh", "echo 'reading data' >&2; echo 'Traceback: no such file data.csv' >&2; exit 3")
    let failure = message { try run("sh fail.sh") }
    #expect(failure.contains("exited with status 3"), "\(failure)")
    #expect(failure.contains("Traceback: no such file data.csv"), "\(failure)")

    try write("crash.sh", "kill -SEGV $$")
    #expect(message { try run("sh crash.sh") }.contains("was killed by signal 11"))

    try write("quiet.sh", "echo '@metasweep {\"metric\": \"x\", \"value\": 1}'")
    #expect(message { try run("sh quiet.sh") }.contains("ended without printing"))

    for garbage in [
      "@metasweep {not json", #"@metasweep {"metric": "x"}"#, #"@metasweep {"metric": "a b", "value": 1}"#,
    ] {
      try write("garbage.sh", "echo '\(garbage)'; echo '@metasweep {\"done\": true}'")
      let failure = message { try run("sh garbage.sh") }
      #expect(failure.contains("malformed result line"), "\(garbage): \(failure)")
    }
    try write(
      "uneven.sh",
      """
      for x in 0 10 30; do echo "@metasweep {\\"point\\": \\"c\\", \\"x\\": $x, \\"value\\": 1}"; done
      echo '@metasweep {"done": true}'
      """)
    #expect(message { try run("sh uneven.sh") }.contains("constant step"))
    #expect(message { try run("no-such-program-anywhere") } != "")
  }

  @Test func aHungProgram_isKilled_withEveryProcessItStarted() throws {
    let pids = folder.appendingPathComponent("pids").path
    try write("hang.sh", "sleep 1000 & echo $! > '\(pids)'; sh -c 'sleep 1000' & echo $! >> '\(pids)'; wait")
    let start = ContinuousClock.now
    let failure = message { try run("sh hang.sh", ["timeout": .double(0.5)]) }
    #expect(failure.contains("timed out after 0.5 s"), "\(failure)")
    #expect(ContinuousClock.now - start < .seconds(10))
    let children = try String(contentsOfFile: pids, encoding: .utf8).split(separator: "\n").compactMap {
      Int32($0)
    }
    #expect(children.count == 2)
    // Gone, or a zombie its new parent has not reaped yet (this machine's init may never).
    func isRunning(_ pid: Int32) -> Bool {
      guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { return false }
      return !["Z", "X"].contains(stat[stat.index(close, offsetBy: 2)])
    }
    for pid in children { #expect(!isRunning(pid), "process \(pid) outlived the time-out") }
    // A program that ignores SIGTERM is killed 2 s later.
    try write("stubborn.sh", "trap '' TERM; while :; do sleep 0.1; done")
    #expect(message { try run("sh stubborn.sh", ["timeout": .double(0.3)]) }.contains("timed out"))
  }

  @Test func aFloodOfOutput_isBounded_andTheResultsStillRead() throws {
    try write(
      "flood.py",
      """
      import sys
      line = "x" * 100 + "\\n"
      sys.stdout.write(line * 200000)            # 20 MB of chatter
      sys.stdout.write("y" * 5000000 + "\\n")     # one 5 MB line
      sys.stderr.write(line * 100000)
      print('@metasweep {"metric": "ok", "value": 1}')
      print('@metasweep {"done": true}')
      """)
    #expect(try run("python3 flood.py").metrics == [Metric("ok", 1)])
  }

  @Test func theCoordinatorPinsTheProgramsHash_andAWorkerWithAnotherCopyRefuses() throws {
    try write("p.sh", "echo '@metasweep {\"done\": true}'")
    let resolved = try CommandExperiment.resolve(parameters: parameters("sh p.sh"))
    guard case .string(let hash) = resolved["program_sha256"] else {
      Issue.record("no hash pinned")
      return
    }
    #expect(hash.count == 64)
    _ = try CommandExperiment.run(parameters: resolved, seed: 0)
    try write("p.sh", "echo changed; echo '@metasweep {\"done\": true}'")
    do {
      _ = try CommandExperiment.run(parameters: resolved, seed: 0)
      Issue.record("ran with another copy of the program")
    } catch let error as ExperimentError {
      #expect(error.isRefusal && error.message.contains("the sweep pinned"), "\(error)")
    }
    let again = try CommandExperiment.resolve(parameters: parameters("sh p.sh"))
    #expect(again["program_sha256"] != resolved["program_sha256"])
  }

  @Test func sweepsValidate_withTheProgramsOwnParameters_andNeedACommand() throws {
    try write("p.sh", "echo '@metasweep {\"done\": true}'")
    let sweep = folder.appendingPathComponent("sweep.yaml").path
    let runs = try ExperimentCatalogue.validate(
      SweepSpec.parse(
        yaml:
          "name: s\nexperiment: command\nseeds: 2\nfixed: {command: sh p.sh, lr: 0.1}\nvariants: {a: {}, b: {lr: 1}}\n",
        file: sweep))
    #expect(runs.count == 4)
    #expect(runs[0].parameters["directory"] == .string(folder.path))
    #expect(runs[0].parameters["lr"] == .double(0.1) && runs[2].parameters["lr"] == .int(1))
    #expect(runs[0].key != runs[2].key)
    #expect(
      message {
        try ExperimentCatalogue.validate(
          SweepSpec.parse(
            yaml: "name: s\nexperiment: command\nseeds: 1\nvariants: {a: {lr: 1}}\n", file: sweep))
      }.contains("set `command`"))
  }

  /// A program that counts to `steps`, printing a point per step and saving its count every
  /// `save` steps; told `stop_at_step`, it exits after the first checkpoint there or later (unless
  /// `cooperates` is false), and resumed, it reads the count back.
  static let counter = """
    import json, os, sys
    p = json.load(sys.stdin)
    start = 0
    if "resume_from" in p:
        start = int(open(p["resume_from"]).read())
        assert os.environ["METASWEEP_RESUME_FROM"] == p["resume_from"]
        print("resumed at", start, file=sys.stderr)
    for step in range(start + 1, p["steps"] + 1):
        print("@metasweep " + json.dumps({"point": "value", "x": step, "value": step * 0.5 + p["seed"]}))
        if step % p["save"] == 0:
            with open("count.txt", "w") as f:
                f.write(str(step))
            print("@metasweep " + json.dumps({"checkpoint": "count.txt", "step": step, "total": p["steps"]}))
            if p["cooperates"] and step >= p.get("stop_at_step", p["steps"] + 1):
                assert os.environ["METASWEEP_STOP_AT_STEP"] == str(p["stop_at_step"])
                sys.exit(0)
    print("@metasweep " + json.dumps({"metric": "last", "value": p["steps"]}))
    print('@metasweep {"done": true}')
    """

  /// Runs segments of at most `maxSteps` from the start to the end; returns where each ended and
  /// the outcome.
  func segments(_ parameters: Parameters, seed: UInt64, maxSteps: Int) throws -> (
    ends: [Int], outcome: Outcome
  ) {
    var checkpoint: [UInt8]?
    var ends: [Int] = []
    while ends.count < 100 {
      switch try CommandExperiment.runSegment(
        parameters: parameters, seed: seed, checkpoint: checkpoint, maxSteps: maxSteps)
      {
      case .checkpoint(let bytes, let done, let total):
        #expect(total == 10)
        ends.append(done)
        checkpoint = bytes
      case .finished(let outcome):
        return (ends, outcome)
      }
    }
    throw ExperimentError(message: "no end")
  }

  @Test func aProgramThatCheckpoints_runsInSegments_fromItsOwnFiles_exactlyAsAWholeRun() throws {
    try write("count.py", Self.counter)
    let parameters = parameters(
      "python3 count.py", ["steps": .int(10), "save": .int(2), "cooperates": .bool(true)])
    let whole = try CommandExperiment.run(parameters: parameters, seed: 3)
    #expect(whole.series.map(\.name) == ["value"] && whole.series[0].values.count == 10)
    #expect(whole.metrics == [Metric("last", 10)])
    // Told to stop 3 steps on, it stops at its next checkpoint: 4, 8, then the end.
    let log = AttemptLog()
    let chained = try AttemptLog.$current.withValue(log) { try segments(parameters, seed: 3, maxSteps: 3) }
    #expect(chained.ends == [4, 8])
    #expect(chained.outcome == whole)
    #expect(String(decoding: log.bytes, as: UTF8.self).contains("resumed at 8"))
    // A program that ignores `stop_at_step` runs whole in one segment.
    var stubborn = parameters
    stubborn["cooperates"] = .bool(false)
    let once = try segments(stubborn, seed: 3, maxSteps: 3)
    #expect(once.ends.isEmpty && once.outcome == whole)
  }

  @Test func anExitThatIsNotRightAfterADueCheckpoint_failsTheAttempt() throws {
    let checkpoint = #"echo '@metasweep {"checkpoint": "a", "step": 2}'"#
    let point = #"echo '@metasweep {"point": "p", "x": 1, "value": 1}'"#
    for (name, lines) in [("early", [checkpoint]), ("after", [checkpoint, point])] {
      try write("\(name).sh", (["touch a"] + lines).joined(separator: "\n"))
      let failure = message {
        try CommandExperiment.runSegment(
          parameters: parameters("sh \(name).sh"), seed: 0, checkpoint: nil, maxSteps: name == "early" ? 5 : 1
        )
      }
      #expect(failure.contains("ended without printing"), "\(name): \(failure)")
    }
  }

  @Test func badCheckpoints_failTheAttempt_sayingWhy() throws {
    let cases: [(name: String, lines: [String], problem: String)] = [
      ("missing", [#"{"checkpoint": "nowhere.bin", "step": 1}"#], "not a readable file"),
      ("folder", [#"{"checkpoint": "sub", "step": 1}"#], "not a readable file"),
      (
        "backwards", [#"{"checkpoint": "a", "step": 2}"#, #"{"checkpoint": "a", "step": 2}"#],
        "a checkpoint needs"
      ),
      ("fraction", [#"{"checkpoint": "a", "step": 1.5}"#], "a checkpoint needs"),
      ("total", [#"{"checkpoint": "a", "step": 3, "total": 2}"#], "a checkpoint needs"),
    ]
    for (name, lines, problem) in cases {
      let echoes = lines.map { "echo '@metasweep \($0)'" }
      try write("\(name).sh", (["touch a", "mkdir -p sub"] + echoes).joined(separator: "\n"))
      let failure = message {
        try CommandExperiment.runSegment(
          parameters: parameters("sh \(name).sh"), seed: 0, checkpoint: nil, maxSteps: 1)
      }
      #expect(failure.contains(problem), "\(name): \(failure)")
    }
    for name in ["resume_from", "stop_at_step"] {
      #expect(
        message {
          try CommandExperiment.validate(parameters: parameters("sh missing.sh", [name: .string("x")]))
        }.contains("`\(name)` is what MetaSweep passes"))
    }
    #expect(
      message {
        try CommandExperiment.runSegment(
          parameters: parameters("sh missing.sh"), seed: 0, checkpoint: [1, 2, 3], maxSteps: 1)
      }.contains("checkpoint cannot be read"))
  }

  @Test func aShippedProgram_isItsFilesAndFolders_unpackedWhereverTheWorkerIs() throws {
    try FileManager.default.createDirectory(
      at: folder.appendingPathComponent("lib/__pycache__"), withIntermediateDirectories: true)
    try write(
      "run.sh",
      ". \"$(dirname \"$0\")/lib/b.sh\"; read -r p; echo \"@metasweep {\\\"metric\\\": \\\"v\\\", \\\"value\\\": $(v)}\"; echo '@metasweep {\"done\": true}'"
    )
    try write("lib/b.sh", "v() { echo 7; }")
    try write("lib/a.txt", "data")
    try write("lib/.hidden", "left out")
    try write("lib/__pycache__/b.pyc", "left out")
    let shipped = try CommandExperiment.resolve(
      parameters: parameters("sh run.sh", ["files": .string("run.sh, lib/"), "ship": .bool(true)]))
    let config = try CommandConfig(parameters: shipped)
    #expect(config.fileList(parameters: shipped) == ["run.sh", "lib/a.txt", "lib/b.sh"])
    let bundles = try CommandExperiment.shippedFiles(parameters: shipped)
    let hash = try #require(CommandExperiment.shippedHashes(parameters: shipped).first)
    #expect(bundles.count == 1 && SHA256.hexString(SHA256.digest(bundles[0])) == hash)
    #expect(try ProgramBundle.decode(bundles[0]).map(\.name) == ["run.sh", "lib/a.txt", "lib/b.sh"])

    // The worker runs its unpacked copy, whatever is (or is not) at `directory`.
    try FileManager.default.removeItem(at: folder.appendingPathComponent("lib"))
    let outcome = try CommandExperiment.run(
      parameters: shipped, seed: 0, inputs: ArtifactInputs(bytes: [hash: bundles[0]]))
    #expect(outcome.metrics == [Metric("v", 7)])
    #expect(
      message { try CommandExperiment.run(parameters: shipped, seed: 0, inputs: ArtifactInputs()) }.contains(
        "was not fetched"))
    // A file changed since the sweep pinned the hash stops the sweep's start.
    try FileManager.default.createDirectory(
      at: folder.appendingPathComponent("lib"), withIntermediateDirectories: true)
    try write("lib/b.sh", "v() { echo 8; }")
    #expect(message { try CommandExperiment.shippedFiles(parameters: shipped) }.contains("changed while"))
    // Only relative names without '..' travel, and only with a list of files.
    for bad in ["../x", "/etc/passwd", "a//b", "./a"] {
      #expect(
        message { try ProgramBundle.decode(ProgramBundle.encode([(bad, [1])])) }.contains("relative paths"),
        "\(bad)")
    }
    #expect(
      message { try ProgramBundle.decode(ProgramBundle.encode([("a", [1]), ("a", [2])])) }.contains(
        "distinct"))
    #expect(message { try ProgramBundle.decode(Array("a\n9\nxy".utf8)) }.contains("damaged"))
    #expect(
      message {
        try CommandExperiment.validate(
          parameters: parameters("sh run.sh", ["files": .string("/bin/sh"), "ship": .bool(true)]))
      }.contains("a shipped file must be a path inside"))
  }

  @Test func announcedFiles_becomeTheRunsArtifacts_readWhenTheProgramEnds() throws {
    try write(
      "save.sh",
      """
      read -r p
      echo '@metasweep {"artifact": "net.weights", "path": "out/w.bin"}'
      mkdir out; printf 'weights %s' "$METASWEEP_SEED" > out/w.bin
      echo '@metasweep {"done": true}'
      """)
    let outcome = try run("sh save.sh", seed: 5)
    #expect(outcome.artifacts == [Artifact(name: "net.weights", bytes: Array("weights 5".utf8))])
    try write(
      "lost.sh",
      "echo '@metasweep {\"artifact\": \"net\", \"path\": \"nowhere\"}'; echo '@metasweep {\"done\": true}'")
    #expect(message { try run("sh lost.sh") }.contains("artifact 'net': "))
    for bad in [#"{"artifact": "Net", "path": "a"}"#, #"{"artifact": "a", "path": ""}"#] {
      try write("bad.sh", "touch a; echo '@metasweep \(bad)'; echo '@metasweep {\"done\": true}'")
      #expect(message { try run("sh bad.sh") }.contains("an artifact needs"), "\(bad)")
    }
    try write(
      "twice.sh",
      "touch a; for i in 1 2; do echo '@metasweep {\"artifact\": \"a\", \"path\": \"a\"}'; done; echo '@metasweep {\"done\": true}'"
    )
    #expect(message { try run("sh twice.sh") }.contains("an artifact needs"))
  }
}
