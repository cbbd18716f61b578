import SweepModel
import Testing

@testable import SweepProtocol

private let t0 = ContinuousClock.now

private func runs(_ n: Int) -> [RunSpec] {
  (0..<n).map {
    RunSpec(ordinal: $0, experiment: "geoff", variant: "v", parameters: ["i": .int($0)], seed: UInt64($0))
  }
}

/// A worker process's session bytes; each test worker name is its own process.
private func session(_ name: String) -> [UInt8] {
  Array(Array(name.utf8).prefix(WireLimits.sessionBytes))
    + [UInt8](repeating: 0, count: max(0, WireLimits.sessionBytes - name.utf8.count))
}

/// The identity the dispatcher gives the process `name` over a plaintext connection.
private func identity(_ name: String, authenticatedAs id: String? = nil) -> WorkerIdentity {
  WorkerIdentity(session: session(name), authenticatedID: id)
}

private func hello(_ name: String, slots: UInt32 = 1, build: String = "b1", machine: String = "m1")
  -> WireMessage
{
  .hello(
    WireMessage.Hello(
      protocolVersion: WireCodec.protocolVersion, buildID: build, name: name, slots: slots,
      session: session(name), machine: machine))
}

private func leases(_ directives: [Dispatcher.Directive]) -> [(WorkerID, WireMessage.Lease)] {
  directives.compactMap {
    if case .send(.lease(let lease), let to) = $0 { return (to, lease) }
    return nil
  }
}

private func result(_ lease: WireMessage.Lease, value: Double = 1) -> WireMessage {
  .result(
    WireMessage.RunResult(
      attempt: lease.attempt, key: lease.key, outcome: Outcome(metrics: [Metric("m", value)]), seconds: 0.1))
}

/// One lease per slot, so tests can count leases exactly.
private let noPrefetch: Dispatcher.Settings = {
  var settings = Dispatcher.Settings()
  settings.prefetch = 0
  return settings
}()

private let alice = WorkerID(Array("alice".utf8))
private let bob = WorkerID(Array("bob".utf8))

@Test func hello_isWelcomed_andGetsOneLeasePerSlot_journaledBeforeSent() {
  var d = Dispatcher(pending: runs(5), settings: noPrefetch)
  let out = d.onMessage(hello("alice", slots: 2), from: alice, now: t0)
  #expect(
    out.contains(
      .send(
        .welcome(WireMessage.Welcome(heartbeatIntervalMilliseconds: 500, peerTimeoutMilliseconds: 5000)),
        to: alice)))
  let leased = leases(out)
  #expect(leased.count == 2)
  #expect(leased.map(\.1.seed) == [0, 1])
  for (_, lease) in leased {
    let journalIndex = out.firstIndex(
      of: .journalLease(attempt: lease.attempt, key: lease.key, worker: "alice", holder: identity("alice")))
    let sendIndex = out.firstIndex(of: .send(.lease(lease), to: alice))
    #expect(journalIndex != nil && sendIndex != nil && journalIndex! < sendIndex!)
  }
}

@Test func hello_journalsTheWorkersMachineType_andAnotherMachineTypeIsWarnedOfOnce() {
  var d = Dispatcher(pending: runs(5), settings: noPrefetch)
  let first = d.onMessage(hello("alice", machine: "amd"), from: alice, now: t0)
  #expect(first.first == .journalWorker(holder: identity("alice"), name: "alice", machine: "amd"))
  func warnings(_ out: [Dispatcher.Directive]) -> [String] {
    out.compactMap { if case .log(let event) = $0, event.level == .warning { event.message } else { nil } }
  }
  #expect(warnings(first).isEmpty)
  #expect(warnings(d.onMessage(hello("bob", machine: "amd"), from: bob, now: t0)).isEmpty)
  let carol = WorkerID(Array("carol".utf8))
  let other = d.onMessage(hello("carol", machine: "intel"), from: carol, now: t0)
  #expect(other.contains(.journalWorker(holder: identity("carol"), name: "carol", machine: "intel")))
  #expect(warnings(other).count == 1 && warnings(other)[0].contains("another machine type"))
  // Warned once per machine type, not per worker.
  let dave = WorkerID(Array("dave".utf8))
  #expect(warnings(d.onMessage(hello("dave", machine: "intel"), from: dave, now: t0)).isEmpty)
  // A repeated hello journals nothing again.
  let again = d.onMessage(hello("alice", machine: "amd"), from: alice, now: t0)
  #expect(!again.contains(where: isJournalRecord))
}

@Test func result_isJournaled_andTheFreedSlotGetsTheNextRun() {
  var d = Dispatcher(pending: runs(3), settings: noPrefetch)
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let out = d.onMessage(result(first), from: alice, now: t0)
  #expect(
    out.first.map { if case .journalOutcome(let r, "alice") = $0 { r.key == first.key } else { false } }
      == true)
  #expect(leases(out).map(\.1.seed) == [1])
  #expect(d.progress.done == 1)
}

@Test func silentWorker_losesItsLeases_andTheRunIsLeasedAgainElsewhere() {
  var d = Dispatcher(pending: runs(1), settings: noPrefetch)
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  _ = d.onMessage(hello("bob"), from: bob, now: t0)
  _ = d.onMessage(.heartbeat, from: bob, now: t0 + .seconds(4))
  let out = d.onTick(now: t0 + .seconds(6))
  #expect(out.contains(.journalExpired(attempt: lease.attempt)))
  let again = leases(out)
  #expect(again.count == 1)
  #expect(again[0].0 == bob && again[0].1.key == lease.key && again[0].1.attempt != lease.attempt)
  #expect(d.progress.workers == 1 && d.progress.expired == 1)
}

@Test func lateResultOfExpiredAttempt_isKept_whenTheRunHasNoOutcomeYet_thenTheSecondIsDiscarded() {
  var d = Dispatcher(pending: runs(1), settings: noPrefetch)
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  _ = d.onMessage(hello("bob"), from: bob, now: t0 + .seconds(5))
  let second = leases(d.onTick(now: t0 + .seconds(6)))[0].1
  // Alice, given up on, greets again (she stopped hearing us) and resends her (expired) result
  // first: it is the run's one outcome.
  _ = d.onMessage(hello("alice"), from: alice, now: t0 + .seconds(7))
  let late = d.onMessage(result(first), from: alice, now: t0 + .seconds(7))
  #expect(late.contains { if case .journalOutcome = $0 { true } else { false } })
  let dup = d.onMessage(result(second), from: bob, now: t0 + .seconds(7))
  #expect(dup.contains(.journalDiscarded(attempt: second.attempt, key: second.key, worker: "bob")))
  #expect(!dup.contains { if case .journalOutcome = $0 { true } else { false } })
  #expect(d.progress.done == 1 && d.progress.discarded == 1 && d.isComplete)
}

