import Experiments
import SweepModel
import Testing

@testable import SweepProtocol

// Rounds on the real LSTM meta-state: the dispatcher reduces gradients that simulated workers
// compute with the training core, and every test ends by comparing the meta-state the finishing
// lease carries with the single-process run's, byte for byte.

private let t0 = ContinuousClock.now

private func settings(checkpointEvery interval: Duration = .seconds(3600)) -> Dispatcher.Settings {
  var settings = Dispatcher.Settings()
  settings.rounds = ExperimentCatalogue.rounds
  settings.roundCheckpointInterval = interval
  return settings
}

/// Workers that compute the shards they are leased with the training core, answering in an order
/// a seeded generator picks.
private struct Cluster {
  var dispatcher: Dispatcher
  var now = t0
  /// Shard leases delivered and not yet answered, in arrival order.
  var inbox: [(worker: WorkerID, lease: WireMessage.ShardLease)] = []
  /// The replica each worker holds, by run.
  var replicas: [WorkerID: [RunKey: (step: UInt64, bytes: [UInt8])]] = [:]
  /// The run contexts each worker was sent.
  var contexts: [WorkerID: [RunKey: WireMessage.RunContext]] = [:]
  /// Leases of whole runs (a run that finished its rounds is leased to be evaluated).
  var leases: [WireMessage.Lease] = []
  var directives: [Dispatcher.Directive] = []
  var rng = SplitMix64(seed: 7)

  init(dispatcher: Dispatcher) { self.dispatcher = dispatcher }

  mutating func absorb(_ out: [Dispatcher.Directive]) {
    directives += out
    for directive in out {
      switch directive {
      case .send(.shardLease(let lease), let to):
        // As a worker's poll thread does: a replica is kept when its lease arrives.
        if let replica = lease.replica { replicas[to, default: [:]][lease.key] = (lease.step, replica) }
        if let context = lease.context { contexts[to, default: [:]][lease.key] = context }
        inbox.append((to, lease))
      case .send(.lease(let lease), _): leases.append(lease)
      default: break
      }
    }
  }

  mutating func join(_ name: String, slots: UInt32 = 1) {
    absorb(dispatcher.onMessage(TinyRun.hello(name, slots: slots), from: TinyRun.worker(name), now: now))
  }

  /// What worker `id` would report for `lease`: the shard's gradient from the replica it holds.
  mutating func report(_ lease: WireMessage.ShardLease, by id: WorkerID) throws -> WireMessage {
    guard let held = replicas[id]?[lease.key], held.step == lease.step, let context = contexts[id]?[lease.key]
    else {
      return .shardFailure(.init(lease, reason: .replicaMissing, message: "none held"))
    }
    var computer = try ExperimentCatalogue.makeShardComputer(
      experiment: context.experiment, parameters: context.parameters, seed: context.seed)
    let gradient = try computer.gradient(replica: held.bytes, step: Int(lease.step), shard: Int(lease.shard))
    return .shardResult(
      .init(
        unit: lease.unit, key: lease.key, step: lease.step, shard: lease.shard,
        replicaSHA256: SHA256.hexString(SHA256.digest(held.bytes)), seconds: 0.01, gradient: gradient))
  }

  /// Answers one waiting lease, picked at random.
  mutating func answerOne() throws {
    let index = Int(rng.below(inbox.count))
    let (id, lease) = inbox.remove(at: index)
    let message = try report(lease, by: id)
    now += .milliseconds(1)
    absorb(dispatcher.onMessage(message, from: id, now: now))
  }

  /// Answers leases until no shard waits.
  mutating func runRounds(limit: Int = 10_000) throws {
    var answered = 0
    while !inbox.isEmpty && answered < limit {
      try answerOne()
      answered += 1
    }
  }
}

@Test(arguments: [1, 2, 3, 16])
func rounds_withAnyWorkerCount_answeringInAnyOrder_reachTheSingleProcessMetaState(workers: Int) throws {
  let run = TinyRun.spec()
  var cluster = Cluster(dispatcher: Dispatcher(pending: [run], settings: settings()))
  for index in 0..<workers { cluster.join("w\(index)") }
  try cluster.runRounds()
  #expect(cluster.leases.count == 1, "after its last round the run is leased whole, to be evaluated")
  let finishing = try #require(cluster.leases.first)
  #expect(finishing.checkpoint == (try TinyRun.finalState(run)))
  #expect(cluster.dispatcher.progress.roundsDone == 12)
  #expect(cluster.dispatcher.progress.shardsDone == 48)
  #expect(cluster.dispatcher.progress.inRounds == 0)
}

