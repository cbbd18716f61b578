import SweepModel
import Testing

@testable import SweepProtocol

private let t0 = ContinuousClock.now
private let welcome = WireMessage.welcome(
  WireMessage.Welcome(heartbeatIntervalMilliseconds: 200, peerTimeoutMilliseconds: 1000))
private let lease = WireMessage.Lease(
  attempt: 7, key: RunKey(hex: String(repeating: "a", count: 64)), experiment: "geoff", parameters: [:],
  seed: 1)

private func session() -> WorkerSession {
  var settings = WorkerSession.Settings()
  settings.name = "w"
  settings.slots = 2
  settings.buildID = "b"
  return WorkerSession(settings: settings)
}

@Test func start_greets_andRepeatsTheHelloUntilWelcomed() {
  var s = session()
  let hello = WireMessage.hello(
    WireMessage.Hello(
      protocolVersion: WireCodec.protocolVersion, buildID: "b", name: "w", slots: 2,
      session: [UInt8](repeating: 0, count: WireLimits.sessionBytes), machine: "unknown"))
  #expect(s.start(now: t0) == [.send(hello)])
  #expect(s.onTick(now: t0 + .milliseconds(500)).isEmpty)
  #expect(s.onTick(now: t0 + .seconds(1)) == [.send(hello)])
  _ = s.onMessage(welcome, now: t0 + .seconds(1))
  #expect(s.phase == .working)
}

@Test func heartbeats_followTheWelcomedInterval() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  #expect(s.onTick(now: t0 + .milliseconds(100)).isEmpty)
  #expect(s.onTick(now: t0 + .milliseconds(200)) == [.send(.heartbeat)])
}

@Test func silentCoordinator_isGreetedAgain_andRunningWorkIsKept() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  _ = s.onMessage(.lease(lease), now: t0)
  let out = s.onTick(now: t0 + .milliseconds(1500))
  #expect(s.phase == .greeting)
  #expect(out.contains { if case .send(.hello) = $0 { true } else { false } })
  #expect(s.running == [7])
  let report = WireMessage.result(
    WireMessage.RunResult(attempt: 7, key: lease.key, outcome: Outcome(), seconds: 1))
  #expect(s.onRunFinished(report, now: t0 + .seconds(2)) == [.send(report)])
}

@Test func shutdown_drainsRunningWork_thenExitsZero() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  #expect(s.onMessage(.lease(lease), now: t0) == [.startRun(lease)])
  #expect(s.onMessage(.shutdown, now: t0).isEmpty)
  let report = WireMessage.failure(WireMessage.RunFailure(attempt: 7, key: lease.key, message: "x"))
  #expect(s.onRunFinished(report, now: t0) == [.send(report)])
  // It leaves once the report is journaled, without a goodbye (the coordinator is done with it).
  let out = s.onMessage(.ack(attempt: 7), now: t0)
  #expect(out.count == 1 && out.last.map { if case .exit(0, _) = $0 { true } else { false } } == true)
}

@Test func reject_exitsNonZero_withTheCoordinatorsReason() {
  var s = session()
  _ = s.start(now: t0)
  #expect(
    s.onMessage(.reject(reason: "old build"), now: t0) == [
      .exit(code: 3, reason: "The coordinator refused this worker: old build")
    ])
}

@Test func reports_areKeptUntilAcknowledged_andSentAgainAfterARestartedCoordinatorWelcomesUs() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  _ = s.onMessage(.lease(lease), now: t0)
  let report = WireMessage.result(
    WireMessage.RunResult(attempt: 7, key: lease.key, outcome: Outcome(), seconds: 1))
  _ = s.onRunFinished(report, now: t0)
  // The coordinator dies before journaling it, comes back, and welcomes us again.
  _ = s.onTick(now: t0 + .milliseconds(1500))
  #expect(s.phase == .greeting)
  let out = s.onMessage(welcome, now: t0 + .seconds(2))
  #expect(out.contains(.send(report)))
  #expect(s.onMessage(.ack(attempt: 7), now: t0 + .seconds(2)).isEmpty)
  #expect(s.unacknowledged.isEmpty)
  // Once acknowledged, a later welcome sends nothing again.
  _ = s.onTick(now: t0 + .milliseconds(3600))
  #expect(!s.onMessage(welcome, now: t0 + .seconds(4)).contains(.send(report)))
}

