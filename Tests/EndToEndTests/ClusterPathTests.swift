import Foundation
import Journal
import SweepModel
import SweepProtocol
import Testing
import ZeroMQ

private let sweep = """
  name: cluster
  experiment: geoff
  seeds: 0..<3
  fixed: {examples_per_task: 200, hidden_units: 30, target_features: 80, bin_size: 50, tail_examples: 50}
  variants:
    backprop: {algorithm: backprop}
    adam: {algorithm: adam}
  """

@Suite(.serialized) struct ClusterPathTests {
  @Test func coordinatorAndSeparateWorkers_completeTheSweep_after100000GarbageFrames() throws {
    let dir = try makeScratchDirectory()
    try sweep.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      ["coordinator", "sweep.yaml", "--bind", endpoint, "--out", "out"], directory: dir)

    // Garbage first, from a peer that never says hello: random frames, truncated and mutated
    // headers, oversized frame counts. None may crash the coordinator or stall the sweep.
    let context = try ZMQContext()
    let attacker = try Socket(.dealer, context: context)
    try attacker.set(.sendHighWaterMark(0))  // queue every frame until the connection is up
    try attacker.connect(endpoint)
    let valid = WireCodec.encode(.heartbeat)[0]
    var state: UInt64 = 42
    func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    for i in 0..<100_000 {
      var frames: [[UInt8]]
      switch i % 4 {
      case 0: frames = [(0..<Int(next() % 64)).map { _ in UInt8(truncatingIfNeeded: next()) }]
      case 1: frames = [Array(valid.prefix(Int(next() % UInt64(valid.count))))]
      case 2:
        var mutated = valid + [UInt8(truncatingIfNeeded: next())]
        mutated[Int(next() % UInt64(mutated.count))] ^= UInt8(truncatingIfNeeded: next() | 1)
        frames = [mutated]
      default: frames = Array(repeating: valid, count: 1 + Int(next() % 40))
      }
      try attacker.send(frames: frames)
    }