@Test func aReplicaIsSentToAWorkerOncePerRound_withItsFirstShard_andTheRunsContextOnce() throws {
  var cluster = Cluster(dispatcher: Dispatcher(pending: [TinyRun.spec()], settings: settings()))
  cluster.join("a")
  // One slot plus one queued unit: two shards of round 0, the replica and context with the first only.
  #expect(cluster.inbox.count == 2)
  #expect(cluster.inbox[0].lease.replica != nil && cluster.inbox[0].lease.context != nil)
  #expect(cluster.inbox[1].lease.replica == nil && cluster.inbox[1].lease.context == nil)
  #expect(cluster.inbox.allSatisfy { $0.lease.step == 0 })
  try cluster.runRounds()
  let replicaLeases = cluster.directives.filter {
    if case .send(.shardLease(let lease), _) = $0 { lease.replica != nil } else { false }
  }
  #expect(replicaLeases.count == 12)
  let contextLeases = cluster.directives.filter {
    if case .send(.shardLease(let lease), _) = $0 { lease.context != nil } else { false }
  }
  #expect(contextLeases.count == 1)
}

@Test func aWorkerLostMidRound_hasItsShardsComputedElsewhere_itsLateReportIgnored_andTheBitsUnchanged() throws
{
  let run = TinyRun.spec()
  var cluster = Cluster(dispatcher: Dispatcher(pending: [run], settings: settings()))
  cluster.join("a")
  cluster.join("b")
  // A few rounds, then b goes silent holding units of the current round.
  for _ in 0..<9 { try cluster.answerOne() }
  let held = cluster.inbox.filter { $0.worker == TinyRun.worker("b") }
  #expect(!held.isEmpty)
  cluster.inbox.removeAll { $0.worker == TinyRun.worker("b") }
  // a keeps heartbeating; b does not.
  cluster.now += .seconds(3)
  cluster.absorb(cluster.dispatcher.onMessage(.heartbeat, from: TinyRun.worker("a"), now: cluster.now))
  cluster.now += .seconds(3)
  cluster.absorb(cluster.dispatcher.onMessage(.heartbeat, from: TinyRun.worker("a"), now: cluster.now))
  cluster.absorb(cluster.dispatcher.onTick(now: cluster.now))
  #expect(cluster.dispatcher.progress.workers == 1)
  #expect(cluster.dispatcher.progress.expired == held.count)
  // b's report arrives late over its old connection: ignored, never reduced.
  let late = try cluster.report(held[0].lease, by: TinyRun.worker("b"))
  let out = cluster.dispatcher.onMessage(late, from: TinyRun.worker("b"), now: cluster.now)
  #expect(!out.contains { if case .send = $0 { true } else { false } })
  #expect(cluster.dispatcher.progress.staleShards == 1)
  #expect(cluster.dispatcher.progress.refused == 0, "late, not forged")
  try cluster.runRounds()
  #expect(try #require(cluster.leases.first).checkpoint == (try TinyRun.finalState(run)))
}

@Test func aShardComputedFromAnotherReplica_isNeverReduced_andIsComputedAgainWithTheReplica() throws {
  let run = TinyRun.spec()
  var cluster = Cluster(dispatcher: Dispatcher(pending: [run], settings: settings()))
  cluster.join("a")
  try cluster.answerOne()
  try cluster.answerOne()
  // The worker's replica is damaged after it arrived: its next shard is computed from the wrong bytes.
  var (step, bytes) = try #require(cluster.replicas[TinyRun.worker("a")]?[run.key])
  bytes[bytes.count / 2] ^= 1
  cluster.replicas[TinyRun.worker("a")]![run.key] = (step, bytes)
  let (id, lease) = cluster.inbox.removeFirst()
  let wrong = try cluster.report(lease, by: id)
  cluster.absorb(cluster.dispatcher.onMessage(wrong, from: id, now: cluster.now))
  #expect(cluster.dispatcher.progress.replicaResends == 1)
  #expect(cluster.inbox.contains { $0.lease.shard == lease.shard && $0.lease.replica != nil })
  try cluster.runRounds()
  #expect(try #require(cluster.leases.first).checkpoint == (try TinyRun.finalState(run)))
}