@Test func giveUpAfter_exitsWithCode4_whenNoCoordinatorEverAnswers() {
  var settings = WorkerSession.Settings()
  settings.giveUpAfter = .seconds(3)
  var s = WorkerSession(settings: settings)
  _ = s.start(now: t0)
  #expect(!s.onTick(now: t0 + .seconds(2)).contains { if case .exit = $0 { true } else { false } })
  #expect(
    s.onTick(now: t0 + .milliseconds(3100)).contains { if case .exit(4, _) = $0 { true } else { false } })
}

@Test func segmentReport_isKeptUntilAcknowledged_andResentAfterAReWelcome() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  #expect(s.onMessage(.lease(lease), now: t0) == [.startRun(lease)])
  let report = WireMessage.segment(
    WireMessage.SegmentReport(
      attempt: 7, key: lease.key, checkpoint: [1, 2], stepsDone: 7, totalSteps: 60, seconds: 0.5))
  #expect(s.onRunFinished(report, now: t0) == [.send(report)])
  #expect(s.running.isEmpty && s.unacknowledged.count == 1)
  // The coordinator goes silent; after the new welcome the report goes out again.
  _ = s.onTick(now: t0 + .seconds(2))
  #expect(s.phase == .greeting)
  #expect(s.onMessage(welcome, now: t0 + .seconds(2)).contains(.send(report)))
  _ = s.onMessage(.ack(attempt: 7), now: t0 + .seconds(2))
  #expect(s.unacknowledged.isEmpty)
}

@Test func stopWithFinish_drainsTheRunningRun_reportsIt_thenSaysGoodbye() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  _ = s.onMessage(.lease(lease), now: t0)
  let stop = s.onStopRequested(finishRunning: true)
  #expect(stop.first == .send(.draining))
  #expect(!stop.contains { if case .exit = $0 { true } else { false } })
  let report = WireMessage.result(
    WireMessage.RunResult(attempt: 7, key: lease.key, outcome: Outcome(), seconds: 1))
  // A lease sent before the coordinator heard of the draining is not started (the goodbye returns it).
  let late = WireMessage.Lease(
    attempt: 8, key: RunKey(hex: String(repeating: "b", count: 64)), experiment: "geoff", parameters: [:],
    seed: 2)
  #expect(!s.onMessage(.lease(late), now: t0).contains(.startRun(late)))
  // Reported, but not yet journaled: the worker stays until the acknowledgement.
  #expect(s.onRunFinished(report, now: t0) == [.send(report)])
  #expect(s.phase == .draining)
  let out = s.onMessage(.ack(attempt: 7), now: t0)
  #expect(out.first == .send(.goodbye(reason: "drained")))
  #expect(out.last.map { if case .exit(0, _) = $0 { true } else { false } } == true)
}

@Test func drainingWorker_whoseCoordinatorGoesSilent_leavesAfterThePeerTimeout() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  _ = s.onMessage(.lease(lease), now: t0)
  _ = s.onStopRequested(finishRunning: true)
  let report = WireMessage.result(
    WireMessage.RunResult(attempt: 7, key: lease.key, outcome: Outcome(), seconds: 1))
  _ = s.onRunFinished(report, now: t0 + .milliseconds(500))
  #expect(!s.onTick(now: t0 + .milliseconds(900)).contains { if case .exit = $0 { true } else { false } })
  let out = s.onTick(now: t0 + .milliseconds(1100))
  #expect(out.contains { if case .exit(0, _) = $0 { true } else { false } })
  #expect(s.phase == .stopped)
}