@Test func poisonRun_isRetriedUpToTheLimit_thenFailed_andTheSweepGoesOn() {
  var settings = noPrefetch
  settings.retryLimit = 2
  var d = Dispatcher(pending: runs(2), settings: settings)
  var lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let poison = lease.key
  var finals: [Bool] = []
  var seen: [RunKey] = []
  while !d.isComplete {
    seen.append(lease.key)
    let out: [Dispatcher.Directive]
    if lease.key == poison {
      out = d.onMessage(
        .failure(WireMessage.RunFailure(attempt: lease.attempt, key: lease.key, message: "boom")),
        from: alice, now: t0)
      finals += out.compactMap { if case .journalFailure(_, _, let isFinal) = $0 { isFinal } else { nil } }
    } else {
      out = d.onMessage(result(lease), from: alice, now: t0)
    }
    guard let next = leases(out).first?.1 else { break }
    lease = next
  }
  #expect(finals == [false, true])
  #expect(d.progress.failed == 1 && d.progress.done == 1 && d.isComplete)
  // The retry waited behind the other run instead of blocking it.
  #expect(seen.count == 3 && seen[1] != poison)
}

@Test func mismatchedBuildOrProtocol_isRejectedWithAReadableReason_andGetsNoWork() {
  var settings = noPrefetch
  settings.requiredBuildID = "b1"
  var d = Dispatcher(pending: runs(1), settings: settings)
  let out = d.onMessage(hello("alice", build: "b2"), from: alice, now: t0)
  #expect(leases(out).isEmpty)
  #expect(
    out.contains {
      if case .send(.reject(let reason), alice) = $0 {
        reason.contains("b2") && reason.contains("b1")
      } else {
        false
      }
    })
  let old = WireMessage.hello(
    WireMessage.Hello(
      protocolVersion: 999, buildID: "b1", name: "bob", slots: 1, session: session("bob"), machine: "m1"))
  #expect(
    d.onMessage(old, from: bob, now: t0).contains { if case .send(.reject, bob) = $0 { true } else { false } }
  )
  #expect(d.progress.workers == 0)
}

@Test func goodbye_returnsTheWorkersRunsToPending_first() {
  var d = Dispatcher(pending: runs(3), settings: noPrefetch)
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  _ = d.onMessage(.goodbye(reason: "SIGTERM"), from: alice, now: t0)
  let again = leases(d.onMessage(hello("bob"), from: bob, now: t0))
  #expect(again.map(\.1.key) == [lease.key])
}

@Test func stop_sendsShutdownToEveryWorker_andLeasesNothingMore() {
  var d = Dispatcher(pending: runs(3), settings: noPrefetch)
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  #expect(d.stop() == [.send(.shutdown, to: alice)])
  #expect(leases(d.onMessage(result(lease), from: alice, now: t0)).isEmpty)
}

@Test func everyRunGetsExactlyOneOutcome_underRandomInterleavings() {
  // A seeded random schedule of joins, results, failures, silences and duplicate deliveries.
  var state: UInt64 = 0x9E37_79B9_7F4A_7C15
  func next(_ n: Int) -> Int {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Int((state >> 33) % UInt64(n))
  }
  for _ in 0..<50 {
    var d = Dispatcher(pending: runs(20), settings: noPrefetch)
    var now = t0
    var outcomes: [RunKey: Int] = [:]
    var inFlight: [(WorkerID, WireMessage.Lease)] = []
    let ids = (0..<4).map { WorkerID([UInt8($0)]) }
    func absorb(_ out: [Dispatcher.Directive]) {
      for directive in out {
        if case .journalOutcome(let r, _) = directive { outcomes[r.key, default: 0] += 1 }
      }
      inFlight += leases(out)
    }
    for id in ids { absorb(d.onMessage(hello("w\(id.bytes[0])", slots: 2), from: id, now: now)) }
    var steps = 0
    while !d.isComplete && steps < 10_000 {
      steps += 1
      now = now + .milliseconds(100 * next(20))
      switch next(10) {
      case 0...5 where !inFlight.isEmpty:
        let (id, lease) = inFlight.remove(at: next(inFlight.count))
        let message =
          next(8) == 0
          ? WireMessage.failure(WireMessage.RunFailure(attempt: lease.attempt, key: lease.key, message: "x"))
          : result(lease)
        absorb(d.onMessage(message, from: id, now: now))
        if next(5) == 0 { absorb(d.onMessage(message, from: id, now: now)) }  // duplicate delivery
      case 6:
        let id = ids[next(ids.count)]
        absorb(d.onMessage(hello("w\(id.bytes[0])", slots: 2), from: id, now: now))
      default:
        for id in ids where next(2) == 0 { absorb(d.onMessage(.heartbeat, from: id, now: now)) }
        absorb(d.onTick(now: now))
        if d.progress.workers == 0 { absorb(d.onMessage(hello("w0", slots: 2), from: ids[0], now: now)) }
      }
    }
    #expect(d.isComplete)
    #expect(outcomes.values.allSatisfy { $0 == 1 })
    #expect(outcomes.count + d.progress.failed == 20)
  }
}

@Test func everyReport_isAcknowledged_onlyAfterItIsJournaled() {
  var d = Dispatcher(pending: runs(2), settings: noPrefetch)
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let out = d.onMessage(result(first), from: alice, now: t0)
  let journaled = out.firstIndex { if case .journalOutcome = $0 { true } else { false } }
  let acked = out.firstIndex(of: .send(.ack(attempt: first.attempt), to: alice))
  #expect(journaled != nil && acked != nil && journaled! < acked!)
  // A duplicate is acknowledged too, so the worker stops resending it.
  #expect(
    d.onMessage(result(first), from: alice, now: t0).contains(.send(.ack(attempt: first.attempt), to: alice)))
  let second = leases(out)[0].1
  let failed = d.onMessage(
    .failure(WireMessage.RunFailure(attempt: second.attempt, key: second.key, message: "x")), from: alice,
    now: t0)
  #expect(failed.contains(.send(.ack(attempt: second.attempt), to: alice)))
}

