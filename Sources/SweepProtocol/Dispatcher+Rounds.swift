import SweepModel

/// Runs with rounds (design.md, "Rounds"): one meta-training run spread over many workers.
///
/// The dispatcher owns each such run's meta-state (a ``RoundsReduction`` from
/// ``Dispatcher/Settings/rounds``). Every round, each of the run's fixed shards is leased as a
/// unit of work to a worker with a free slot; the worker computes the shard's gradient from its
/// replica of the meta-state, and when every shard's gradient is in, the dispatcher reduces them in
/// shard order and takes one optimiser step. After the last round the run is an ordinary chained
/// run whose checkpoint is at its last step: one lease evaluates it and reports its outcome.
///
/// Guarantees, whatever the order of events:
/// - a round is applied once, from exactly one gradient per shard, in shard order, each computed
///   from that round's replica (its SHA-256 is checked): never an asynchronous or stale update, so
///   the run's bits do not depend on how many workers took part or which computed which shard;
/// - a shard report counts only from the worker process its unit was leased to, over the
///   connection that greeted; a report of a unit that expired, was taken back or belongs to a
///   finished round is ignored (``Progress/staleShards``);
/// - a worker that leaves, goes silent or stalls loses its units, whose shards go to other workers;
/// - a worker is sent a round's replica once (with its first unit of the round); one that lacks it
///   or holds a copy that does not hash to it gets the unit again with the replica
///   (``Progress/replicaResends``); one that fails ``maxReplicaFaults`` replicas in a row that it was
///   sent whole gets no more shards, so a faulty worker cannot stall a round for ever;
/// - the meta-state is journaled as the run's checkpoint every ``Settings/roundCheckpointInterval``,
///   after its last round, and when the coordinator stops, so a resumed coordinator goes on from
///   there with the same bits as an uninterrupted run;
/// - runs with rounds share the workers: each free slot takes the next waiting shard of the active
///   runs in turn, and a new run starts its rounds only when no active run has a shard waiting;
///   units go only to free slots (never queued behind a worker's independent runs), plus one queued
///   unit on a worker that runs nothing else, and a worker holding units takes whole runs only into
///   the slots they leave free.
extension Dispatcher {
  /// The rounds of one active run.
  struct RoundsRun: Sendable {
    var plan: RoundPlan
    var reduction: any RoundsReduction
    /// SHA-256 of ``RoundsReduction/replica``: what every shard of the round is computed from.
    var replicaSHA256: String
    /// This round's shard gradients as they arrive.
    var gradients: [[UInt8]?]
    var received = 0
    /// Shards neither leased nor received, lowest first.
    var waiting: [Int]
    /// The unit of each leased shard.
    var leasedUnits: [Int: UInt64] = [:]
    /// The coordinator's journaled attempt that the next checkpoint closes.
    var attempt: UInt64
    /// The step of the last checkpoint journaled (or resumed from).
    var checkpointedStep: Int
    var lastCheckpoint: ContinuousClock.Instant
    var roundStarted: ContinuousClock.Instant
    /// When, and at which step, its rounds started in this process.
    var started: ContinuousClock.Instant
    var startStep: Int
    /// A moving average of a round's wall time, in seconds.
    var roundSeconds: Double?
    /// The worker whose shard took longest in the last complete round, and how long.
    var slowest: (name: String, seconds: Double)?
    var slowestThisRound: (name: String, seconds: Double)?
    /// Its epoch in flight (``Settings/roundExchange`` `.peers`).
    var epoch: EpochGroup?
    /// Rounds its last epoch had (the next one's length grows from it).
    var lastEpochRounds = 0
    /// Epochs in a row whose group broke down: at ``maxGroupFaults`` its epochs go to groups of one.
    var groupFaults = 0
  }

  /// A shard of a round leased to a worker.
  struct ShardUnit: Sendable {
    var key: RunKey
    var step: Int
    var shard: Int
    var worker: WorkerID
    var holder: WorkerIdentity
    /// Whether its lease carried the round's replica (a worker that then lacks it is faulty).
    var carriedReplica: Bool
  }