@Test func acknowledgements_inAnyOrder_leaveTheOthersToBeResentInSendingOrder() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  // Attempts numbered against their order, so a resend sorted by attempt would fail.
  let attempts: [UInt64] = [30, 10, 20, 50, 40]
  var reports: [WireMessage] = []
  for attempt in attempts {
    var next = lease
    next.attempt = attempt
    _ = s.onMessage(.lease(next), now: t0)
    let report = WireMessage.result(
      WireMessage.RunResult(attempt: attempt, key: lease.key, outcome: Outcome(), seconds: 0))
    reports.append(report)
    #expect(s.onRunFinished(report, now: t0) == [.send(report)])
  }
  _ = s.onMessage(.ack(attempt: 20), now: t0)
  _ = s.onMessage(.ack(attempt: 30), now: t0)
  _ = s.onMessage(.ack(attempt: 99), now: t0)  // an ack of nothing we hold changes nothing
  #expect(s.unacknowledged.map(\.attempt) == [10, 50, 40])
  _ = s.onTick(now: t0 + .seconds(2))
  #expect(s.phase == .greeting)
  let resent = s.onMessage(welcome, now: t0 + .seconds(2)).filter {
    if case .send = $0 { true } else { false }
  }
  #expect(resent == [reports[1], reports[3], reports[4]].map { .send($0) })
}

@Test func refusedKeyOrSecurityMismatch_exitsWithCode3_sayingWhatToChange() {
  for (problem, words) in [
    (WorkerSession.ConnectionProblem.keyRefused(status: 400), "--allow"),
    (.mechanismMismatch, "plaintext"),
  ] {
    var s = session()
    _ = s.start(now: t0)
    let out = s.onConnectionProblem(problem)
    #expect(out.count == 1)
    guard case .exit(3, let reason) = out.first else {
      Issue.record("no exit for \(problem): \(out)")
      continue
    }
    #expect(reason.contains(words), "\(reason)")
    #expect(s.phase == .stopped && s.onTick(now: t0 + .seconds(60)).isEmpty)
  }
}

@Test func givingUp_namesTheLastFailedHandshake_whichIsLoggedOnce() {
  var settings = WorkerSession.Settings()
  settings.giveUpAfter = .seconds(3)
  var s = WorkerSession(settings: settings)
  _ = s.start(now: t0)
  let problem = WorkerSession.ConnectionProblem.handshakeFailed("closed during the handshake")
  #expect(s.onConnectionProblem(problem).count == 1)
  #expect(s.onConnectionProblem(problem).isEmpty)
  let out = s.onTick(now: t0 + .milliseconds(3100))
  guard case .exit(4, let reason) = out.last else {
    Issue.record("did not give up: \(out)")
    return
  }
  #expect(reason.contains("closed during the handshake"))
}

private let shardLease = WireMessage.ShardLease(
  unit: 3, key: RunKey(hex: String(repeating: "b", count: 64)), step: 4, shard: 1,
  replicaSHA256: String(repeating: "c", count: 64), replica: [1, 2],
  context: .init(experiment: "lstm-metalearning", parameters: [:], seed: 1))

@Test func shardLease_startsTheShard_andItsReportIsSentWithoutWaitingForAnAcknowledgement() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  #expect(s.onMessage(.shardLease(shardLease), now: t0) == [.startShard(shardLease)])
  #expect(s.runningShards == [3])
  let result = WireMessage.shardResult(
    .init(
      unit: 3, key: shardLease.key, step: 4, shard: 1, replicaSHA256: shardLease.replicaSHA256, seconds: 0.1,
      gradient: [9]))
  #expect(s.onShardFinished(result, now: t0) == [.send(result)])
  #expect(s.runningShards.isEmpty)
  #expect(s.unacknowledged.isEmpty, "a shard report is not kept: a lost one is leased again")
}

