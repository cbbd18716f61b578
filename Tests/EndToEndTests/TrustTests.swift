import Foundation
import GRDB
import Journal
import SweepModel
import SweepProtocol
import Testing
import ZeroMQ

/// The attempts the journal at `path` holds, with their runs (as a forger reading it would).
private func journaledAttempts(_ path: String) -> [(attempt: UInt64, key: RunKey)] {
  guard
    let queue = try? DatabaseQueue(
      path: path,
      configuration: {
        var c = Configuration(); c.readonly = true; return c
      }())
  else { return [] }
  return
    (try? queue.read { db in
      try Row.fetchAll(db, sql: "SELECT id, run_key FROM attempts ORDER BY id").map {
        (UInt64(bitPattern: $0[0] as Int64), RunKey(hex: $0[1]))
      }
    }) ?? []
}

/// What the coordinator wrote to standard error so far.
private func log(_ running: Binary.Running) -> String {
  (try? String(contentsOfFile: running.stderrPath, encoding: .utf8)) ?? ""
}

@Suite(.serialized) struct TrustTests {
  /// Issue 11.1: a peer that never said hello sent results for attempts read from the journal,
  /// and every one was journaled as the run's outcome.
  @Test func forgedReports_forRealAttempts_fromAPeerThatNeverGreeted_areNeverJournaled() throws {
    let dir = try makeScratchDirectory()
    try """
    name: forged
    experiment: noop
    seeds: 0..<40
    fixed: {seconds: 0.05}
    variants:
      a: {}
    """.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      ["coordinator", "sweep.yaml", "--bind", endpoint, "--out", "out"], directory: dir)
    let worker = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "honest"], directory: dir)

    let context = try ZMQContext()
    let forger = try Socket(.dealer, context: context)
    try forger.set(.linger(milliseconds: 0), .sendHighWaterMark(0))
    try forger.connect(endpoint)
    let journalPath = dir.appendingPathComponent("out/journal.sqlite").path
    var forgedAttempts = Set<UInt64>()
    let outcome = Outcome(metrics: [Metric("value", 9892), Metric("seed", 0)])
    while coordinator.process.isRunning {
      for (attempt, key) in journaledAttempts(journalPath) where forgedAttempts.insert(attempt).inserted {
        for message in [
          WireMessage.result(.init(attempt: attempt, key: key, outcome: outcome, seconds: 0.01)),
          .segment(
            .init(attempt: attempt, key: key, checkpoint: [1], stepsDone: 1, totalSteps: 2, seconds: 0.01)),
          .failure(.init(attempt: attempt, key: key, message: "forged")),
          .ack(attempt: attempt),
        ] {
          try forger.send(frames: WireCodec.encode(message))
        }
      }
      usleep(10_000)
    }
    let served = coordinator.wait()
    #expect(served.status == 0, "\(served.stderr)")
    #expect(worker.wait(timeout: 30).status == 0)
    #expect(forgedAttempts.count >= 10)
    let finished = try Journal(path: journalPath, readOnly: true).finishedRuns()
    #expect(finished.count == 40)
    #expect(finished.allSatisfy { $0.worker == "honest" && $0.outcome.metrics.first?.value == 0 })
    #expect(try Journal(path: journalPath, readOnly: true).counts().failed == 0)
    // Counted, and logged once with the peer's address.
    let refusals = served.stderr.split(separator: "\n").filter {
      $0.contains("from a peer that has not greeted")
    }
    #expect(refusals.count == 1 && refusals.first?.contains("127.0.0.1") == true, "\(served.stderr)")
  }

  /// Issue 11.2: a peer announcing 4,294,967,295 slots that only heartbeats got every lease.
  @Test func fakeWorkerAnnouncingHugeSlots_doesNotStarveTheRealWorker_andLosesWhatItHolds() throws {
    let dir = try makeScratchDirectory()
    try """
    name: hog
    experiment: noop
    seeds: 0..<400
    fixed: {seconds: 0.002}
    variants:
      a: {}
    """.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      ["coordinator", "sweep.yaml", "--bind", endpoint, "--out", "out", "--stall-timeout", "3"],
      directory: dir)
    let context = try ZMQContext()
    let fake = try Socket(.dealer, context: context)
    try fake.set(.linger(milliseconds: 0), .sendHighWaterMark(0))
    try fake.connect(endpoint)
    func hello(build: String) throws {
      try fake.send(
        frames: WireCodec.encode(
          .hello(
            .init(
              protocolVersion: WireCodec.protocolVersion, buildID: build, name: "hog", slots: .max,
              session: [UInt8](repeating: 7, count: WireLimits.sessionBytes), machine: ""))))
    }
    // A hostile peer learns the build id from the rejection of a first hello, as anyone can.
    try hello(build: "")
    var leased = 0
    #expect(
      waitUntil(timeout: 30) {
        while let frames = try? fake.receiveMultipart(wait: false) {
          switch try? WireCodec.decode(frames) {
          case .reject(let reason):
            if let range = reason.range(of: "coordinator's build ") {
              try? hello(build: String(reason[range.upperBound...].prefix { $0 != ":" }))
            }
          case .lease: leased += 1
          default: break
          }
        }
        return leased > 0
      })
    let started = Date()
    let worker = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "real"], directory: dir)
    let journalPath = dir.appendingPathComponent("out/journal.sqlite").path
    func done() -> Int { (try? Journal(path: journalPath, readOnly: true).counts().done) ?? 0 }
    // The hog heartbeats all along, so it is never given up on for silence.
    var lastBeat = Date()
    func heartbeat() {
      guard Date().timeIntervalSince(lastBeat) > 0.2 else { return }
      lastBeat = Date()
      _ = try? fake.send(frames: WireCodec.encode(.heartbeat), wait: false)
      while (try? fake.receiveMultipart(wait: false)) != nil {}
    }
    // The real worker is not starved: it runs most of the sweep at once.
    #expect(
      waitUntil(timeout: 60) {
        heartbeat()
        return done() >= 300
      })
    #expect(Date().timeIntervalSince(started) < 30)
    // The hog keeps heartbeating; its runs come back after the stall deadline and the sweep ends.
    let deadline = Date().addingTimeInterval(60)
    while coordinator.process.isRunning && Date() < deadline {
      heartbeat()
      usleep(50_000)
    }
    let served = coordinator.wait(timeout: 1)
    #expect(served.status == 0, "\(served.stderr)")
    #expect(worker.wait(timeout: 30).status == 0)
    #expect(served.stderr.contains("Worker announced 4294967295 slots"), "\(served.stderr)")
    #expect(served.stderr.contains("without reporting"), "\(served.stderr)")
    let finished = try Journal(path: journalPath, readOnly: true).finishedRuns()
    #expect(finished.count == 400 && finished.allSatisfy { $0.worker == "real" })
  }

  /// Issue 11.3: a worker whose key the coordinator refuses (or a plaintext worker of a CURVE
  /// coordinator) logged nothing, ignored --give-up-after and SIGTERM.
  @Test func refusedWorker_saysWhy_givesUpOnTime_andStopsOnSIGTERM() throws {
    let dir = try makeScratchDirectory()
    try """
    name: refused
    experiment: noop
    seeds: 0..<3
    variants:
      a: {}
    """.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    for name in ["coordinator", "listed", "unknown", "other"] {
      #expect(try Binary.run(["keys", "generate", name, "--dir", "keys"], in: dir).status == 0)
    }
    let allowed = dir.appendingPathComponent("allowed")
    try FileManager.default.createDirectory(
      at: allowed, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    try FileManager.default.copyItem(
      at: dir.appendingPathComponent("keys/listed.pub"), to: allowed.appendingPathComponent("listed.pub"))
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      [
        "coordinator", "sweep.yaml", "--bind", endpoint, "--out", "out", "--curve-key",
        "keys/coordinator.key",
        "--allow", "allowed",
      ], directory: dir)
    defer {
      kill(coordinator.pid, SIGKILL)
      _ = coordinator.wait(timeout: 10)
    }
    #expect(
      waitUntil(timeout: 30) {
        log(coordinator).contains("status --connect") || log(coordinator).contains("to run")
      })

    // An unknown key: refused, and the worker says so and exits 3 at once.
    let start = Date()
    let unknown = try Binary.run(
      [
        "worker", "--connect", endpoint, "--curve-key", "keys/unknown.key", "--server-key",
        "keys/coordinator.pub",
        "--give-up-after", "3",
      ], in: dir, timeout: 30)
    #expect(unknown.status == 3, "\(unknown.stderr)")
    #expect(unknown.stderr.contains("refused this worker's CURVE key"), "\(unknown.stderr)")
    #expect(Date().timeIntervalSince(start) < 15)

    // A plaintext worker: it exits on the mismatch, or gives up on time saying why.
    let plain = try Binary.run(
      ["worker", "--connect", endpoint, "--give-up-after", "3"], in: dir, timeout: 30)
    #expect(plain.status == 3 || plain.status == 4, "\(plain.stderr)")
    #expect(plain.stderr.contains("CURVE"), "\(plain.stderr)")

    // A wrong server key and no --give-up-after: it waits, but SIGTERM stops it.
    let waiting = try Binary.Running(
      ["worker", "--connect", endpoint, "--curve-key", "keys/listed.key", "--server-key", "keys/other.pub"],
      directory: dir)
    usleep(1_500_000)
    kill(waiting.pid, SIGTERM)
    let stopped = waiting.wait(timeout: 15)
    #expect(stopped.status == 0, "\(stopped.stderr)")
    #expect(stopped.stderr.contains("closed the connection during the handshake"), "\(stopped.stderr)")
  }

  /// Issue 11.5: a second `run` on the same folder started, and the first then died on a reused
  /// attempt id, leaving a lease behind. Issue 11.10: status counted running runs as pending too,
  /// and still showed them running after Ctrl-C.
  @Test func secondCoordinatorOnTheFolder_exits2AtOnce_andStatusCountsAddUp_beforeAndAfterCtrlC() throws {
    let dir = try makeScratchDirectory()
    try """
    name: busy
    experiment: noop
    seeds: 0..<25
    fixed: {seconds: 0.5}
    variants:
      a: {}
    """.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let first = try Binary.Running(["run", "sweep.yaml", "--workers", "2", "--out", "out"], directory: dir)
    let journalPath = dir.appendingPathComponent("out/journal.sqlite").path
    #expect(
      waitUntil(timeout: 60) { ((try? Journal(path: journalPath, readOnly: true).counts().done) ?? 0) >= 2 })

    let started = Date()
    let second = try Binary.run(
      ["run", "sweep.yaml", "--workers", "1", "--out", "out"], in: dir, timeout: 60)
    #expect(second.status == 2, "\(second.stderr)")
    #expect(
      second.stderr.contains("in use by another coordinator") && second.stderr.contains("pid \(first.pid)"))
    #expect(Date().timeIntervalSince(started) < 10)

    let during = try Binary.run(["status", "out"], in: dir)
    let counts = try #require(during.stdout.split(separator: "\n").first.map(String.init))
    #expect(counts.contains("leased (running or queued on workers)"), "\(during.stdout)")
    #expect(during.stdout.contains("coordinator: pid \(first.pid)"))
    func numbers(_ line: String) -> [Int] {
      line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    }
    // done/total, failed, leased, pending: the four parts add up to the total.
    let parts = numbers(counts)
    #expect(parts.count >= 5 && parts[0] + parts[2] + parts[3] + parts[4] == parts[1], "\(counts)")

    kill(first.pid, SIGINT)
    let stopped = first.wait(timeout: 60)
    #expect(stopped.status == 130, "\(stopped.stderr)")
    let after = try Binary.run(["status", "out"], in: dir)
    let line = try #require(after.stdout.split(separator: "\n").first.map(String.init))
    #expect(line.contains("no coordinator is running") && !after.stdout.contains(">"), "\(after.stdout)")
    let afterParts = numbers(line)
    #expect(afterParts[0] + afterParts[2] + afterParts[3] == afterParts[1], "\(line)")
    let journal = try Journal(path: journalPath, readOnly: true)
    #expect(try journal.counts().leased == 0)
  }
}
