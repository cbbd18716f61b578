import SweepModel

/// Epochs of rounds (``Dispatcher/RoundExchange/peers``): the coordinator leases a run's next rounds
/// to a group of workers, which exchange their shard gradients directly and each take every step.
///
/// Guarantees, whatever the order of events:
/// - every member starts from the meta-state the coordinator holds (checked by its SHA-256),
///   computes the shards `s % members == index` of every round, and sums all shards in shard order
///   before each step: the same bits as one process, for any group size;
/// - an epoch counts only when every member reports the same SHA-256 for the meta-state at its
///   last round and the first member's copy hashes to it; then the coordinator holds that state
///   (a member whose copy was damaged gives another hash: the epoch is computed again);
/// - a member that leaves, goes silent, stalls or reports a fault calls off the whole epoch: the
///   other members are told to stop, and the rounds are computed again from the coordinator's
///   meta-state, by a new group; a report of a unit called off is ignored;
/// - the meta-state is journaled as the run's checkpoint (every ``Settings/roundCheckpointInterval``,
///   after the last round, and when the coordinator stops) from the coordinator's copy only;
/// - a group has at most one member per worker and as many as the run has shards; runs waiting
///   for an epoch share the free workers in turn; after ``maxGroupFaults`` broken groups in a row
///   (workers that cannot reach each other) a run's epochs go to groups of one.
extension Dispatcher {
  /// A group of workers computing rounds `fromStep ..< toStep` of a run.
  struct EpochGroup: Sendable {
    var id: UInt64
    var fromStep: Int
    var toStep: Int
    /// Each member's worker and unit, in member order.
    var members: [WorkerID]
    var units: [UInt64]
    /// Each member's report once in.
    var reports: [WireMessage.EpochReport?]
    var started: ContinuousClock.Instant
  }

  /// One member's place in an epoch.
  struct EpochUnit: Sendable {
    var key: RunKey
    var epoch: UInt64
    var index: Int
    var worker: WorkerID
    var holder: WorkerIdentity
  }

  /// Broken groups in a row after which a run's epochs go to groups of one.
  static let maxGroupFaults = 3

  /// The first epoch's rounds; each later epoch at most doubles the last one's.
  static let firstEpochRounds = 4

  /// The peer endpoint of a worker whose hello offered `port`, at the `address` the coordinator
  /// sees it at (an empty address, a local worker over IPC, is the loopback); nil for port 0.
  static func peerEndpoint(address: String, port: UInt16) -> String? {
    guard port != 0 else { return nil }
    let host = address.isEmpty ? "127.0.0.1" : address
    return host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
  }

  /// Whether worker `state` may take part in an epoch: a slot that holds nothing.
  private func hasRoomForEpoch(_ state: WorkerState) -> Bool {
    !state.isDraining && !state.isStalled && !rounds.excluded.contains(state.identity) && state.units.isEmpty
      && state.attempts.count < state.slots
  }

  /// Forms a group around worker `id` for the next epoch of the active runs waiting for one, in
  /// turn; nil when none waits or the worker has no room.
  mutating func leaseNextEpoch(to id: WorkerID) -> [Directive]? {
    guard !rounds.order.isEmpty, let state = workers[id], hasRoomForEpoch(state) else { return nil }
    let free = workerOrder.filter { other in
      other != id && workers[other].map { hasRoomForEpoch($0) && $0.peerEndpoint != nil } ?? false
    }
    // A worker without a peer port computes epochs alone: it leaves them to a group of others.
    if state.peerEndpoint == nil && free.count >= 2 { return nil }
    let count = rounds.order.count
    for offset in 0..<count {
      let index = (rounds.cursor + offset) % count
      let key = rounds.order[index]
      guard let run = rounds.active[key], run.epoch == nil else { continue }
      rounds.cursor = (index + 1) % count
      var members = [id]
      if state.peerEndpoint != nil && run.groupFaults < Self.maxGroupFaults {
        // Its share of the workers that take part in epochs: the free ones and those in the other
        // runs' epochs, over the active runs.
        let busy = rounds.active.values.reduce(0) { $0 + ($1.epoch?.members.count ?? 0) }
        let share = max(1, (free.count + 1 + busy) / rounds.active.count)
        members += free.prefix(max(min(share, run.plan.shards) - 1, 0))
      }
      return startEpoch(key, members: members)
    }
    return nil
  }