@Test func forgedReport_forAnAttemptNeverLeased_neverReachesTheJournal() {
  var d = Dispatcher(pending: runs(2), settings: noPrefetch)
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let otherRun = runs(2)[1].key
  for forged in [
    result(WireMessage.Lease(attempt: 999, key: lease.key, experiment: "geoff", parameters: [:], seed: 0)),
    result(
      WireMessage.Lease(attempt: lease.attempt, key: otherRun, experiment: "geoff", parameters: [:], seed: 0)),
    .failure(WireMessage.RunFailure(attempt: 12345, key: otherRun, message: "x")),
  ] {
    let out = d.onMessage(forged, from: bob, now: t0)
    #expect(
      !out.contains {
        if case .journalOutcome = $0 { true } else if case .journalFailure = $0 { true } else { false }
      })
  }
  #expect(d.progress.refused == 3 && d.progress.done == 0 && d.progress.leased == 1)
  // The real result still counts.
  #expect(
    d.onMessage(result(lease), from: alice, now: t0).contains {
      if case .journalOutcome = $0 { true } else { false }
    })
}

@Test func resultOfAnEarlierCoordinatorsAttempt_isAccepted_forAPendingRun() {
  let run = runs(1)[0]
  var d = Dispatcher(
    pending: [run], firstAttempt: 50,
    priorAttempts: [41: Dispatcher.IssuedAttempt(key: run.key, holder: identity("alice"))],
    settings: noPrefetch)
  _ = d.onMessage(hello("alice"), from: alice, now: t0)
  let late = WireMessage.result(
    WireMessage.RunResult(attempt: 41, key: run.key, outcome: Outcome(), seconds: 1))
  #expect(
    d.onMessage(late, from: alice, now: t0).contains { if case .journalOutcome = $0 { true } else { false } })
  #expect(d.isComplete)
}

@Test func prefetch_queuesRunsBeyondTheSlots_andTheyComeBackIfTheWorkerIsLost() {
  var settings = Dispatcher.Settings()
  settings.prefetch = 2
  var d = Dispatcher(pending: runs(10), settings: settings)
  let leased = leases(d.onMessage(hello("alice", slots: 2), from: alice, now: t0))
  #expect(leased.count == 4)
  let out = d.onTick(now: t0 + .seconds(6))
  #expect(out.filter { if case .journalExpired = $0 { true } else { false } }.count == 4)
  // Bob's three leases (one slot + two queued) are Alice's lost runs, first in line.
  let again = leases(d.onMessage(hello("bob", slots: 1), from: bob, now: t0 + .seconds(6))).map(\.1.key)
  #expect(again.count == 3 && Set(again).isSubset(of: Set(leased.map(\.1.key))))
  #expect(d.progress.leased == 3)
}

@Test func repeatedHello_isWelcomedAgain_withoutExpiringOrDuplicatingLeases() {
  var d = Dispatcher(pending: runs(3), settings: noPrefetch)
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))
  // The second greeting crossed our welcome on the wire.
  let out = d.onMessage(hello("alice"), from: alice, now: t0 + .milliseconds(5))
  #expect(leases(out).isEmpty)
  #expect(!out.contains { if case .journalExpired = $0 { true } else { false } })
  #expect(out.contains { if case .send(.welcome, alice) = $0 { true } else { false } })
  #expect(first.count == 1 && d.progress.leased == 1 && d.progress.workers == 1)
}

// MARK: - Chained runs

private func chained(segmentSteps: Int = 10) -> Dispatcher.Settings {
  var settings = noPrefetch
  settings.segmentSteps = segmentSteps
  return settings
}

private func segment(_ lease: WireMessage.Lease, steps: UInt64, of total: UInt64 = 30) -> WireMessage {
  .segment(
    WireMessage.SegmentReport(
      attempt: lease.attempt, key: lease.key, checkpoint: [UInt8(steps)], stepsDone: steps, totalSteps: total,
      seconds: 0.1))
}

@Test func chain_afterASegment_isJournaled_acked_andContinuesOnTheFreeWorker_fromItsCheckpoint() {
  var d = Dispatcher(pending: runs(1), settings: chained())
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  #expect(first.checkpoint == nil && first.maxSteps == 10)
  _ = d.onMessage(hello("bob"), from: bob, now: t0)
  let out = d.onMessage(segment(first, steps: 10), from: alice, now: t0)
  let journal = out.firstIndex(
    of: .journalCheckpoint(attempt: first.attempt, key: first.key, bytes: [10], stepsDone: 10))
  let ack = out.firstIndex(of: .send(.ack(attempt: first.attempt), to: alice))
  #expect(journal != nil && ack != nil && journal! < ack!)
  // Alice is first in the worker order and free again: she takes the next segment.
  let next = leases(out)
  #expect(next.count == 1)
  #expect(next[0].1.key == first.key && next[0].1.attempt != first.attempt)
  #expect(next[0].1.checkpoint == [10] && next[0].1.maxSteps == 10)
  #expect(d.progress.segments == 1 && d.progress.leased == 1 && d.progress.done == 0)
}

@Test func chain_segmentsCountTheirShareOfTheRunsSteps_asWorkDone() {
  var d = Dispatcher(pending: runs(2), settings: chained())
  let a = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let b = leases(d.onMessage(hello("bob"), from: bob, now: t0))[0].1
  let next = leases(d.onMessage(segment(a, steps: 10), from: alice, now: t0))[0].1
  #expect(abs(d.progress.workDoneHere - 1.0 / 3) < 1e-12 && abs(d.progress.workInProgress - 1.0 / 3) < 1e-12)
  _ = d.onMessage(segment(next, steps: 20), from: alice, now: t0)
  #expect(abs(d.progress.workDoneHere - 2.0 / 3) < 1e-12 && abs(d.progress.workInProgress - 2.0 / 3) < 1e-12)
  // A run that ends counts what its segments left; one without segments counts whole.
  _ = d.onMessage(result(b), from: bob, now: t0)
  #expect(abs(d.progress.workDoneHere - 5.0 / 3) < 1e-12 && d.progress.completedHere == 1)
  let last = d.onMessage(segment(next, steps: 20), from: alice, now: t0)
  #expect(d.progress.staleSegments == 1 && abs(d.progress.workDoneHere - 5.0 / 3) < 1e-12, "\(last)")

  // A chain resumed from a journaled checkpoint counts only the steps done here.
  var resumed = Dispatcher(
    pending: runs(1), checkpoints: [runs(1)[0].key: .init(stepsDone: 15, bytes: [15])], settings: chained())
  let c = leases(resumed.onMessage(hello("alice"), from: alice, now: t0))[0].1
  _ = resumed.onMessage(segment(c, steps: 25), from: alice, now: t0)
  #expect(abs(resumed.progress.workDoneHere - 1.0 / 3) < 1e-12)
  #expect(abs(resumed.progress.workInProgress - 25.0 / 30) < 1e-12)
}

