import Experiments
import SweepModel
import Testing

@testable import SweepProtocol

// Epochs of rounds (round exchange `.peers`) on the real LSTM meta-state: each simulated group
// computes its epoch with the training core, and every test ends by comparing the meta-state the
// finishing lease carries with the single-process run's, byte for byte.

private let t0 = ContinuousClock.now

private func settings() -> Dispatcher.Settings {
  var settings = Dispatcher.Settings()
  settings.rounds = ExperimentCatalogue.rounds
  settings.roundCheckpointInterval = .seconds(3600)
  settings.roundExchange = .peers
  return settings
}

/// Workers that compute the epochs they are leased, a group at a time, with the training core.
private struct Group {
  var dispatcher: Dispatcher
  var now = t0
  /// Epoch leases delivered and not yet answered.
  var inbox: [(worker: WorkerID, lease: WireMessage.EpochLease)] = []
  var cancelled: [(worker: WorkerID, unit: UInt64)] = []
  var leases: [WireMessage.Lease] = []
  var directives: [Dispatcher.Directive] = []

  init(dispatcher: Dispatcher) { self.dispatcher = dispatcher }

  mutating func absorb(_ out: [Dispatcher.Directive]) {
    directives += out
    for directive in out {
      switch directive {
      case .send(.epochLease(let lease), let to): inbox.append((to, lease))
      case .send(.epochCancel(let unit), let to):
        cancelled.append((to, unit))
        inbox.removeAll { $0.lease.unit == unit }
      case .send(.lease(let lease), _): leases.append(lease)
      default: break
      }
    }
  }

  mutating func join(_ name: String, peerPort: UInt16 = 40_000) {
    absorb(
      dispatcher.onMessage(TinyRun.hello(name, peerPort: peerPort), from: TinyRun.worker(name), now: now))
  }

  /// The meta-state a group reaches from `lease` (every member reaches the same one).
  static func compute(_ lease: WireMessage.EpochLease) throws -> [UInt8] {
    let context = lease.context
    var reduction = try ExperimentCatalogue.rounds.start(
      experiment: context.experiment, parameters: context.parameters, seed: context.seed,
      checkpoint: lease.state)
    var computer = try ExperimentCatalogue.makeShardComputer(
      experiment: context.experiment, parameters: context.parameters, seed: context.seed)
    let shards = ExperimentCatalogue.rounds.plan(
      experiment: context.experiment, parameters: context.parameters)!
      .shards
    for step in Int(lease.fromStep)..<Int(lease.toStep) {
      let replica = reduction.replica
      try reduction.apply((0..<shards).map { try computer.gradient(replica: replica, step: step, shard: $0) })
    }
    return reduction.checkpoint
  }

  static func report(
    _ lease: WireMessage.EpochLease, state: [UInt8], status: WireMessage.EpochReport.Status = .done
  ) -> WireMessage {
    .epochReport(
      .init(
        unit: lease.unit, key: lease.key, status: status, step: lease.toStep,
        stateSHA256: SHA256.hexString(SHA256.digest(state)), computeSeconds: 0.01, waitSeconds: 0.001,
        message: "", state: lease.index == 0 ? state : nil))
  }

  /// Every member of the first epoch waiting reports it done.
  mutating func completeEpoch() throws {
    let epoch = inbox[0].lease.epoch
    let members = inbox.filter { $0.lease.epoch == epoch }
    inbox.removeAll { $0.lease.epoch == epoch }
    let state = try Self.compute(members[0].lease)
    for (id, lease) in members.reversed() {
      now += .milliseconds(1)
      absorb(dispatcher.onMessage(Self.report(lease, state: state), from: id, now: now))
    }
  }

  mutating func runEpochs(limit: Int = 1000) throws {
    var done = 0
    while !inbox.isEmpty && done < limit {
      try completeEpoch()
      done += 1
    }
  }
}

