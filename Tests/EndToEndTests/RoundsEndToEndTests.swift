import Foundation
import GRDB
import Journal
import Testing

/// One lstm-metalearning run spread over workers in rounds: 4 shards of a batch of 8, small
/// enough for a debug build to run `steps` rounds in seconds.
private func roundsSweep(steps: Int, shards: Int = 4) -> String {
  """
  name: rounds-e2e
  experiment: lstm-metalearning
  seeds: [5]
  fixed:
    hidden_units: 4
    batch: 8
    shards: \(shards)
    steps: \(steps)
    sequence_length_train: 16
    test_sequences: 8
    test_length: 32
    validation_every: 20
    validation_sequences: 4
    curve_bin: 10
  variants:
    tiny: {}
  """
}

/// The SHA-256 of the final meta-state (parameters, Adam's moments, curves) the same run reaches
/// in one process, as `metasweep run-one` prints it.
private func singleProcessHash(steps: Int, shards: Int = 4, in dir: URL) throws -> String {
  let parameters = [
    "hidden_units=4", "batch=8", "shards=\(shards)", "steps=\(steps)", "sequence_length_train=16",
    "test_sequences=8", "test_length=32", "validation_every=20", "validation_sequences=4", "curve_bin=10",
  ]
  let result = try Binary.run(
    ["run-one", "--experiment", "lstm-metalearning", "--seed", "5"] + parameters.flatMap { ["--param", $0] },
    in: dir)
  #expect(result.status == 0, "\(result.stderr)")
  let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("artifact meta_state ") }
  return line.map { String($0.dropFirst("artifact meta_state ".count)) } ?? "missing"
}

/// The journaled meta-state hashes of a results folder's runs.
private func journaledHashes(_ out: URL) throws -> [String] {
  let queue = try DatabaseQueue(
    path: out.appendingPathComponent("journal.sqlite").path,
    configuration: {
      var c = Configuration(); c.readonly = true; return c
    }())
  return try queue.read { db in
    try String.fetchAll(db, sql: "SELECT sha256 FROM artifacts WHERE name = 'meta_state' ORDER BY run_key")
  }
}

/// Rounds the journaled checkpoints of the sweep's pending run have reached.
private func checkpointedRounds(_ out: URL) -> UInt64 { checkpointedSteps(out).max() ?? 0 }