@Test func aWorkerWithoutTheReplica_getsTheLeaseAgainWithIt() throws {
  let run = TinyRun.spec()
  var cluster = Cluster(dispatcher: Dispatcher(pending: [run], settings: settings()))
  cluster.join("a")
  // Its replica and context are lost (a restarted store) before the second shard of the round.
  let (id, first) = cluster.inbox.removeFirst()
  cluster.absorb(cluster.dispatcher.onMessage(try cluster.report(first, by: id), from: id, now: cluster.now))
  cluster.replicas[id] = nil
  cluster.contexts[id] = nil
  let (_, second) = cluster.inbox.removeFirst()
  #expect(second.replica == nil)
  let missing = try cluster.report(second, by: id)
  guard case .shardFailure(let failure) = missing else {
    Issue.record("expected the worker to say it lacks the replica")
    return
  }
  #expect(failure.reason == .replicaMissing)
  cluster.absorb(cluster.dispatcher.onMessage(missing, from: id, now: cluster.now))
  #expect(
    cluster.inbox.contains {
      $0.lease.shard == second.shard && $0.lease.replica != nil && $0.lease.context != nil
    })
  try cluster.runRounds()
  #expect(try #require(cluster.leases.first).checkpoint == (try TinyRun.finalState(run)))
}

@Test func aShardReport_fromAWorkerItWasNotLeasedTo_isRefused_andNeverReduced() throws {
  let run = TinyRun.spec()
  var cluster = Cluster(dispatcher: Dispatcher(pending: [run], settings: settings()))
  cluster.join("a")
  cluster.join("b")
  let (_, lease) = try #require(cluster.inbox.first { $0.worker == TinyRun.worker("a") })
  // b forges a's unit (with the replica it computed itself).
  var forged = try cluster.report(lease, by: TinyRun.worker("a"))
  if case .shardResult(var result) = forged {
    result.gradient = [UInt8](repeating: 0, count: result.gradient.count)
    forged = .shardResult(result)
  }
  let out = cluster.dispatcher.onMessage(forged, from: TinyRun.worker("b"), now: cluster.now)
  #expect(cluster.dispatcher.progress.refused == 1)
  #expect(!out.contains { if case .send = $0 { true } else { false } })
  try cluster.runRounds()
  #expect(try #require(cluster.leases.first).checkpoint == (try TinyRun.finalState(run)))
}

@Test func checkpoints_areJournaledAsRoundsGoOn_andAResumedDispatcherReachesTheSameBits() throws {
  let run = TinyRun.spec()
  var cluster = Cluster(dispatcher: Dispatcher(pending: [run], settings: settings(checkpointEvery: .zero)))
  cluster.join("a")
  cluster.join("b")
  // Stop after about half the rounds: the coordinator "dies" with the last journaled checkpoint.
  while cluster.dispatcher.progress.roundsDone < 6 { try cluster.answerOne() }
  var journaled: [(UInt64, [UInt8])] = []
  var leasedAttempts: [UInt64] = []
  for directive in cluster.directives {
    switch directive {
    case .journalCheckpoint(let attempt, let key, let bytes, let steps, _) where key == run.key:
      #expect(leasedAttempts.last == attempt, "a checkpoint closes the attempt journaled before it")
      journaled.append((steps, bytes))
    case .journalLease(let attempt, let key, _, let holder) where key == run.key:
      #expect(holder == Dispatcher.coordinatorHolder)
      leasedAttempts.append(attempt)
    default: break
    }
  }
  #expect(journaled.map(\.0) == Array(1...6))
  let last = try #require(journaled.last)
  var resumed = Cluster(
    dispatcher: Dispatcher(
      pending: [run], firstAttempt: 100, checkpoints: [run.key: .init(stepsDone: last.0, bytes: last.1)],
      settings: settings()))
  resumed.rng = SplitMix64(seed: 99)
  resumed.join("c")
  #expect(resumed.inbox.allSatisfy { $0.lease.step == 6 })
  try resumed.runRounds()
  #expect(try #require(resumed.leases.first).checkpoint == (try TinyRun.finalState(run)))
}