  /// The rounds the dispatcher is running, and their units.
  struct RoundsBook: Sendable {
    var active: [RunKey: RoundsRun] = [:]
    /// Active runs in the order they started: free slots take their shards in turn.
    var order: [RunKey] = []
    /// Where the next turn starts in ``order``.
    var cursor = 0
    var units: [UInt64: ShardUnit] = [:]
    /// The live units of epochs, one per member of each group.
    var epochUnits: [UInt64: EpochUnit] = [:]
    var nextUnit: UInt64 = 1
    var nextEpoch: UInt64 = 1
    /// The step of each run whose replica each worker was sent.
    var replicas: [WorkerID: [RunKey: Int]] = [:]
    /// How each run with rounds is spread (runs without a plan run whole).
    var plans: [RunKey: RoundPlan] = [:]
    /// Replicas each worker lost or damaged since its last good shard, though its lease carried
    /// them; at ``maxReplicaFaults`` it gets no more shards (whole runs still).
    var replicaFaults: [WorkerID: Int] = [:]
    var excluded: Set<WorkerIdentity> = []
  }

  /// Replicas in a row a worker may fail to keep before it gets no more shards.
  static let maxReplicaFaults = 3

  /// The identity the coordinator's own attempts of runs with rounds are journaled under: no
  /// worker's (theirs are 32 hex digits), so no worker can report for them.
  static let coordinatorHolder = WorkerIdentity(digest: "coordinator")

  /// One run with rounds, for status displays.
  public struct RoundSummary: Sendable, Equatable {
    public var key: RunKey
    /// Rounds done, of ``steps``.
    public var step: Int
    public var steps: Int
    public var shards: Int
    /// Shard gradients in for the current round.
    public var shardsDone: Int
    /// Rounds per second lately (nil before a round completed).
    public var roundsPerSecond: Double?
    /// The worker whose shard took longest in the last round, and its seconds (in epochs: the
    /// member with the most compute in the last epoch, and its seconds a round).
    public var slowestWorker: String?
    public var slowestSeconds: Double?
    /// The epoch in flight (``RoundExchange/peers``).
    public var epoch: EpochProgress?
    /// How its workers share their gradients.
    public var exchange: RoundExchange
  }

  /// An epoch in flight, for status displays: the step it ends at, its members, and how many
  /// have reported.
  public struct EpochProgress: Sendable, Equatable {
    public var toStep: Int
    public var members: Int
    public var reported: Int
  }

  /// The active runs with rounds, in the order they started.
  public var roundSummaries: [RoundSummary] {
    rounds.order.compactMap { key in
      rounds.active[key].map { run in
        RoundSummary(
          key: key, step: run.reduction.step, steps: run.plan.steps, shards: run.plan.shards,
          shardsDone: run.received, roundsPerSecond: run.roundSeconds.map { 1 / max($0, 1e-9) },
          slowestWorker: run.slowest?.name, slowestSeconds: run.slowest?.seconds,
          epoch: run.epoch.map {
            EpochProgress(
              toStep: $0.toStep, members: $0.members.count,
              reported: $0.reports.lazy.filter { $0 != nil }.count)
          }, exchange: settings.roundExchange)
      }
    }
  }

  /// Notes which of `newRuns` run in rounds.
  mutating func planRounds(_ newRuns: [RunSpec]) {
    guard let model = settings.rounds else { return }
    for run in newRuns {
      if let plan = model.plan(experiment: run.experiment, parameters: run.parameters) {
        rounds.plans[run.key] = plan
      }
    }
  }

  /// Whether active run `run` waits for workers: a shard of its round, or its next epoch.
  func isWaitingForWorkers(_ run: RoundsRun) -> Bool {
    switch settings.roundExchange {
    case .coordinator: !run.waiting.isEmpty
    case .peers: run.epoch == nil
    }
  }

  /// Leases worker `id` its part of the active runs' rounds: a shard, or a place in an epoch's
  /// group; nil when none waits or the worker has no room.
  mutating func leaseNextRoundsWork(to id: WorkerID) -> [Directive]? {
    switch settings.roundExchange {
    case .coordinator: leaseNextShard(to: id)
    case .peers: leaseNextEpoch(to: id)
    }
  }

  /// Whether `key` still has rounds to run (else it is leased whole, or to finish).
  func hasRoundsToRun(_ key: RunKey) -> Bool {
    guard let plan = rounds.plans[key] else { return false }
    return checkpoints[key].map { $0.stepsDone < UInt64(plan.steps) } ?? true
  }

  /// Whether worker `state` may take a unit: a free slot, or one queued unit when it runs only units.
  func hasRoomForShard(_ state: WorkerState) -> Bool {
    guard !state.isDraining, !state.isStalled, !rounds.excluded.contains(state.identity) else { return false }
    let held = state.attempts.count + state.units.count
    return held < state.slots + (state.attempts.isEmpty ? 1 : 0)
  }