@Test func chain_continuesOnAnotherFreeWorker_andJumpsTheQueue() {
  var d = Dispatcher(pending: runs(3), settings: chained())
  let a = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1  // run 0
  let b = leases(d.onMessage(hello("bob"), from: bob, now: t0))[0].1  // run 1
  #expect(a.seed == 0 && b.seed == 1)
  // Bob ends a segment of run 1: it goes out again before run 2, which was queued first.
  let again = leases(d.onMessage(segment(b, steps: 10), from: bob, now: t0))
  #expect(again.count == 1 && again[0].0 == bob && again[0].1.seed == 1 && again[0].1.checkpoint == [10])
  // Alice finishes run 0 and takes run 2; then Bob's next segment goes to whoever is free: Alice
  // is busy, so it is Bob again; once Alice is free and first in line, she continues Bob's chain.
  let c = leases(d.onMessage(result(a), from: alice, now: t0))[0].1
  #expect(c.seed == 2)
  _ = d.onMessage(result(c), from: alice, now: t0)  // Alice idle, nothing pending
  let moved = leases(d.onMessage(segment(again[0].1, steps: 20), from: bob, now: t0))
  #expect(moved.count == 1 && moved[0].0 == alice)
  #expect(moved[0].1.key == b.key && moved[0].1.checkpoint == [20])
  #expect(d.progress.segments == 2 && d.progress.done == 2)
}

@Test func chain_staleSegmentReport_isAcked_butNeverOverwritesTheNewerCheckpoint() {
  var d = Dispatcher(pending: runs(1), settings: chained())
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let second = leases(d.onMessage(segment(first, steps: 10), from: alice, now: t0))[0].1
  // A duplicate of the first report (resent after a re-welcome): acknowledged, nothing journaled.
  let duplicate = d.onMessage(segment(first, steps: 10), from: alice, now: t0)
  #expect(duplicate.contains(.send(.ack(attempt: first.attempt), to: alice)))
  #expect(!duplicate.contains { if case .journalCheckpoint = $0 { true } else { false } })
  #expect(leases(duplicate).isEmpty)
  // An old attempt claiming more steps is not the run's latest attempt: ignored too.
  let old = d.onMessage(segment(first, steps: 25), from: alice, now: t0)
  #expect(!old.contains { if case .journalCheckpoint = $0 { true } else { false } })
  #expect(d.progress.staleSegments == 2)
  // The live attempt continues from checkpoint 10, and its own report advances the chain.
  #expect(second.checkpoint == [10])
  let third = leases(d.onMessage(segment(second, steps: 20), from: alice, now: t0))[0].1
  #expect(third.checkpoint == [20])
}

@Test func chain_workerLostMidSegment_isReleasedFromTheLastCheckpoint_andGetsExactlyOneOutcome() {
  var d = Dispatcher(pending: runs(1), settings: chained())
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  _ = d.onMessage(hello("bob"), from: bob, now: t0)
  let second = leases(d.onMessage(segment(first, steps: 10), from: alice, now: t0))[0].1
  #expect(second.checkpoint == [10])
  // Alice goes silent mid-segment; Bob keeps talking.
  _ = d.onMessage(.heartbeat, from: bob, now: t0 + .seconds(4))
  let out = d.onTick(now: t0 + .seconds(6))
  #expect(out.contains(.journalExpired(attempt: second.attempt)))
  let again = leases(out)
  #expect(again.count == 1 && again[0].0 == bob)
  #expect(again[0].1.checkpoint == [10] && again[0].1.key == first.key)
  let finished = d.onMessage(result(again[0].1, value: 2), from: bob, now: t0 + .seconds(6))
  #expect(finished.contains { if case .journalOutcome = $0 { true } else { false } })
  // Alice comes back with the lost segment's report and then its result: neither changes anything.
  let late = d.onMessage(segment(second, steps: 20), from: alice, now: t0 + .seconds(7))
  #expect(!late.contains { if case .journalCheckpoint = $0 { true } else { false } })
  let lateResult = d.onMessage(result(second, value: 3), from: alice, now: t0 + .seconds(7))
  #expect(!lateResult.contains { if case .journalOutcome = $0 { true } else { false } })
  #expect(d.progress.done == 1 && d.isComplete)
}

@Test func chain_resumedFromTheJournal_leasesFromTheJournaledCheckpoint() {
  let spec = runs(1)[0]
  var d = Dispatcher(
    pending: [spec], firstAttempt: 5,
    priorAttempts: [4: Dispatcher.IssuedAttempt(key: spec.key, holder: identity("bob"))],
    checkpoints: [spec.key: Dispatcher.Checkpoint(stepsDone: 20, bytes: [20])], settings: chained())
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  #expect(lease.attempt == 5 && lease.checkpoint == [20])
  // The previous coordinator's attempt 4 resends a report older than the journaled checkpoint.
  _ = d.onMessage(hello("bob"), from: bob, now: t0)
  let old = WireMessage.Lease(
    attempt: 4, key: spec.key, experiment: "geoff", parameters: spec.parameters, seed: 0)
  let out = d.onMessage(segment(old, steps: 10), from: bob, now: t0)
  #expect(out.contains(.send(.ack(attempt: 4), to: bob)))
  #expect(!out.contains { if case .journalCheckpoint = $0 { true } else { false } })
}

@Test func unchainedSweep_leasesWholeRuns() {
  var d = Dispatcher(pending: runs(1), settings: noPrefetch)
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  #expect(lease.maxSteps == 0 && lease.checkpoint == nil)
}

@Test func drainingWorker_getsNoMoreLeases_butItsResultsCount() {
  var d = Dispatcher(pending: runs(3))
  let held = leases(d.onMessage(hello("alice"), from: alice, now: t0)).map(\.1)
  #expect(held.count == 2)  // one slot + one prefetched
  _ = d.onMessage(.draining, from: alice, now: t0)
  let out = d.onMessage(result(held[0]), from: alice, now: t0)
  #expect(out.contains { if case .journalOutcome = $0 { true } else { false } })
  #expect(leases(out).isEmpty)
  #expect(d.progress.slots == 0)
}