@Test func stopping_journalsEachActiveRunsMetaState() throws {
  let run = TinyRun.spec()
  var cluster = Cluster(dispatcher: Dispatcher(pending: [run], settings: settings()))
  cluster.join("a")
  while cluster.dispatcher.progress.roundsDone < 3 { try cluster.answerOne() }
  let out = cluster.dispatcher.endLeases()
  let steps = out.compactMap { if case .journalCheckpoint(_, _, _, let steps, _) = $0 { steps } else { nil } }
  #expect(steps == [3])
  #expect(cluster.dispatcher.progress.inRounds == 0)
}

@Test func twoRunsWithRounds_andAnIndependentRun_shareTheWorkers_andEachReachesItsOwnBits() throws {
  let first = TinyRun.spec(seed: 1, ordinal: 0)
  let second = TinyRun.spec(seed: 2, ordinal: 1)
  let whole = TinyRun.spec(seed: 5, shards: 1, ordinal: 2)
  var cluster = Cluster(dispatcher: Dispatcher(pending: [first, second, whole], settings: settings()))
  cluster.join("a", slots: 2)
  cluster.join("b", slots: 2)
  var rounds: [RunKey: Int] = [:]
  var interleaved = false
  while !cluster.inbox.isEmpty {
    try cluster.answerOne()
    for summary in cluster.dispatcher.roundSummaries { rounds[summary.key] = summary.step }
    if rounds.count == 2 && rounds.values.allSatisfy({ $0 > 0 && $0 < 12 }) { interleaved = true }
  }
  #expect(interleaved, "both runs were in rounds at once, each making progress")
  let finishing = Dictionary(uniqueKeysWithValues: cluster.leases.map { ($0.key, $0) })
  #expect(finishing[first.key]?.checkpoint == (try TinyRun.finalState(first)))
  #expect(finishing[second.key]?.checkpoint == (try TinyRun.finalState(second)))
  #expect(finishing[whole.key]?.checkpoint == nil, "a run without shards is leased whole from the start")
}

@Test func aRunWithOneShard_isNeverRunInRounds() {
  var dispatcher = Dispatcher(pending: [TinyRun.spec(shards: 1)], settings: settings())
  let out = dispatcher.onMessage(TinyRun.hello("a"), from: TinyRun.worker("a"), now: t0)
  #expect(out.contains { if case .send(.lease, _) = $0 { true } else { false } })
  #expect(!out.contains { if case .send(.shardLease, _) = $0 { true } else { false } })
}

@Test func aWorkerThatDamagesEveryReplicaItIsSent_getsNoMoreShards_andTheOthersFinishTheRun() throws {
  let run = TinyRun.spec()
  var cluster = Cluster(dispatcher: Dispatcher(pending: [run], settings: settings()))
  cluster.join("good")
  cluster.join("bad")
  var badReports = 0
  while !cluster.inbox.isEmpty {
    let (id, lease) = cluster.inbox.removeFirst()
    if id == TinyRun.worker("bad") {
      // Every lease, even one carrying the replica, is answered "replica missing".
      badReports += 1
      let failure = WireMessage.ShardFailure(lease, reason: .replicaMissing, message: "damaged")
      cluster.absorb(cluster.dispatcher.onMessage(.shardFailure(failure), from: id, now: cluster.now))
    } else {
      cluster.absorb(
        cluster.dispatcher.onMessage(try cluster.report(lease, by: id), from: id, now: cluster.now))
    }
  }
  // Each fault is a lease that carried the replica; the one queued behind it (without) fails too.
  #expect(badReports == 2 * Dispatcher.maxReplicaFaults)
  #expect(
    cluster.directives.contains {
      if case .log(let event) = $0 { event.message.contains("gets no more shards") } else { false }
    })
  #expect(try #require(cluster.leases.first).checkpoint == (try TinyRun.finalState(run)))
}