@Test(arguments: [1, 2, 3, 16])
func epochs_withAnyWorkerCount_reachTheSingleProcessMetaState(workers: Int) throws {
  let run = TinyRun.spec()
  var group = Group(dispatcher: Dispatcher(pending: [run], settings: settings()))
  for index in 0..<workers { group.join("w\(index)") }
  try group.runEpochs()
  #expect(group.leases.count == 1, "after its last round the run is leased whole, to be evaluated")
  #expect(group.leases.first?.checkpoint == (try TinyRun.finalState(run)))
  #expect(group.dispatcher.progress.roundsDone == 12)
  #expect(group.dispatcher.progress.inRounds == 0)
  // Groups never exceed the run's 4 shards, nor hold a worker twice; members agree on the peers.
  let epochs = Dictionary(
    grouping: group.directives.compactMap { directive -> WireMessage.EpochLease? in
      if case .send(.epochLease(let lease), _) = directive { lease } else { nil }
    }
  ) { $0.epoch }
  #expect(!epochs.isEmpty)
  for leases in epochs.values {
    #expect(leases.count <= min(workers, 4))
    #expect(Set(leases.map(\.index)) == Set((0..<leases.count).map(UInt32.init)))
    #expect(Set(leases.map(\.peers)).count == 1 && Set(leases.map(\.secret)).count == 1)
    #expect(Set(leases.map(\.unit)).count == leases.count)
  }
  // The first epoch is short; later ones grow.
  let lengths = epochs.keys.sorted().map { epochs[$0]![0].toStep - epochs[$0]![0].fromStep }
  #expect(lengths.first == UInt64(Dispatcher.firstEpochRounds))
}

@Test func aLostMember_callsOffTheEpoch_theOthersAreToldToStop_andTheirLateReportsAreIgnored() throws {
  let run = TinyRun.spec()
  var group = Group(dispatcher: Dispatcher(pending: [run], settings: settings()))
  group.join("a")
  group.join("b")
  try group.completeEpoch()  // a alone: b greeted after the first epoch was leased
  let pair = group.inbox
  #expect(pair.count == 2, "the next epoch goes to both")
  let aLease = try #require(pair.first { $0.worker == TinyRun.worker("a") }?.lease)
  // b goes silent: a's part of the epoch is called off.
  group.now += .seconds(6)
  group.absorb(group.dispatcher.onMessage(.heartbeat, from: TinyRun.worker("a"), now: group.now))
  group.absorb(group.dispatcher.onTick(now: group.now))
  group.inbox.removeAll { $0.worker == TinyRun.worker("b") }  // b is gone, with what it held
  #expect(group.cancelled.map(\.unit) == [aLease.unit])
  #expect(group.cancelled.map(\.worker) == [TinyRun.worker("a")])
  // a's report of the called-off epoch arrives anyway: ignored, nothing moves.
  let stale = group.dispatcher.progress.staleShards
  let state = try Group.compute(aLease)
  group.absorb(
    group.dispatcher.onMessage(Group.report(aLease, state: state), from: TinyRun.worker("a"), now: group.now))
  #expect(group.dispatcher.progress.staleShards == stale + 1)
  #expect(group.dispatcher.progress.roundsDone == Int(aLease.fromStep))
  // The rounds are computed again by a new group (a alone), from the same state.
  #expect(group.inbox.count == 1 && group.inbox[0].lease.fromStep == aLease.fromStep)
  try group.runEpochs()
  #expect(group.leases.first?.checkpoint == (try TinyRun.finalState(run)))
}

@Test func membersThatDisagree_haveTheEpochComputedAgain_andItCountsAsAFailedAttempt() throws {
  let run = TinyRun.spec()
  var group = Group(dispatcher: Dispatcher(pending: [run], settings: settings()))
  group.join("a")
  group.join("b")
  try group.completeEpoch()  // a alone: b greeted after the first epoch was leased
  let members = group.inbox
  #expect(members.count == 2)
  group.inbox.removeAll()
  let state = try Group.compute(members[0].lease)
  var damaged = state
  damaged[damaged.count / 2] ^= 1
  for (id, lease) in members {
    let reached = lease.index == 1 ? damaged : state
    group.absorb(group.dispatcher.onMessage(Group.report(lease, state: reached), from: id, now: group.now))
  }
  #expect(group.dispatcher.progress.failedAttempts == 1)
  #expect(
    group.directives.contains {
      if case .journalFailure(let failure, _, isFinal: false) = $0 {
        failure.message.contains("different meta-states")
      } else {
        false
      }
    })
  #expect(group.inbox.first?.lease.fromStep == members[0].lease.fromStep, "the same rounds again")
  try group.runEpochs()
  #expect(group.leases.first?.checkpoint == (try TinyRun.finalState(run)))
}