@Test func shutdown_waitsForRunningShards_andAShardLeaseArrivingWhileDrainingIsNotStarted() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  _ = s.onMessage(.shardLease(shardLease), now: t0)
  #expect(s.onMessage(.shutdown, now: t0).isEmpty, "a shard still runs")
  var late = shardLease
  late.unit = 4
  #expect(!s.onMessage(.shardLease(late), now: t0).contains(.startShard(late)))
  let failure = WireMessage.shardFailure(
    .init(unit: 3, key: shardLease.key, step: 4, shard: 1, reason: .failed, message: "boom"))
  let out = s.onShardFinished(failure, now: t0)
  #expect(out.first == .send(failure))
  #expect(out.contains { if case .exit(0, _) = $0 { true } else { false } })
}

private let epochLease = WireMessage.EpochLease(
  unit: 7, epoch: 2, key: RunKey(hex: String(repeating: "b", count: 64)),
  context: .init(experiment: "lstm-metalearning", parameters: [:], seed: 1), fromStep: 4, toStep: 12,
  index: 0,
  peers: ["tcp://127.0.0.1:5000", "tcp://127.0.0.1:5001"], secret: Array(repeating: 1, count: 32),
  stateSHA256: String(repeating: "c", count: 64), state: [1, 2, 3])

private func epochReport(unit: UInt64) -> WireMessage {
  .epochReport(
    .init(
      unit: unit, key: epochLease.key, status: .done, step: 12,
      stateSHA256: String(repeating: "d", count: 64),
      computeSeconds: 0.5, waitSeconds: 0.1, message: "", state: [4, 5]))
}

@Test func epochLease_startsTheEpoch_anditsReportIsSent_butACancelledEpochsReportIsDropped() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  #expect(s.onMessage(.epochLease(epochLease), now: t0) == [.startEpoch(epochLease)])
  #expect(s.runningShards == [7])
  #expect(s.onShardFinished(epochReport(unit: 7), now: t0) == [.send(epochReport(unit: 7))])
  #expect(s.runningShards.isEmpty)
  #expect(s.unacknowledged.isEmpty, "an epoch report is not kept: a lost one is computed again")

  var second = epochLease
  second.unit = 8
  _ = s.onMessage(.epochLease(second), now: t0)
  #expect(s.onMessage(.epochCancel(unit: 8), now: t0) == [.cancelEpoch(unit: 8)])
  #expect(s.runningShards.isEmpty)
  #expect(s.onShardFinished(epochReport(unit: 8), now: t0).isEmpty, "the coordinator called it off")
  #expect(s.onMessage(.epochCancel(unit: 99), now: t0).isEmpty, "nothing runs under that unit")
}

@Test func shutdown_waitsForARunningEpoch_andAnEpochLeaseArrivingWhileDrainingIsNotStarted() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  _ = s.onMessage(.epochLease(epochLease), now: t0)
  #expect(s.onMessage(.shutdown, now: t0).isEmpty, "an epoch still runs")
  var late = epochLease
  late.unit = 9
  #expect(!s.onMessage(.epochLease(late), now: t0).contains(.startEpoch(late)))
  let out = s.onShardFinished(epochReport(unit: 7), now: t0)
  #expect(out.first == .send(epochReport(unit: 7)))
  #expect(out.contains { if case .exit(0, _) = $0 { true } else { false } })
}

@Test func aNewEpochLease_callsOffAnEpochStillRunning_whoseCancelNeverArrived() {
  var s = session()
  _ = s.start(now: t0)
  _ = s.onMessage(welcome, now: t0)
  _ = s.onMessage(.epochLease(epochLease), now: t0)
  // The coordinator gave up on this worker (and on its epoch), then welcomed it back with a new one.
  var next = epochLease
  next.unit = 20
  #expect(s.onMessage(.epochLease(next), now: t0) == [.cancelEpoch(unit: 7), .startEpoch(next)])
  #expect(s.runningShards == [20])
  #expect(s.onShardFinished(epochReport(unit: 7), now: t0).isEmpty, "the old epoch's report is dropped")
  #expect(s.onShardFinished(epochReport(unit: 20), now: t0) == [.send(epochReport(unit: 20))])
}