@Test func afterStopping_anyoneWhoStillTalks_isToldToShutDown_whileResultsAreStillJournaled() {
  var d = Dispatcher(pending: runs(2), settings: noPrefetch)
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  #expect(d.lastHeardFromStranger == nil)
  _ = d.stop()
  // Bob, given up on earlier, comes back with a heartbeat and then a hello: he is welcomed (so he
  // resends what he finished, which counts only from a worker that greeted) and told to stop.
  #expect(d.onMessage(.heartbeat, from: bob, now: t0 + .seconds(1)) == [.send(.shutdown, to: bob)])
  let greeted = d.onMessage(hello("bob"), from: bob, now: t0 + .seconds(1))
  #expect(greeted.contains { if case .send(.welcome, bob) = $0 { true } else { false } })
  #expect(greeted.last == .send(.shutdown, to: bob) && leases(greeted).isEmpty)
  #expect(d.lastHeardFromStranger == t0 + .seconds(1))
  #expect(
    d.onMessage(result(lease), from: alice, now: t0 + .seconds(1)).contains {
      if case .journalOutcome = $0 { true } else { false }
    })
}

@Test func atASweepsEnd_noRunWaitsQueuedWhileAnExpectedOrIdleWorkerCouldTakeIt() {
  // Two runs left, two local workers expected: the first to greet takes one run, not both.
  var settings = Dispatcher.Settings()
  settings.prefetch = 1
  settings.expectedWorkers = 2
  var d = Dispatcher(pending: runs(2), settings: settings)
  #expect(leases(d.onMessage(hello("alice", slots: 1), from: alice, now: t0)).count == 1)
  #expect(leases(d.onMessage(hello("bob", slots: 1), from: bob, now: t0)).count == 1)
  // Without the expectation, the first worker queues the second run behind its first.
  settings.expectedWorkers = 0
  var e = Dispatcher(pending: runs(2), settings: settings)
  #expect(leases(e.onMessage(hello("alice", slots: 1), from: alice, now: t0)).count == 2)
  // Once runs are known to be long, nothing is queued beyond the slots.
  var f = Dispatcher(pending: runs(10), settings: settings)
  var held = leases(f.onMessage(hello("alice", slots: 1), from: alice, now: t0)).map(\.1)
  #expect(held.count == 2)
  let first = held.removeFirst()
  let slow = WireMessage.result(
    WireMessage.RunResult(attempt: first.attempt, key: first.key, outcome: Outcome(), seconds: 5))
  held += leases(f.onMessage(slow, from: alice, now: t0 + .seconds(5))).map(\.1)
  #expect(held.count == 1, "a 5 s run leaves only the slot's lease")
}

@Test func shortRuns_areQueuedDeeper_untilOneSlowRunMakesTheQueueShallowAgain() {
  var settings = Dispatcher.Settings()
  settings.prefetch = 1
  settings.queuedWork = .milliseconds(25)
  settings.maxQueuedPerWorker = 16
  var d = Dispatcher(pending: runs(200), settings: settings)
  var held = leases(d.onMessage(hello("alice", slots: 2), from: alice, now: t0)).map(\.1)
  #expect(held.count == 3)  // 2 slots + prefetch 1: nothing is known about run times yet
  func report(_ lease: WireMessage.Lease, seconds: Double) {
    held.removeAll { $0.attempt == lease.attempt }
    let message = WireMessage.result(
      WireMessage.RunResult(attempt: lease.attempt, key: lease.key, outcome: Outcome(), seconds: seconds))
    held += leases(d.onMessage(message, from: alice, now: t0)).map(\.1)
  }
  // 1 ms runs: 25 per slot would fill 25 ms, capped at 16 for the worker: 2 + 16.
  report(held[0], seconds: 0.001)
  #expect(held.count == 18)
  // One 100 ms run: no more leases until the worker is back to 2 + 1.
  report(held[0], seconds: 0.1)
  #expect(held.count == 17)
  while held.count > 3 { report(held[0], seconds: 0.001) }
  report(held[0], seconds: 0.001)
  #expect(held.count == 3)
  // Prefetch 0 keeps one lease per slot whatever the run times.
  var none = Dispatcher(pending: runs(10), settings: noPrefetch)
  let first = leases(none.onMessage(hello("bob", slots: 2), from: bob, now: t0)).map(\.1)
  let zero = WireMessage.result(
    WireMessage.RunResult(attempt: first[0].attempt, key: first[0].key, outcome: Outcome(), seconds: 0))
  #expect(leases(none.onMessage(zero, from: bob, now: t0)).count == 1)
}

@Test func workerGivenUpOn_keepsTheStoppedCoordinatorExpectingIt_forTwiceTheTimeout() {
  var d = Dispatcher(pending: runs(2), settings: noPrefetch)  // worker timeout 5 s
  _ = d.onMessage(hello("alice"), from: alice, now: t0)
  _ = d.onMessage(hello("bob"), from: bob, now: t0)
  #expect(!d.isExpectingStrangers(now: t0))
  // Alice goes silent (a cut link) and is given up on at 6 s; Bob keeps talking.
  _ = d.onMessage(.heartbeat, from: bob, now: t0 + .seconds(6))
  _ = d.onTick(now: t0 + .seconds(6))
  #expect(d.lastLostWorker == t0 + .seconds(6))
  _ = d.stop()
  #expect(d.isExpectingStrangers(now: t0 + .seconds(15)))
  #expect(!d.isExpectingStrangers(now: t0 + .seconds(16)))
  // A stranger who speaks keeps it expecting for one timeout from then.
  _ = d.onMessage(.heartbeat, from: alice, now: t0 + .seconds(20))
  #expect(d.isExpectingStrangers(now: t0 + .seconds(24)))
  #expect(!d.isExpectingStrangers(now: t0 + .seconds(25)))
}

// MARK: - Trust: reports count only from the worker process that holds the attempt

private func isJournalRecord(_ directive: Dispatcher.Directive) -> Bool { directive.isJournalRecord }

private func acks(_ directives: [Dispatcher.Directive]) -> [UInt64] {
  directives.compactMap { if case .send(.ack(let attempt), _) = $0 { attempt } else { nil } }
}

@Test func reportsFromAPeerThatNeverGreeted_areRefused_unjournaled_unacknowledged_andLoggedOnce() {
  var d = Dispatcher(pending: runs(4), settings: noPrefetch)
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let mallory = WorkerID(Array("mallory".utf8))
  // Real attempt ids and run keys, as read from the journal: a result, a segment and a failure.
  let forged: [WireMessage] = [
    result(lease, value: 9892),
    segment(lease, steps: 10),
    .failure(WireMessage.RunFailure(attempt: lease.attempt, key: lease.key, message: "x")),
    result(lease, value: 1),
  ]
  var out: [Dispatcher.Directive] = []
  for message in forged {
    out += d.onMessage(message, from: mallory, now: t0, peer: PeerInfo(address: "10.0.0.66"))
  }
  #expect(!out.contains(where: isJournalRecord))
  #expect(acks(out).isEmpty)
  let logs = out.compactMap { if case .log(let event) = $0 { event } else { nil } }
  #expect(logs.count == 1)
  #expect(logs.first?.metadata.contains { $0 == ("peer", "10.0.0.66") } == true)
  #expect(d.progress.refused == 4 && d.progress.done == 0 && d.progress.leased == 1)
  // Alice's own result is the run's outcome.
  #expect(
    d.onMessage(result(lease), from: alice, now: t0).contains {
      if case .journalOutcome = $0 { true } else { false }
    })
}