  // MARK: - Leasing

  /// Leases worker `id` the next waiting shard of the active runs, in turn; nil when none waits
  /// or the worker has no room for one.
  mutating func leaseNextShard(to id: WorkerID) -> [Directive]? {
    guard !rounds.order.isEmpty, let state = workers[id], hasRoomForShard(state) else { return nil }
    let count = rounds.order.count
    for offset in 0..<count {
      let index = (rounds.cursor + offset) % count
      let key = rounds.order[index]
      guard rounds.active[key].map({ !$0.waiting.isEmpty }) ?? false else { continue }
      let shard = rounds.active[key]!.waiting.removeFirst()
      let unit = rounds.nextUnit
      rounds.nextUnit += 1
      rounds.active[key]!.leasedUnits[shard] = unit
      let run = rounds.active[key]!
      rounds.cursor = (index + 1) % count
      let step = run.reduction.step
      let heldStep = rounds.replicas[id]?[key]
      let hasReplica = heldStep == step
      rounds.units[unit] = ShardUnit(
        key: key, step: step, shard: shard, worker: id, holder: state.identity, carriedReplica: !hasReplica)
      if workers[id]!.attempts.isEmpty && workers[id]!.units.isEmpty, let lastEvent {
        workers[id]!.waitingSince = lastEvent
      }
      workers[id]!.units.insert(unit)
      if !hasReplica {
        rounds.replicas[id, default: [:]][key] = step
        counters.replicaBytesSent += run.reduction.replica.count
      }
      // A worker that holds some replica of the run holds its context too.
      let context =
        heldStep == nil
        ? runs[key].map {
          WireMessage.RunContext(experiment: $0.experiment, parameters: $0.parameters, seed: $0.seed)
        } : nil
      return [
        .send(
          .shardLease(
            WireMessage.ShardLease(
              unit: unit, key: key, step: UInt64(step), shard: UInt32(shard),
              replicaSHA256: run.replicaSHA256,
              replica: hasReplica ? nil : run.reduction.replica, context: context)),
          to: id)
      ]
    }
    return nil
  }

  /// Starts the rounds of run `key` (from its checkpoint, if it has one). A meta-state that cannot
  /// be made (a checkpoint of another run) fails the run.
  mutating func startRounds(_ key: RunKey) -> [Directive] {
    let spec = runs[key]!
    let plan = rounds.plans[key]!
    let (attempt, journal) = issueCoordinatorAttempt(key)
    let now = lastEvent ?? .now
    let reduction: any RoundsReduction
    do {
      reduction = try settings.rounds!.start(
        experiment: spec.experiment, parameters: spec.parameters, seed: spec.seed,
        checkpoint: checkpoints[key]?.bytes)
    } catch {
      return journal
        + failRounds(key, attempt: attempt, message: "cannot start its rounds: \(error)", isFinal: true)
    }
    let run = RoundsRun(
      plan: plan, reduction: reduction, replicaSHA256: SHA256.hexString(SHA256.digest(reduction.replica)),
      gradients: Array(repeating: nil, count: plan.shards), waiting: Array(0..<plan.shards), attempt: attempt,
      checkpointedStep: reduction.step, lastCheckpoint: now, roundStarted: now, started: now,
      startStep: reduction.step)
    rounds.active[key] = run
    rounds.order.append(key)
    counters.inRounds += 1
    return journal + [
      .log(
        LogEvent(
          .info, "Run starts its rounds",
          [
            ("run", key.short), ("step", "\(reduction.step)/\(plan.steps)"), ("shards", "\(plan.shards)"),
          ]))
    ]
  }

  /// A new attempt of `key` held by the coordinator itself: the journal's handle on the run's
  /// checkpoints and failures while it runs in rounds.
  private mutating func issueCoordinatorAttempt(_ key: RunKey) -> (UInt64, [Directive]) {
    let attempt = nextAttempt
    nextAttempt += 1
    issued[attempt] = IssuedAttempt(key: key, holder: Self.coordinatorHolder)
    latestAttempts[key] = attempt
    return (
      attempt,
      [
        .journalLease(
          attempt: attempt, key: key, worker: "coordinator (rounds)", holder: Self.coordinatorHolder)
      ]
    )
  }

  // MARK: - Reports