  /// Leases the next epoch of run `key` to `members`.
  private mutating func startEpoch(_ key: RunKey, members: [WorkerID]) -> [Directive] {
    let now = lastEvent ?? .now
    var run = rounds.active[key]!
    let fromStep = run.reduction.step
    var length = run.lastEpochRounds == 0 ? Self.firstEpochRounds : 2 * run.lastEpochRounds
    if let seconds = run.roundSeconds, seconds > 0 {
      // Clamped before the conversion: a long epoch of very short rounds must not trap.
      length = min(length, max(1, Int(min(settings.epochDuration.inSeconds / seconds, 1e15))))
    }
    let toStep = min(run.plan.steps, fromStep + max(length, 1))
    let epoch = rounds.nextEpoch
    rounds.nextEpoch += 1
    let state = run.reduction.checkpoint
    let stateSHA256 = SHA256.hexString(SHA256.digest(state))
    var epochID = ByteWriter(capacity: 8)
    epochID.write(epoch)
    let secret = SHA256.authenticationCode(epochID.bytes, key: settings.epochKey)
    let peers = members.map { workers[$0]?.peerEndpoint ?? "" }
    let spec = runs[key]!
    let context = WireMessage.RunContext(
      experiment: spec.experiment, parameters: spec.parameters, seed: spec.seed)
    var units: [UInt64] = []
    var out: [Directive] = []
    for (index, member) in members.enumerated() {
      let unit = rounds.nextUnit
      rounds.nextUnit += 1
      units.append(unit)
      rounds.epochUnits[unit] = EpochUnit(
        key: key, epoch: epoch, index: index, worker: member, holder: workers[member]!.identity)
      if workers[member]!.attempts.isEmpty && workers[member]!.units.isEmpty {
        workers[member]!.waitingSince = now
      }
      workers[member]!.units.insert(unit)
      counters.replicaBytesSent += state.count
      out.append(
        .send(
          .epochLease(
            WireMessage.EpochLease(
              unit: unit, epoch: epoch, key: key, context: context, fromStep: UInt64(fromStep),
              toStep: UInt64(toStep), index: UInt32(index), peers: peers, secret: secret,
              stateSHA256: stateSHA256,
              state: state)),
          to: member))
    }
    run.epoch = EpochGroup(
      id: epoch, fromStep: fromStep, toStep: toStep, members: members, units: units,
      reports: Array(repeating: nil, count: members.count), started: now)
    rounds.active[key] = run
    return out
  }

  /// Calls off the epoch in flight of `key`, if any: its live members are told to stop, and the
  /// run waits for a new group.
  mutating func cancelEpoch(of key: RunKey) -> [Directive] {
    guard let group = rounds.active[key]?.epoch else { return [] }
    rounds.active[key]!.epoch = nil
    var out: [Directive] = []
    for (member, unit) in zip(group.members, group.units) {
      guard rounds.epochUnits.removeValue(forKey: unit) != nil else { continue }
      guard workers[member] != nil else { continue }
      workers[member]!.units.remove(unit)
      out.append(.send(.epochCancel(unit: unit), to: member))
    }
    return out
  }

  mutating func onEpochReport(_ report: WireMessage.EpochReport, from id: WorkerID, peer: PeerInfo)
    -> [Directive]
  {
    guard let state = workers[id], state.authenticatedID == peer.authenticatedID else {
      let isStale =
        workers[id] == nil && lostWorkers[id].map { $0.authenticatedID == peer.authenticatedID } ?? false
      guard isStale else { return refuse("epoch report", report.unit, report.key, from: id, peer: peer) }
      counters.staleShards += 1
      return []
    }
    guard let member = rounds.epochUnits[report.unit] else {
      counters.staleShards += 1  // an epoch called off, or of a run that ended
      return []
    }
    guard member.holder == state.identity, member.worker == id, member.key == report.key else {
      return refuse("epoch report", report.unit, report.key, from: id, peer: peer)
    }
    noteReport(from: id)
    rounds.epochUnits[report.unit] = nil
    workers[id]!.units.remove(report.unit)
    let seconds = report.computeSeconds + report.waitSeconds
    longestReportSeconds = max(longestReportSeconds ?? 0, seconds.isFinite ? max(seconds, 0) : 0)
    let key = member.key
    guard var run = rounds.active[key], var group = run.epoch, group.id == member.epoch else { return fill() }
    let metadata = [("run", key.short), ("step", "\(group.fromStep)"), ("worker", name(of: id))]
    switch report.status {
    case .done:
      guard report.step == UInt64(group.toStep), member.index != 0 || report.state != nil else {
        return groupBroke(key, "a member reported another step, or no meta-state", metadata)
      }
      counters.gradientBytesReceived += report.state?.count ?? 0
      group.reports[member.index] = report
      run.epoch = group
      rounds.active[key] = run
      rounds.replicaFaults[id] = nil
      guard group.reports.allSatisfy({ $0 != nil }) else { return [] }
      return completeEpoch(key) + fill()
    case .stateMismatch:
      // Its copy of the meta-state was damaged: a worker that keeps doing so gets no more.
      counters.replicaResends += 1
      let faults = rounds.replicaFaults[id, default: 0] + 1
      rounds.replicaFaults[id] = faults
      var out: [Directive] = [
        .log(
          LogEvent(
            .info, "A member's copy of the meta-state was damaged; the epoch is computed again", metadata))
      ]
      if faults >= Self.maxReplicaFaults {
        rounds.excluded.insert(state.identity)
        out.append(
          .log(
            LogEvent(
              .warning,
              "A worker damaged \(faults) meta-states in a row that it was sent whole; it gets no more epochs",
              metadata)))
      }
      return out + cancelEpoch(of: key) + fill()
    case .groupFault:
      return groupBroke(key, report.message, metadata)
    case .failed:
      counters.failedAttempts += 1
      let count = failures[key, default: 0] + 1
      failures[key] = count
      let cancels = cancelEpoch(of: key)
      return cancels
        + failRounds(
          key, attempt: run.attempt, message: report.message, isFinal: count >= settings.retryLimit,
          worker: id)
        + fill()
    }
  }