@Test func reportForAnotherWorkersAttempt_isRefused_evenFromAWorkerThatGreeted() {
  var d = Dispatcher(pending: runs(4), settings: noPrefetch)
  let aliceLease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let bobLease = leases(d.onMessage(hello("bob"), from: bob, now: t0))[0].1
  let out =
    d.onMessage(result(aliceLease), from: bob, now: t0)
    + d.onMessage(
      .failure(WireMessage.RunFailure(attempt: aliceLease.attempt, key: aliceLease.key, message: "x")),
      from: bob, now: t0)
  #expect(!out.contains(where: isJournalRecord) && acks(out).isEmpty)
  #expect(d.progress.refused == 2)
  // Bob's own attempt, but named with Alice's run: refused too.
  let mixed = WireMessage.result(
    WireMessage.RunResult(attempt: bobLease.attempt, key: aliceLease.key, outcome: Outcome(), seconds: 0))
  #expect(!d.onMessage(mixed, from: bob, now: t0).contains(where: isJournalRecord))
  #expect(
    d.onMessage(result(bobLease), from: bob, now: t0).contains {
      if case .journalOutcome = $0 { true } else { false }
    })
}

@Test func report_overAConnectionAuthenticatedAsAnotherKey_isRefused() {
  var d = Dispatcher(pending: runs(2), settings: noPrefetch)
  let lease = leases(
    d.onMessage(hello("alice"), from: alice, now: t0, peer: PeerInfo(authenticatedID: "worker-a")))[0].1
  // The same routing id, taken over by a connection with another key (or none).
  for peer in [PeerInfo(authenticatedID: "worker-b"), PeerInfo()] {
    #expect(!d.onMessage(result(lease), from: alice, now: t0, peer: peer).contains(where: isJournalRecord))
  }
  #expect(d.progress.refused == 2)
  let out = d.onMessage(result(lease), from: alice, now: t0, peer: PeerInfo(authenticatedID: "worker-a"))
  #expect(out.contains { if case .journalOutcome = $0 { true } else { false } })
}

@Test func lateResult_ofTheSameProcess_overANewConnection_counts_butAnotherProcessesDoesNot() {
  var d = Dispatcher(pending: runs(1), settings: noPrefetch)
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  // Alice's link drops; she reconnects (a new routing id) and greets with the same session.
  let aliceAgain = WorkerID(Array("alice-2".utf8))
  let impostor = WorkerID(Array("eve".utf8))
  _ = d.onMessage(hello("alice"), from: aliceAgain, now: t0)
  _ = d.onMessage(hello("eve"), from: impostor, now: t0)
  #expect(!d.onMessage(result(lease), from: impostor, now: t0).contains(where: isJournalRecord))
  let out = d.onMessage(result(lease), from: aliceAgain, now: t0)
  #expect(out.contains { if case .journalOutcome = $0 { true } else { false } })
  #expect(d.isComplete)
}

@Test func attemptOfAnEarlierCoordinator_isCreditedOnlyToTheProcessItWasLeasedTo() {
  let run = runs(1)[0]
  var d = Dispatcher(
    pending: [run], firstAttempt: 50,
    priorAttempts: [
      41: Dispatcher.IssuedAttempt(key: run.key, holder: identity("alice")),
      42: Dispatcher.IssuedAttempt(key: run.key, holder: nil),  // journaled before holders were kept
    ], settings: noPrefetch)
  _ = d.onMessage(hello("bob"), from: bob, now: t0)
  let late = WireMessage.result(
    WireMessage.RunResult(attempt: 41, key: run.key, outcome: Outcome(), seconds: 1))
  let unknownHolder = WireMessage.result(
    WireMessage.RunResult(attempt: 42, key: run.key, outcome: Outcome(), seconds: 1))
  #expect(!d.onMessage(late, from: bob, now: t0).contains(where: isJournalRecord))
  #expect(!d.onMessage(unknownHolder, from: bob, now: t0).contains(where: isJournalRecord))
  _ = d.onMessage(hello("alice"), from: alice, now: t0)
  #expect(
    d.onMessage(late, from: alice, now: t0).contains { if case .journalOutcome = $0 { true } else { false } })
}

// MARK: - Lease hogs

@Test func workerAnnouncingHugeSlots_isCapped_andHoldsOnlyItsAllowance_untilItReports() {
  var settings = Dispatcher.Settings()
  settings.initialLeaseAllowance = 64
  var d = Dispatcher(pending: runs(400), settings: settings)
  let fake = WorkerID(Array("fake".utf8))
  let joined = d.onMessage(hello("fake", slots: .max), from: fake, now: t0)
  #expect(leases(joined).count == 64)
  #expect(d.progress.slots == 1024)
  #expect(
    joined.contains {
      if case .log(let e) = $0 { e.level == .warning && e.message.contains("4294967295") } else { false }
    })
  // The real worker gets work at once.
  var held = leases(d.onMessage(hello("alice", slots: 2), from: alice, now: t0)).map(\.1)
  #expect(held.count == 3)  // 2 slots + prefetch 1
  // Each report doubles the allowance up to slots + queue: a fast worker's queue is at most 256.
  for _ in 0..<20 {
    let lease = held.removeFirst()
    let message = WireMessage.result(
      WireMessage.RunResult(attempt: lease.attempt, key: lease.key, outcome: Outcome(), seconds: 0.000_01))
    held += leases(d.onMessage(message, from: alice, now: t0)).map(\.1)
  }
  #expect(held.count == 2 + 256)
  #expect(d.workerSummaries.first { $0.name == "fake" }?.leases == 64)
}