    let workers = try (0..<2).map { index in
      try Binary.Running(
        ["worker", "--connect", endpoint, "--slots", "1", "--name", "w\(index)"], directory: dir)
    }
    let result = coordinator.wait()
    #expect(result.status == 0, "\(result.stderr)")
    // Every frame set but the over-long ones (dropped by the socket itself) is counted as malformed.
    let dropped = result.stderr.split(separator: "\n").first {
      $0.contains("Dropped") && $0.contains("malformed messages")
    }
    let count = dropped.flatMap { line in line.split(separator: " ").compactMap { Int($0) }.first } ?? 0
    #expect(count >= 50_000, "\(result.stderr.suffix(2000))")
    for worker in workers {
      let ended = worker.wait(timeout: 30)
      #expect(ended.status == 0, "\(ended.stderr)")
    }
    let journal = try Journal(path: dir.appendingPathComponent("out/journal.sqlite").path, readOnly: true)
    #expect(try journal.finishedRuns().count == 6)
  }

  @Test func killedCoordinator_restartedOnTheSameJournal_getsItsWorkersBack_andTheirFinishedResults() throws {
    let dir = try makeScratchDirectory()
    let slow = sweep.replacingOccurrences(of: "examples_per_task: 200", with: "examples_per_task: 2000")
    try slow.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let serve = [
      "coordinator", "sweep.yaml", "--bind", endpoint, "--out", "out", "--heartbeat", "0.2",
      "--worker-timeout", "1",
    ]
    let first = try Binary.Running(serve, directory: dir)
    let workers = try (0..<2).map { index in
      try Binary.Running(
        ["worker", "--connect", endpoint, "--slots", "1", "--name", "w\(index)"], directory: dir)
    }
    let journalPath = dir.appendingPathComponent("out/journal.sqlite").path
    func done() -> Int { (try? Journal(path: journalPath, readOnly: true).counts().done) ?? 0 }
    #expect(waitUntil { done() >= 1 })
    let live = try Binary.run(["status", "--connect", endpoint], in: dir)
    #expect(live.status == 0, "\(live.stderr)")
    #expect(
      live.stdout.contains("worker w0") && live.stdout.contains("worker w1")
        && live.stdout.contains("runs/s"), "\(live.stdout)")
    #expect(live.stdout.contains("backprop") && live.stdout.contains("#"))
    // Each worker's line names its host's machine type.
    #expect(
      live.stdout.split(separator: "\n").filter { $0.contains("  worker w") && $0.contains(", OpenBLAS ") }
        .count == 2, "\(live.stdout)")
    kill(first.pid, SIGKILL)
    _ = first.wait()
    let doneAtKill = done()
    // The workers finish the runs they hold while no coordinator is there.
    usleep(2_500_000)
    let lastAttemptOfFirstLife = try Journal(path: journalPath, readOnly: true).maxAttemptID()
    let second = try Binary.Running(serve, directory: dir)
    let result = second.wait()
    #expect(result.status == 0, "\(result.stderr)")
    for worker in workers { #expect(worker.wait(timeout: 30).status == 0) }
    let finished = try Journal(path: journalPath, readOnly: true).finishedRuns()
    #expect(finished.count == 6)
    #expect(Set(finished.map(\.run.key)).count == 6)
    // Results of first-life attempts that arrived after the kill were kept, not recomputed.
    let deliveredLate = finished.filter { $0.attempt <= lastAttemptOfFirstLife }.count - doneAtKill
    #expect(deliveredLate >= 1, "no result finished during the outage was delivered on reconnect")
  }

  @Test func curve_workerWithAnUnknownKeyGetsNoWork_andIsLogged_whileAListedWorkerCompletesTheSweep() throws {
    let dir = try makeScratchDirectory()
    try sweep.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    for name in ["coordinator", "worker-a", "worker-b"] {
      let made = try Binary.run(["keys", "generate", name, "--dir", "keys"], in: dir)
      #expect(made.status == 0, "\(made.stderr)")
      #expect(!made.stdout.contains("secret-key"))
    }
    let secretMode =
      try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("keys/worker-a.key").path)[
        .posixPermissions] as? Int
    #expect(secretMode == 0o600)
    let allowed = dir.appendingPathComponent("allowed")
    try FileManager.default.createDirectory(
      at: allowed, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    try FileManager.default.copyItem(
      at: dir.appendingPathComponent("keys/worker-a.pub"), to: allowed.appendingPathComponent("worker-a.pub"))

    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      [
        "coordinator", "sweep.yaml", "--bind", endpoint, "--out", "out", "--curve-key",
        "keys/coordinator.key", "--allow", "allowed",
      ],
      directory: dir)
    func worker(_ name: String) throws -> Binary.Running {
      try Binary.Running(
        [
          "worker", "--connect", endpoint, "--slots", "1", "--name", name, "--curve-key", "keys/\(name).key",
          "--server-key", "keys/coordinator.pub",
        ], directory: dir)
    }
    let intruder = try worker("worker-b")
    // The intruder's handshake is refused before the listed worker even starts.
    let logPath = coordinator.stderrPath
    #expect(
      waitUntil(timeout: 60) {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").contains(
          "Refused a worker's CURVE handshake")
      })
    let listed = try worker("worker-a")
    let result = coordinator.wait()
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("127.0.0.1"))
    #expect(listed.wait(timeout: 30).status == 0)
    kill(intruder.pid, SIGTERM)
    _ = intruder.wait(timeout: 30)
    let finished = try Journal(path: dir.appendingPathComponent("out/journal.sqlite").path, readOnly: true)
      .finishedRuns()
    #expect(finished.count == 6)
    #expect(finished.allSatisfy { $0.worker == "worker-a" })
  }

  @Test func workerStoppedWithFinish_reportsItsRunningRunBeforeLeaving() throws {
    let dir = try makeScratchDirectory()
    let slow = sweep.replacingOccurrences(of: "examples_per_task: 200", with: "examples_per_task: 2000")
    try slow.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      ["coordinator", "sweep.yaml", "--bind", endpoint, "--out", "out", "--prefetch", "0"], directory: dir)
    let leaving = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "leaving", "--on-stop", "finish"],
      directory: dir)
    let journalPath = dir.appendingPathComponent("out/journal.sqlite").path
    func done() -> Int { (try? Journal(path: journalPath, readOnly: true).counts().done) ?? 0 }
    #expect(waitUntil { done() >= 1 })
    // Its next lease follows the acknowledgement by microseconds; a run takes about a second.
    usleep(200_000)
    let doneAtStop = done()
    kill(leaving.pid, SIGTERM)
    let left = leaving.wait(timeout: 60)
    #expect(left.status == 0, "\(left.stderr)")
    // The run it held when told to stop was finished and journaled, not handed back.
    #expect(done() == doneAtStop + 1, "\(left.stderr)")
    let finisher = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "finisher"], directory: dir)
    #expect(coordinator.wait().status == 0)
    #expect(finisher.wait(timeout: 30).status == 0)
    let finished = try Journal(path: journalPath, readOnly: true).finishedRuns()
    #expect(finished.count == 6 && finished.filter { $0.worker == "leaving" }.count == doneAtStop + 1)
  }

  @Test func workerGreetingAnAbsentCoordinatorForLong_stillStopsOnSIGTERM_andIsWelcomedWhenItComes() throws {
    let dir = try makeScratchDirectory()
    try sweep.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    // A greeting a millisecond: 2 s of an absent coordinator queue more hellos than libzmq's
    // default send high-water mark (1000), as 17 minutes at the real interval of 1 s would.
    let patient = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "patient", "--hello-interval", "0.001"],
      directory: dir)
    usleep(2_000_000)
    kill(patient.pid, SIGTERM)
    let stopped = patient.wait(timeout: 15)
    #expect(stopped.status == 0, "a worker blocked in send ignores SIGTERM: \(stopped.stderr)")

    // The same wait, then the coordinator comes: the queued greetings reach it, and the sweep runs.
    let late = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "late", "--hello-interval", "0.001"],
      directory: dir)
    usleep(2_000_000)
    let coordinator = try Binary.Running(
      ["coordinator", "sweep.yaml", "--bind", endpoint, "--out", "out"], directory: dir)
    let served = coordinator.wait(timeout: 120)
    #expect(served.status == 0, "\(served.stderr)")
    #expect(late.wait(timeout: 30).status == 0)
    let finished = try Journal(path: dir.appendingPathComponent("out/journal.sqlite").path, readOnly: true)
      .finishedRuns()
    #expect(finished.count == 6 && finished.allSatisfy { $0.worker == "late" })
  }

  @Test func coordinator_refusesPlaintextBeyondLoopback_withoutInsecure() throws {
    let dir = try makeScratchDirectory()
    try sweep.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let result = try Binary.run(["coordinator", "sweep.yaml", "--bind", "tcp://0.0.0.0:5999"], in: dir)
    #expect(result.status != 0)
    #expect(result.stderr.contains("--insecure"))
  }
}