  /// What a shard report comes to.
  private enum ShardReport {
    /// It ends this live unit (now released, its worker credited with a report).
    case accepted(ShardUnit)
    /// It does not count; perform these (a refusal's count and log line, or nothing).
    case ignored([Directive])
  }

  /// Checks a report of unit `unit` for (`key`, `step`, `shard`) from `id`. From a peer that has
  /// not greeted or changed authentication, or naming a unit leased to another process, it is
  /// refused (``refuse(_:_:_:from:peer:)``); naming a unit no longer live (expired, taken back, of
  /// a finished round, or sent over the connection of a worker given up on) it is stale and
  /// counted; otherwise the unit is released and the report accepted.
  private mutating func acceptShardReport(
    _ what: String, unit: UInt64, key: RunKey, step: UInt64, shard: UInt32, from id: WorkerID, peer: PeerInfo
  ) -> ShardReport {
    let isStale: Bool
    if let state = workers[id], state.authenticatedID == peer.authenticatedID {
      if let issued = rounds.units[unit] {
        guard issued.holder == state.identity, issued.worker == id, issued.key == key,
          UInt64(issued.step) == step, UInt64(issued.shard) == UInt64(shard)
        else { return .ignored(refuse(what, unit, key, from: id, peer: peer)) }
        noteReport(from: id)
        releaseUnit(unit)
        return .accepted(issued)
      }
      isStale = true
    } else {
      isStale =
        workers[id] == nil && lostWorkers[id].map { $0.authenticatedID == peer.authenticatedID } ?? false
    }
    guard isStale else { return .ignored(refuse(what, unit, key, from: id, peer: peer)) }
    counters.staleShards += 1
    return .ignored([])
  }

  mutating func onShardResult(_ result: WireMessage.ShardResult, from id: WorkerID, peer: PeerInfo)
    -> [Directive]
  {
    let unit: ShardUnit
    switch acceptShardReport(
      "shard result", unit: result.unit, key: result.key, step: result.step, shard: result.shard, from: id,
      peer: peer)
    {
    case .ignored(let out): return out
    case .accepted(let accepted): unit = accepted
    }
    counters.gradientBytesReceived += result.gradient.count
    longestReportSeconds = max(
      longestReportSeconds ?? 0, result.seconds.isFinite ? max(result.seconds, 0) : 0)
    // The run is changed in place (`rounds.active[key]!`): a copy would share, then duplicate, its
    // meta-state's buffers.
    guard let replicaSHA256 = rounds.active[unit.key]?.replicaSHA256 else { return fill() }
    guard result.replicaSHA256 == replicaSHA256 else {
      // Computed from another replica than the round's: never reduced. The worker's copy is
      // forgotten, so whoever computes the shard again gets the replica with it.
      rounds.replicas[id]?[unit.key] = nil
      rounds.active[unit.key]!.waiting.insert(unit.shard, at: 0)
      counters.replicaResends += 1
      return [
        .log(
          LogEvent(
            .warning,
            "A shard gradient was computed from another replica than the round's; computing it again",
            [("run", unit.key.short), ("step", "\(unit.step)"), ("worker", name(of: id))]))
      ] + fill()
    }
    rounds.replicaFaults[id] = nil
    let seconds = result.seconds.isFinite ? result.seconds : 0
    rounds.active[unit.key]!.gradients[unit.shard] = result.gradient
    rounds.active[unit.key]!.received += 1
    if seconds >= rounds.active[unit.key]!.slowestThisRound?.seconds ?? -1 {
      let workerName = name(of: id)
      rounds.active[unit.key]!.slowestThisRound = (workerName, seconds)
    }
    counters.shardsDone += 1
    var out: [Directive] = []
    if let run = rounds.active[unit.key], run.received == run.plan.shards { out += completeRound(unit.key) }
    return out + fill()
  }