@Test func workerHoldingLeasesWithoutReporting_losesThemAfterTheStallDeadline_andGetsNoMore_untilItReports() {
  var settings = noPrefetch
  settings.minimumStallTimeout = .seconds(30)
  settings.stallFactor = 10
  settings.workerTimeout = .seconds(3600)  // heartbeats keep both alive; only the stall matters
  var d = Dispatcher(pending: runs(6), settings: settings)
  let fake = WorkerID(Array("fake".utf8))
  let hogged = leases(d.onMessage(hello("fake", slots: 2), from: fake, now: t0)).map(\.1)
  #expect(hogged.count == 2)
  // Nothing is measured yet: no deadline applies, however long.
  #expect(!d.onTick(now: t0 + .seconds(100)).contains(where: isJournalRecord))
  var aliceLease = leases(d.onMessage(hello("alice"), from: alice, now: t0 + .seconds(100)))[0].1
  // Alice reports 2 s runs: the deadline is max(30 s, 10 x 2 s) = 30 s from the hog's last lease.
  func finish(at time: ContinuousClock.Instant) -> [Dispatcher.Directive] {
    let message = WireMessage.result(
      WireMessage.RunResult(attempt: aliceLease.attempt, key: aliceLease.key, outcome: Outcome(), seconds: 2))
    let out = d.onMessage(message, from: alice, now: time)
    if let next = leases(out).first { aliceLease = next.1 }
    return out
  }
  _ = finish(at: t0 + .seconds(102))
  _ = d.onMessage(.heartbeat, from: fake, now: t0 + .seconds(120))
  let tick = d.onTick(now: t0 + .seconds(120))
  #expect(tick.filter { if case .journalExpired = $0 { true } else { false } }.count == 2)
  #expect(d.progress.reclaimed == 2)
  // Its runs go to Alice next, and the hog gets nothing more.
  let next = leases(finish(at: t0 + .seconds(121)))
  #expect(next.count == 1 && hogged.map(\.key).contains(next[0].1.key))
  #expect(d.workerSummaries.first { $0.name == "fake" }?.leases == 0)
  // A late result of its own makes it a worker again (and is the run's outcome if first).
  let late = d.onMessage(result(hogged[1]), from: fake, now: t0 + .seconds(122))
  #expect(late.contains { if case .journalOutcome = $0 { true } else { false } })
  #expect(leases(late).count == 2)
}

@Test func lateResult_overTheConnectionOfAWorkerGivenUpOn_counts_beforeItGreetsAgain() {
  var d = Dispatcher(pending: runs(1), settings: noPrefetch)
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  _ = d.onMessage(hello("bob"), from: bob, now: t0 + .seconds(5))
  let second = leases(d.onTick(now: t0 + .seconds(6)))[0].1  // Alice is given up on
  // A cut link comes back: what Alice sent meanwhile arrives over her old connection.
  let late = d.onMessage(result(first), from: alice, now: t0 + .seconds(7))
  #expect(late.contains { if case .journalOutcome = $0 { true } else { false } })
  #expect(late.contains(.send(.ack(attempt: first.attempt), to: alice)))
  // Another peer on another connection cannot use Alice's attempt.
  let mallory = WorkerID(Array("mallory".utf8))
  #expect(!d.onMessage(result(second), from: mallory, now: t0 + .seconds(7)).contains(where: isJournalRecord))
  #expect(d.isComplete)
}

// MARK: - Honest counts

@Test func progress_splitsLeasesIntoRunningAndQueued_andTheCountsAddUp() {
  var settings = Dispatcher.Settings()
  settings.prefetch = 2
  var d = Dispatcher(pending: runs(10), settings: settings)
  _ = d.onMessage(hello("alice", slots: 2), from: alice, now: t0)
  _ = d.onMessage(hello("bob", slots: 1), from: bob, now: t0)
  let p = d.progress
  #expect(p.leased == 7 && p.running == 3 && p.queued == 4 && p.pending == 3)
  #expect(p.done + p.failed + p.running + p.queued + p.pending == p.total)
  // Stopping ends every lease in the journal: a stopped sweep shows nothing running.
  _ = d.stop()
  let ended = d.endLeases()
  #expect(ended.filter { if case .journalExpired = $0 { true } else { false } }.count == 7)
  #expect(d.progress.leased == 0 && d.progress.running == 0 && d.progress.pending == 10)
}

@Test func forgedReports_forRealAttempts_underRandomInterleavings_neverReachTheJournal() {
  // The random schedule of the exactly-one-outcome test, with a forger in the mix: it copies real
  // attempt ids and run keys into results, segments, failures and acks, sent from a peer that never
  // greeted and from other workers that did.
  var state: UInt64 = 0x2545_F491_4F6C_DD1D
  func next(_ n: Int) -> Int {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Int((state >> 33) % UInt64(n))
  }
  for _ in 0..<30 {
    var d = Dispatcher(pending: runs(20), settings: chained(segmentSteps: 10))
    var now = t0
    var inFlight: [(WorkerID, WireMessage.Lease)] = []
    var holder: [UInt64: WorkerID] = [:]
    var forged = 0
    let ids = (0..<3).map { WorkerID([UInt8($0)]) }
    let stranger = WorkerID(Array("stranger".utf8))
    func absorb(_ out: [Dispatcher.Directive], from sender: WorkerID?, forged isForged: Bool) {
      for directive in out {
        switch directive {
        case .journalOutcome(let r, let worker):
          #expect(!isForged && worker == "w\(holder[r.attempt]!.bytes[0])")
        case .journalFailure, .journalCheckpoint, .journalDiscarded:
          #expect(!isForged)
        case .send(.ack, let to):
          #expect(!isForged && to == sender)
        default: break
        }
      }
      for (id, lease) in leases(out) { holder[lease.attempt] = id }
      inFlight += leases(out)
    }
    for id in ids {
      absorb(d.onMessage(hello("w\(id.bytes[0])", slots: 2), from: id, now: now), from: id, forged: false)
    }
    var steps = 0
    while !d.isComplete && steps < 10_000 {
      steps += 1
      now = now + .milliseconds(100 * next(20))
      guard !inFlight.isEmpty else {
        absorb(d.onTick(now: now), from: nil, forged: false)
        if d.progress.workers == 0 {
          absorb(d.onMessage(hello("w0", slots: 2), from: ids[0], now: now), from: ids[0], forged: false)
        }
        continue
      }
      let (id, lease) = inFlight[next(inFlight.count)]
      switch next(6) {
      case 0, 1:
        // A forger: a stranger, or a worker that did not get this lease.
        let others = ids.filter { $0 != id }
        let forger = next(2) == 0 ? stranger : others[next(others.count)]
        let message: WireMessage =
          switch next(4) {
          case 0: result(lease, value: 9892)
          case 1: segment(lease, steps: 10)
          case 2: .failure(WireMessage.RunFailure(attempt: lease.attempt, key: lease.key, message: "forged"))
          default: .ack(attempt: lease.attempt)
          }
        forged += 1
        absorb(d.onMessage(message, from: forger, now: now), from: forger, forged: true)
      case 2, 3:
        inFlight.removeAll { $0.1.attempt == lease.attempt }
        absorb(d.onMessage(result(lease), from: id, now: now), from: id, forged: false)
      default:
        for worker in ids {
          absorb(d.onMessage(.heartbeat, from: worker, now: now), from: worker, forged: false)
        }
        absorb(d.onTick(now: now), from: nil, forged: false)
      }
    }
    #expect(d.isComplete && forged > 0)
  }
}