  /// The group of `key`'s epoch broke down (a member silent, or a message it could not use): the
  /// epoch is called off and computed again; after ``maxGroupFaults`` in a row, by one worker.
  private mutating func groupBroke(_ key: RunKey, _ why: String, _ metadata: [(String, String)])
    -> [Directive]
  {
    let faults = rounds.active[key]!.groupFaults + 1
    rounds.active[key]!.groupFaults = faults
    var out: [Directive] = [
      .log(LogEvent(.warning, "An epoch's group broke down (\(why)); computing it again", metadata))
    ]
    if faults == Self.maxGroupFaults {
      out.append(
        .log(
          LogEvent(
            .warning,
            "\(faults) groups in a row broke down: this run's epochs go to one worker at a time "
              + "(can the workers reach each other's peer ports?)",
            metadata)))
    }
    return out + cancelEpoch(of: key) + fill()
  }

  /// Every member reported its epoch: if they agree, the coordinator takes the meta-state they
  /// reached; otherwise the epoch is computed again (counted as a failed attempt, since only a
  /// damaged member or a bug makes them disagree).
  private mutating func completeEpoch(_ key: RunKey) -> [Directive] {
    let now = lastEvent ?? .now
    var run = rounds.active[key]!
    let group = run.epoch!
    run.epoch = nil
    let reports = group.reports.map { $0! }
    let state = reports[0].state ?? []
    let digest = SHA256.hexString(SHA256.digest(state))
    let spec = runs[key]!
    var problem: String?
    if !reports.allSatisfy({ $0.stateSHA256 == digest }) {
      problem = "the members of its group reached different meta-states"
    } else {
      do {
        let reduction = try settings.rounds!.start(
          experiment: spec.experiment, parameters: spec.parameters, seed: spec.seed, checkpoint: state)
        if reduction.step == group.toStep {
          run.reduction = reduction
        } else {
          problem = "its meta-state is at step \(reduction.step), not \(group.toStep)"
        }
      } catch {
        problem = "its meta-state does not fit the run: \(error)"
      }
    }
    rounds.active[key] = run
    if let problem {
      counters.failedAttempts += 1
      let count = failures[key, default: 0] + 1
      failures[key] = count
      return failRounds(
        key, attempt: run.attempt, message: "epoch of rounds \(group.fromStep)..<\(group.toStep): \(problem)",
        isFinal: count >= settings.retryLimit)
    }
    let roundCount = group.toStep - group.fromStep
    counters.roundsDone += roundCount
    run.roundSeconds = (now - group.started).inSeconds / Double(max(roundCount, 1))
    run.lastEpochRounds = roundCount
    run.groupFaults = 0
    if let slowest = reports.indices.max(by: { reports[$0].computeSeconds < reports[$1].computeSeconds }) {
      run.slowest = (
        name(of: group.members[slowest]), reports[slowest].computeSeconds / Double(max(roundCount, 1))
      )
    }
    run.replicaSHA256 = digest
    rounds.active[key] = run
    return afterRounds(key, now: now)
  }
}