@Test func aMemberWhoseCopyIsDamaged_hasItsEpochComputedAgain_andAfterThreeInARowGetsNoMoreEpochs() throws {
  let run = TinyRun.spec()
  var group = Group(dispatcher: Dispatcher(pending: [run], settings: settings()))
  group.join("faulty")
  for attempt in 1...3 {
    let (id, lease) = group.inbox.removeFirst()
    #expect(id == TinyRun.worker("faulty"))
    let report = WireMessage.epochReport(
      .init(
        unit: lease.unit, key: lease.key, status: .stateMismatch, step: lease.fromStep,
        stateSHA256: String(repeating: "0", count: 64), computeSeconds: 0, waitSeconds: 0, message: "damaged",
        state: nil))
    group.absorb(group.dispatcher.onMessage(report, from: id, now: group.now))
    #expect(group.dispatcher.progress.replicaResends == attempt)
  }
  #expect(group.inbox.isEmpty, "the faulty worker gets no more epochs")
  group.join("healthy")
  #expect(group.inbox.map(\.worker) == [TinyRun.worker("healthy")])
  try group.runEpochs()
  #expect(group.leases.first?.checkpoint == (try TinyRun.finalState(run)))
}

@Test func aWorkerWithoutAPeerPort_computesEpochsAlone_andGroupsFormOnlyOfWorkersWithOne() throws {
  var group = Group(dispatcher: Dispatcher(pending: [TinyRun.spec()], settings: settings()))
  group.join("lonely", peerPort: 0)
  group.join("b")
  group.join("c")
  try group.completeEpoch()  // lonely alone, leased before the others greeted
  // The next epochs go to groups of workers with peer ports; lonely computes alone when it leads.
  // Then b and c form a group, and lonely, with no peer port, leaves the run to them.
  #expect(
    group.inbox.map(\.worker) == [TinyRun.worker("b"), TinyRun.worker("c")], "\(group.inbox.map(\.worker))")
  #expect(group.inbox.allSatisfy { $0.lease.peers == ["tcp://127.0.0.1:40000", "tcp://127.0.0.1:40000"] })
  #expect(Dispatcher.peerEndpoint(address: "10.1.2.3", port: 5) == "tcp://10.1.2.3:5")
  #expect(Dispatcher.peerEndpoint(address: "", port: 5) == "tcp://127.0.0.1:5")
  #expect(Dispatcher.peerEndpoint(address: "fe80::1", port: 5) == "tcp://[fe80::1]:5")
  #expect(Dispatcher.peerEndpoint(address: "10.1.2.3", port: 0) == nil)
}

@Test func twoRunsInEpochs_shareTheFreeWorkers() throws {
  let runs = [TinyRun.spec(seed: 1, ordinal: 0), TinyRun.spec(seed: 2, ordinal: 1)]
  var group = Group(dispatcher: Dispatcher(pending: runs, settings: settings()))
  var expectedSettings = settings()
  expectedSettings.expectedWorkers = 4
  group.dispatcher = Dispatcher(pending: runs, settings: expectedSettings)
  for name in ["a", "b", "c", "d"] { group.join(name) }
  try group.runEpochs()
  let byRun = Dictionary(grouping: group.leases, by: \.key)
  #expect(byRun.count == 2)
  for run in runs {
    #expect(byRun[run.key]?.first?.checkpoint == (try TinyRun.finalState(run)))
  }
  // Once both runs were under way, neither had all four workers.
  let groups = Dictionary(
    grouping: group.directives.compactMap { directive -> WireMessage.EpochLease? in
      if case .send(.epochLease(let lease), _) = directive { lease } else { nil }
    }
  ) { $0.epoch }
  let bothRunning = groups.values.filter { $0[0].fromStep > 0 }
  #expect(!bothRunning.isEmpty)
  #expect(bothRunning.allSatisfy { $0.count <= 2 }, "\(bothRunning.map(\.count))")
}