  mutating func onShardFailure(_ failure: WireMessage.ShardFailure, from id: WorkerID, peer: PeerInfo)
    -> [Directive]
  {
    let unit: ShardUnit
    switch acceptShardReport(
      "shard failure", unit: failure.unit, key: failure.key, step: failure.step, shard: failure.shard,
      from: id,
      peer: peer)
    {
    case .ignored(let out): return out
    case .accepted(let accepted): unit = accepted
    }
    guard let run = rounds.active[unit.key] else { return fill() }
    rounds.active[unit.key]!.waiting.insert(unit.shard, at: 0)
    let metadata = [("run", unit.key.short), ("step", "\(unit.step)"), ("worker", name(of: id))]
    switch failure.reason {
    case .replicaMissing:
      rounds.replicas[id]?[unit.key] = nil
      counters.replicaResends += 1
      var out: [Directive] = [
        .log(
          LogEvent(
            .info, "A worker lacked the round's replica, or its copy was damaged; sending it", metadata))
      ]
      if unit.carriedReplica {
        // It lost what it was just sent: a worker that keeps doing so would stall the round forever.
        let faults = rounds.replicaFaults[id, default: 0] + 1
        rounds.replicaFaults[id] = faults
        if faults >= Self.maxReplicaFaults, let state = workers[id] {
          rounds.excluded.insert(state.identity)
          out.append(
            .log(
              LogEvent(
                .warning,
                "A worker damaged \(faults) replicas in a row that it was sent whole; it gets no more shards of rounds",
                metadata)))
        }
      }
      return out + fill()
    case .failed:
      counters.failedAttempts += 1
      let count = failures[unit.key, default: 0] + 1
      failures[unit.key] = count
      let isFinal = count >= settings.retryLimit
      return failRounds(
        unit.key, attempt: run.attempt, message: failure.message, isFinal: isFinal, worker: id)
        + fill()
    }
  }

  /// Journals a failure of a run in rounds; a final one ends its rounds and the run.
  mutating func failRounds(
    _ key: RunKey, attempt: UInt64, message: String, isFinal: Bool, worker: WorkerID? = nil
  ) -> [Directive] {
    let failure = WireMessage.RunFailure(attempt: attempt, key: key, message: message)
    let workerName = worker.map { name(of: $0) } ?? "coordinator (rounds)"
    var out: [Directive] = [.journalFailure(failure, worker: workerName, isFinal: isFinal)]
    let metadata = [("run", key.short), ("worker", workerName)]
    guard isFinal else {
      let count = failures[key, default: 0]
      out.append(
        .log(
          LogEvent(
            .warning, "A shard or an epoch failed (\(count) of \(settings.retryLimit)): \(message)", metadata)
        ))
      return out
    }
    let cancels = endRounds(key)
    finished.insert(key)
    counters.failed += 1
    out += cancels
    out.append(.log(LogEvent(.error, "Run in rounds failed, giving up: \(message)", metadata)))
    return out
  }

  /// Every shard of the round is in: reduce, step, and journal a checkpoint when one is due; after
  /// the last round the run goes to the front of the queue to be evaluated.
  private mutating func completeRound(_ key: RunKey) -> [Directive] {
    let now = lastEvent ?? .now
    if let error = Self.finishRound(&rounds.active[key]!, now: now) {
      // A gradient that does not fit the run came from a worker of another build or a bug: the
      // round is computed again, from scratch, by whoever is free.
      counters.failedAttempts += 1
      let count = failures[key, default: 0] + 1
      failures[key] = count
      let run = rounds.active[key]!
      return failRounds(
        key, attempt: run.attempt, message: "round \(run.reduction.step) could not be reduced: \(error)",
        isFinal: count >= settings.retryLimit)
    }
    counters.roundsDone += 1
    return afterRounds(key, now: now)
  }

  /// Rounds of `key` were applied: after its last one the run goes to the front of the queue to be
  /// evaluated; otherwise a checkpoint is journaled when one is due.
  mutating func afterRounds(_ key: RunKey, now: ContinuousClock.Instant) -> [Directive] {
    let run = rounds.active[key]!
    let step = run.reduction.step
    if step >= run.plan.steps {
      var out = checkpointRounds(key, continuing: false)
      out += endRounds(key)
      // An ordinary lease continues from the last checkpoint: it evaluates and reports the outcome.
      pending.append(key)
      // Milliseconds, whole: the bench divides the rounds done here by them.
      let milliseconds = (now - run.started).milliseconds
      out.append(
        .log(
          LogEvent(
            .info, "Run finished its rounds",
            [
              ("run", key.short), ("steps", "\(step)"), ("rounds_here", "\(step - run.startStep)"),
              ("milliseconds", "\(milliseconds)"),
            ])))
      return out
    }
    if now - run.lastCheckpoint >= settings.roundCheckpointInterval {
      return checkpointRounds(key, continuing: true)
    }
    return []
  }