@Suite(.serialized) struct RoundsEndToEndTests {
  @Test(arguments: ["peers", "coordinator"])
  func aRunInRounds_onOneTwoOrThreeWorkers_endsWithTheSingleProcessMetaState(exchange: String) throws {
    let dir = try makeScratchDirectory()
    let expected = try singleProcessHash(steps: 120, in: dir)
    #expect(expected.count == 64)
    try roundsSweep(steps: 120).write(
      to: dir.appendingPathComponent("rounds.yaml"), atomically: true, encoding: .utf8)
    for workers in 1...3 {
      let out = "w\(workers)"
      let result = try Binary.run(
        [
          "run", "rounds.yaml", "--workers", "\(workers)", "--out", out, "--log-level", "info",
          "--round-exchange", exchange, "--epoch-seconds", "0.05",
        ], in: dir)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stderr.contains("Run starts its rounds"), "\(result.stderr.suffix(2000))")
      #expect(try journaledHashes(dir.appendingPathComponent(out)) == [expected], "\(workers) workers")
      if exchange == "peers" && workers > 1 {
        // Groups of more than one formed: some worker waited for another's gradients.
        let logs = try (0..<workers).map {
          try String(contentsOf: dir.appendingPathComponent("\(out)/logs/worker-\($0).log"), encoding: .utf8)
        }
        #expect(logs.filter { $0.contains("Took part in") }.count >= 2, "\(logs)")
      }
    }
  }

  @Test(arguments: ["peers", "coordinator"])
  func killingAWorkerMidRound_andThenTheCoordinatorMidRun_changesNothingInTheMetaState(exchange: String)
    throws
  {
    let dir = try makeScratchDirectory()
    let steps = 600
    let expected = try singleProcessHash(steps: steps, in: dir)
    try roundsSweep(steps: steps).write(
      to: dir.appendingPathComponent("rounds.yaml"), atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("out")
    let serve = [
      "--workers", "2", "--heartbeat", "0.1", "--worker-timeout", "0.6", "--round-checkpoint-seconds", "0.1",
      "--log-level", "info", "--round-exchange", exchange, "--epoch-seconds", "0.1",
    ]
    let coordinator = try Binary.Running(["run", "rounds.yaml", "--out", "out"] + serve, directory: dir)
    // kill -9 one worker once rounds are under way: its shards go to the other, and the pool
    // starts a new worker, which gets the replica with its first shard.
    #expect(waitUntil { checkpointedRounds(out) >= 60 }, "no rounds were checkpointed in time")
    let workers = childProcesses(of: coordinator.pid)
    #expect(workers.count == 2)
    if let victim = workers.first { kill(victim, SIGKILL) }
    let afterWorker = checkpointedRounds(out)
    // Then kill -9 the coordinator a few checkpoints later, before the last round.
    #expect(
      waitUntil { checkpointedRounds(out) >= afterWorker + 60 }, "the rounds stopped after a worker died")
    kill(coordinator.pid, SIGKILL)
    let killed = coordinator.wait()
    let atKill = checkpointedRounds(out)
    #expect(atKill > afterWorker && atKill < UInt64(steps), "the kill came after the last round")
    #expect(
      killed.stderr.contains("Worker went silent") || killed.stderr.contains("Worker left"),
      "\(killed.stderr.suffix(3000))")

    let resumed = try Binary.run(["resume", out.path] + serve, in: dir)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(
      resumed.stderr.contains("step=\(atKill)/\(steps)") || resumed.stderr.contains("\(atKill)/\(steps)"),
      "the resumed coordinator went on from the checkpoint at \(atKill): \(resumed.stderr.suffix(3000))")
    #expect(try journaledHashes(out) == [expected])
  }

  @Test(arguments: ["peers", "coordinator"])
  func aWorkerWhoseReplicaIsDamaged_isDetected_sentTheReplicaAgain_andTheBitsAreUnchanged(exchange: String)
    throws
  {
    let dir = try makeScratchDirectory()
    let expected = try singleProcessHash(steps: 60, in: dir)
    try roundsSweep(steps: 60).write(
      to: dir.appendingPathComponent("rounds.yaml"), atomically: true, encoding: .utf8)
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      [
        "coordinator", "rounds.yaml", "--bind", endpoint, "--out", "out", "--log-level", "info",
        "--round-exchange", exchange, "--epoch-seconds", "0.02",
      ],
      directory: dir)
    let healthy = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "healthy"], directory: dir)
    // Every 5th replica (every 2nd epoch's meta-state) this worker stores is damaged after it
    // arrived, as memory corruption would.
    let damaged = try Binary.Running(
      [
        "worker", "--connect", endpoint, "--slots", "1", "--name", "damaged", "--damage-every-nth-replica",
        exchange == "peers" ? "2" : "5",
      ],
      directory: dir)
    let result = coordinator.wait()
    #expect(result.status == 0, "\(result.stderr)")
    #expect(healthy.wait(timeout: 30).status == 0)
    let damagedLog = damaged.wait(timeout: 30)
    if exchange == "peers" {
      #expect(
        damagedLog.stderr.contains("An epoch of rounds ended early: the meta-state hashes to"),
        "\(damagedLog.stderr.suffix(2000))")
      #expect(
        result.stderr.contains("A member's copy of the meta-state was damaged; the epoch is computed again"),
        "\(result.stderr.suffix(2000))")
    } else {
      #expect(damagedLog.stderr.contains("A replica failed its check"), "\(damagedLog.stderr.suffix(2000))")
      #expect(result.stderr.contains("its copy was damaged; sending it"), "\(result.stderr.suffix(2000))")
    }
    #expect(try journaledHashes(dir.appendingPathComponent("out")) == [expected])
  }
}

extension RoundsEndToEndTests {
  @Test(arguments: ["peers", "coordinator"])
  func statusConnect_showsEachRunsRound_itsShards_rate_andSlowestWorker(exchange: String) throws {
    let dir = try makeScratchDirectory()
    try roundsSweep(steps: 5000).write(
      to: dir.appendingPathComponent("rounds.yaml"), atomically: true, encoding: .utf8)
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      [
        "coordinator", "rounds.yaml", "--bind", endpoint, "--out", "out", "--round-checkpoint-seconds", "0.2",
        "--round-exchange", exchange, "--epoch-seconds", "0.2",
      ],
      directory: dir)
    let worker = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "w1"], directory: dir)
    #expect(waitUntil { checkpointedRounds(dir.appendingPathComponent("out")) >= 20 }, "no rounds in time")
    let status = try Binary.run(["status", "--connect", endpoint], in: dir)
    // SIGTERM: a clean stop, which journals the meta-state reached.
    kill(coordinator.pid, SIGTERM)
    let stopped = coordinator.wait(timeout: 60)
    _ = worker.wait(timeout: 30)
    #expect(status.status == 0, "\(status.stderr)")
    #expect(
      status.stdout.contains("0/1 done, 0 failed, 0 running, 0 queued, 1 in rounds, 0 pending"),
      "\(status.stdout)")
    #expect(status.stdout.contains("runs in rounds: 1;"), "\(status.stdout)")
    #expect(status.stdout.contains(" of 5000, "), "\(status.stdout)")
    if exchange == "peers" {
      // An epoch in flight on the one worker, or (a moment's window) none between two epochs.
      let inFlight =
        status.stdout.contains("epoch to round ") && status.stdout.contains(" on 1 worker (0 done), ")
      #expect(inFlight || status.stdout.contains("between epochs, "), "\(status.stdout)")
    } else {
      #expect(status.stdout.contains("/4 shards in"), "\(status.stdout)")
    }
    #expect(status.stdout.contains("rounds/s, slowest worker w1"), "\(status.stdout)")
    #expect(stopped.status == 0, "\(stopped.stderr.suffix(2000))")
    let checkpointed = checkpointedRounds(dir.appendingPathComponent("out"))
    #expect(checkpointed >= 20 && checkpointed < 5000)
  }
}