private func refusal(_ lease: WireMessage.Lease) -> WireMessage {
  .refusal(WireMessage.RunFailure(attempt: lease.attempt, key: lease.key, message: "data differs"))
}

@Test func refusedRun_goesToAnotherWorker_neverBackToTheRefuser_andIsNotAFailure() {
  var settings = noPrefetch
  settings.retryLimit = 1
  var d = Dispatcher(pending: runs(3), settings: settings)
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  var queue = leases(d.onMessage(hello("bob"), from: bob, now: t0))
  let out = d.onMessage(refusal(first), from: alice, now: t0)
  #expect(out.contains(.send(.ack(attempt: first.attempt), to: alice)))
  #expect(out.contains(.journalExpired(attempt: first.attempt)))
  #expect(!out.contains { if case .journalFailure = $0 { true } else { false } })
  #expect(out.contains { if case .log(let e) = $0 { e.level == .warning } else { false } })
  // Alice, free again, gets another run; the refused one waits for Bob.
  let next = leases(out)
  #expect(next.count == 1 && next[0].0 == alice && next[0].1.key != first.key)
  #expect(d.progress.failed == 0 && d.progress.failedAttempts == 0 && d.progress.refusedLeases == 1)
  // Run everything to the end: the refused run is run by Bob.
  queue += next
  var holder: [RunKey: WorkerID] = [:]
  while let (worker, lease) = queue.first {
    queue.removeFirst()
    holder[lease.key] = worker
    queue += leases(d.onMessage(result(lease), from: worker, now: t0))
  }
  #expect(d.isComplete && d.progress.done == 3 && d.progress.failed == 0)
  #expect(holder[first.key] == bob)
}

@Test func runEveryWorkerRefused_failsAtOnce_orWaitsForAWorkerThatCanRunIt() {
  // Local workers (the default): nobody else will come, so the run fails, journaled as final.
  var d = Dispatcher(pending: runs(1), settings: noPrefetch)
  let lease = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let out = d.onMessage(refusal(lease), from: alice, now: t0)
  #expect(out.contains { if case .journalFailure(_, "alice", true) = $0 { true } else { false } })
  #expect(d.isComplete && d.progress.failed == 1 && leases(out).isEmpty)

  // A cluster: the run waits, logged once, and goes to the first worker that can run it.
  var settings = noPrefetch
  settings.waitsForCapableWorkers = true
  var w = Dispatcher(pending: runs(1), settings: settings)
  let first = leases(w.onMessage(hello("alice"), from: alice, now: t0))[0].1
  let waiting = w.onMessage(refusal(first), from: alice, now: t0)
  #expect(waiting.contains { if case .log(let e) = $0 { e.level == .error } else { false } })
  #expect(leases(waiting).isEmpty && leases(w.onTick(now: t0 + .seconds(1))).isEmpty)
  #expect(!w.isComplete && w.progress.pending == 1)
  let bobs = leases(w.onMessage(hello("bob"), from: bob, now: t0 + .seconds(1)))
  #expect(bobs.count == 1 && bobs[0].0 == bob && bobs[0].1.key == first.key)
  // A refusal naming an attempt leased to someone else is refused like a forged report.
  let forged = w.onMessage(refusal(bobs[0].1), from: alice, now: t0 + .seconds(1))
  #expect(!forged.contains { if case .journalExpired = $0 { true } else { false } })
  #expect(w.progress.refused == 1)
  _ = w.onMessage(result(bobs[0].1), from: bob, now: t0 + .seconds(1))
  #expect(w.isComplete && w.progress.done == 1)
}

// MARK: - Runs added while serving (sweep graphs)

/// Runs that consume the artifacts `inputs` (SHA-256 strings), numbered from `first`.
private func consumers(_ n: Int, from first: Int, inputs: (Int) -> [String]) -> [RunSpec] {
  (first..<first + n).map {
    var run = RunSpec(
      ordinal: $0, experiment: "noop-digest", variant: "use", parameters: ["i": .int($0)], seed: UInt64($0))
    run.inputs = inputs($0)
    return run
  }
}

@Test func addedRuns_areJournaledBeforeTheirLeases_goFirst_andCountOnce() {
  var d = Dispatcher(pending: runs(3), settings: noPrefetch)
  let first = leases(d.onMessage(hello("alice"), from: alice, now: t0))[0].1
  // The outcome of the first run completes two consumers, one of them journaled done already.
  let added = consumers(2, from: 3) { _ in [] }
  let outcome = d.onMessage(result(first), from: alice, now: t0)
  #expect(leases(outcome).count == 1)
  let out = d.add(pending: [added[0]], done: [added[1]])
  #expect(out.first == .journalRuns([added[1], added[0]]))
  #expect(d.progress.total == 5 && d.progress.done == 2)
  // The added run waits only for the lease in flight; then it goes before runs 1 and 2.
  let next = leases(d.onMessage(result(leases(outcome)[0].1), from: alice, now: t0))
  #expect(next.map(\.1.key) == [added[0].key])
  // Adding a run the dispatcher knows does nothing.
  #expect(d.add(pending: [added[0]]).isEmpty && d.progress.total == 5)
}

@Test func aWorkerHoldingARunsInputs_getsThatRunBeforeOthers() {
  let a = String(repeating: "a", count: 64)
  let b = String(repeating: "b", count: 64)
  var d = Dispatcher(pending: [], alreadyDone: 0, settings: noPrefetch)
  _ = d.onMessage(hello("alice"), from: alice, now: t0)
  _ = d.onMessage(hello("bob"), from: bob, now: t0)
  // Queued in the order b-input, a-input, b-input, a-input (the first goes first).
  let added = consumers(4, from: 0) { [$0 % 2 == 0 ? b : a] }
  let first = leases(d.add(pending: added))
  #expect(first.map(\.0) == [alice, bob])
  #expect(first.map(\.1.key) == [added[0].key, added[1].key])
  // Alice holds b now, Bob a: each gets the next run of its own input, though the queue's front
  // is the other's.
  let afterBob = leases(d.onMessage(result(first[1].1), from: bob, now: t0))
  #expect(afterBob.map(\.1.key) == [added[3].key])
  let afterAlice = leases(d.onMessage(result(first[0].1), from: alice, now: t0))
  #expect(afterAlice.map(\.1.key) == [added[2].key])
}