  /// Reduces the round's gradients and takes the step, in place, and readies the next round; or,
  /// when the gradients do not fit the run, readies the same round again and returns why.
  private static func finishRound(_ run: inout RoundsRun, now: ContinuousClock.Instant) -> RoundsError? {
    let gradients = run.gradients.map { $0! }
    run.gradients = Array(repeating: nil, count: run.plan.shards)
    run.received = 0
    run.waiting = Array(0..<run.plan.shards)
    do {
      try run.reduction.apply(gradients)
    } catch {
      return error
    }
    let seconds = (now - run.roundStarted).inSeconds
    run.roundSeconds = run.roundSeconds.map { 0.9 * $0 + 0.1 * seconds } ?? seconds
    run.roundStarted = now
    run.slowest = run.slowestThisRound
    run.slowestThisRound = nil
    run.replicaSHA256 = SHA256.hexString(SHA256.digest(run.reduction.replica))
    return nil
  }

  /// Journals the meta-state of run `key` as its checkpoint (closing the coordinator's attempt,
  /// and opening the next one when the rounds go on).
  private mutating func checkpointRounds(_ key: RunKey, continuing: Bool) -> [Directive] {
    guard var run = rounds.active[key] else { return [] }
    let step = run.reduction.step
    guard step > run.checkpointedStep else {
      return continuing ? [] : [.journalExpired(attempt: run.attempt)]
    }
    let bytes = run.reduction.checkpoint
    checkpoints[key] = Checkpoint(stepsDone: UInt64(step), bytes: bytes)
    counters.segments += 1
    var out: [Directive] = [
      .journalCheckpoint(attempt: run.attempt, key: key, bytes: bytes, stepsDone: UInt64(step))
    ]
    run.checkpointedStep = step
    run.lastCheckpoint = lastEvent ?? .now
    if continuing {
      let (attempt, journal) = issueCoordinatorAttempt(key)
      run.attempt = attempt
      out += journal
    }
    rounds.active[key] = run
    return out
  }

  /// Forgets the rounds of `key`; its live units become stale (the members of its epoch in
  /// flight are told to stop).
  private mutating func endRounds(_ key: RunKey) -> [Directive] {
    let cancels = cancelEpoch(of: key)
    guard let run = rounds.active.removeValue(forKey: key) else { return cancels }
    for unit in run.leasedUnits.values { releaseUnit(unit) }
    if let index = rounds.order.firstIndex(of: key) {
      rounds.order.remove(at: index)
      if rounds.cursor > index { rounds.cursor -= 1 }
      if rounds.cursor >= rounds.order.count { rounds.cursor = 0 }
    }
    for id in rounds.replicas.keys.sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }) {
      rounds.replicas[id]?[key] = nil
    }
    counters.inRounds -= 1
    return cancels
  }

  /// Forgets a unit (its worker's room comes back).
  private mutating func releaseUnit(_ unit: UInt64) {
    guard let issued = rounds.units.removeValue(forKey: unit) else { return }
    workers[issued.worker]?.units.remove(unit)
    if rounds.active[issued.key]?.leasedUnits[issued.shard] == unit {
      rounds.active[issued.key]!.leasedUnits[issued.shard] = nil
    }
  }

  /// Takes back the units of a worker that left, went silent or stalled: their shards wait for
  /// other workers, lowest first, and the epochs it took part in are called off (their other
  /// members are told to stop).
  mutating func returnUnits(
    of id: WorkerID, _ units: Set<UInt64>, counting counter: WritableKeyPath<Progress, Int>
  ) -> [Directive] {
    var out: [Directive] = []
    for unit in units.sorted() {
      if let member = rounds.epochUnits[unit] {
        counters[keyPath: counter] += 1
        out += cancelEpoch(of: member.key)
        continue
      }
      guard let issued = rounds.units[unit] else { continue }
      releaseUnit(unit)
      counters[keyPath: counter] += 1
      guard var run = rounds.active[issued.key], run.reduction.step == issued.step,
        run.gradients[issued.shard] == nil
      else { continue }
      let index = run.waiting.firstIndex { $0 > issued.shard } ?? run.waiting.count
      run.waiting.insert(issued.shard, at: index)
      rounds.active[issued.key] = run
    }
    if workers[id] == nil { rounds.replicas[id] = nil }
    return out
  }

  /// The coordinator stops: each active run's meta-state is journaled as its checkpoint (or its
  /// attempt closed when nothing moved since the last one).
  mutating func endAllRounds() -> [Directive] {
    var out: [Directive] = []
    for key in rounds.order {
      out += checkpointRounds(key, continuing: false)
    }
    for key in rounds.order { out += endRounds(key) }
    return out
  }
}
