import SweepModel

/// The coordinator's protocol logic as a pure state machine: events in, directives out.
///
/// The dispatcher owns who runs what. It never touches a socket, a file or a clock: every event
/// carries `now`, and every effect comes back as a ``Directive`` that the `CoordinatorShell`
/// performs in order (journal directives always precede the sends that depend on them).
///
/// Guarantees, whatever the order of events:
/// - a run gets exactly one outcome: a result for a run that already has one is discarded;
/// - a result from an expired attempt is accepted while the run still has no outcome, so work a
///   slow or partitioned worker finished is not thrown away;
/// - a worker silent for ``Settings/workerTimeout`` loses its leases, which go back to pending;
/// - a run that throws is retried until it has failed ``Settings/retryLimit`` times, then marked
///   failed, so one poison run never stalls a sweep;
/// - a chained run (``Settings/segmentSteps``) is leased one segment at a time, each lease carrying
///   the run's latest checkpoint; a segment report is journaled, then the run goes back to the
///   front of the queue for whichever worker is free. Only the run's latest attempt may advance
///   its checkpoint, and only forwards, so an old checkpoint never overwrites a newer one.
public struct Dispatcher: Sendable {
  /// Timing and retry settings.
  public struct Settings: Sendable {
    /// How often the coordinator sends heartbeats and looks for silent workers. Default 0.5 s.
    public var heartbeatInterval: Duration = .milliseconds(500)
    /// A worker silent this long is presumed lost and its leases expire. Default 5 s.
    public var workerTimeout: Duration = .seconds(5)
    /// How many failed attempts make a run failed. Default 3.
    public var retryLimit = 3
    /// Runs leased to a worker beyond its slots, queued on the worker so it never waits for the
    /// round trip between two runs. Default 1; 0 for runs so long that a queued one would wait
    /// (0 also turns off the deeper queues of ``queuedWork``).
    public var prefetch = 1
    /// Short runs are queued deeper than `prefetch`: about this much work per slot (judged by
    /// the run times workers report), so messages and journal commits amortize over many runs.
    /// At most ``maxPrefetchPerSlot`` runs per slot. Default 25 ms.
    public var queuedWork: Duration = .milliseconds(25)
    /// The deepest queue per slot for very short runs. Default 256: with few workers, the runs
    /// queued must outlast the round trip through a journal commit, or the workers wait for leases.
    public var maxPrefetchPerSlot = 256
    /// The build id workers must report, or nil to accept any build. Default nil.
    public var requiredBuildID: String?
    /// Steps per lease of a chained run (nil: every run in one lease). Default nil.
    public var segmentSteps: Int?

    public init() {}
  }

  /// The latest checkpoint of a chained run.
  public struct Checkpoint: Sendable, Equatable {
    /// Steps of the run done when it was taken.
    public var stepsDone: UInt64
    /// The experiment's opaque state.
    public var bytes: [UInt8]
    public init(stepsDone: UInt64, bytes: [UInt8]) {
      self.stepsDone = stepsDone
      self.bytes = bytes
    }
  }

  /// What the shell must do, in order.
  public enum Directive: Sendable, Equatable {
    /// Send `message` to `worker`.
    case send(WireMessage, to: WorkerID)
    /// Journal that `attempt` of `key` was leased to `worker` (before the lease is sent).
    case journalLease(attempt: UInt64, key: RunKey, worker: String)
    /// Journal the accepted outcome of a run.
    case journalOutcome(WireMessage.RunResult, worker: String)
    /// Journal that a result arrived for a run that already had an outcome, and was ignored.
    case journalDiscarded(attempt: UInt64, key: RunKey, worker: String)
    /// Journal a failed attempt; `isFinal` marks the run failed for good.
    case journalFailure(WireMessage.RunFailure, worker: String, isFinal: Bool)
    /// Journal the checkpoint a segment of a chained run ended with (before the ack is sent).
    case journalCheckpoint(attempt: UInt64, key: RunKey, bytes: [UInt8], stepsDone: UInt64)
    /// Journal that an attempt's lease expired (worker lost or gone).
    case journalExpired(attempt: UInt64)
    /// Log an event.
    case log(LogEvent)
    /// Send the sweep's status (progress, workers, grid) to a status client.
    case reportStatus(to: WorkerID)
  }

  /// One connected worker, for status displays.
  public struct WorkerSummary: Sendable, Equatable {
    public var name: String
    public var slots: Int
    /// Leases it holds now (running or queued).
    public var leases: Int
  }

  /// The connected workers in arrival order.
  public var workerSummaries: [WorkerSummary] {
    workerOrder.compactMap { id in
      workers[id].map { WorkerSummary(name: $0.name, slots: $0.slots, leases: $0.attempts.count) }
    }
  }

  /// Counters for progress displays.
  public struct Progress: Sendable, Equatable {
    public var total = 0
    public var done = 0
    public var failed = 0
    public var leased = 0
    public var workers = 0
    public var slots = 0
    /// Results ignored because their run already had an outcome.
    public var discarded = 0
    /// Leases that expired because their worker went silent or left.
    public var expired = 0
    /// Failed attempts, retried or final.
    public var failedAttempts = 0
    /// Reports naming an attempt this sweep never leased (forged or corrupt), ignored.
    public var refused = 0
    /// Segments of chained runs journaled (each a checkpoint).
    public var segments = 0
    /// Segment reports ignored: from an attempt that is not its run's latest, or not ahead of the
    /// run's checkpoint.
    public var staleSegments = 0
    /// Runs completed in this process (excludes those already journaled before it started).
    public var completedHere = 0
    public var isComplete: Bool { done + failed == total }
  }

  private struct WorkerState: Sendable {
    var name: String
    var slots: Int
    /// Finishing what it holds; leased nothing more (prefetch included).
    var isDraining = false
    var lastHeard: ContinuousClock.Instant
    /// Its live leases: up to a few hundred per slot with short runs, so not an array to scan.
    var attempts: Set<UInt64> = []
  }

  private struct LeaseState: Sendable {
    var key: RunKey
    var worker: WorkerID
  }

  public let settings: Settings
  private var runs: [RunKey: RunSpec] = [:]
  /// Next run to lease is `pending.last`; requeued runs are appended so they go out first.
  private var pending: [RunKey] = []
  private var finished: Set<RunKey> = []
  private var failures: [RunKey: Int] = [:]
  private var leases: [UInt64: LeaseState] = [:]
  /// Every attempt this sweep has issued and the run it was for: a report naming any other
  /// (attempt, run) pair is forged or corrupt and never reaches the journal.
  private var issued: [UInt64: RunKey] = [:]
  /// Runs that must not go to the worker of this name (an audit re-runs a run elsewhere).
  private let avoiding: [RunKey: String]
  /// The attempt currently leased for a run, if any.
  private var leasedRuns: [RunKey: UInt64] = [:]
  /// The newest attempt issued for a run: the only one whose segment reports advance its chain.
  private var latestAttempts: [RunKey: UInt64] = [:]
  /// The latest checkpoint of each unfinished chained run.
  private var checkpoints: [RunKey: Checkpoint] = [:]
  private var workers: [WorkerID: WorkerState] = [:]
  /// Workers in arrival order, so leasing never depends on dictionary order.
  private var workerOrder: [WorkerID] = []
  private var nextAttempt: UInt64
  private var lastHeartbeat: ContinuousClock.Instant?
  /// A cautious estimate of a run's duration in seconds: it follows a longer run at once and a
  /// shorter one slowly, so one slow run makes queues shallow again (nil: nothing reported yet).
  private var runSeconds: Double?
  private var isStopping = false
  public private(set) var progress = Progress()

  /// A dispatcher for a sweep.
  /// - Parameters:
  ///   - pending: runs without an outcome, in the order they should go out.
  ///   - alreadyFinished: how many runs of the sweep were finished (done or failed) before.
  ///   - alreadyFailed: how many of those failed.
  ///   - firstAttempt: the first attempt id to use (larger than any journaled one).
  ///   - priorFailures: failed attempts pending runs already had, so the retry limit spans resumes.
  ///   - priorAttempts: attempts of pending runs leased by an earlier coordinator, whose results
  ///     are still welcome.
  ///   - checkpoints: the latest journaled checkpoint of each pending chained run.
  public init(
    pending: [RunSpec], alreadyDone: Int = 0, alreadyFailed: Int = 0, firstAttempt: UInt64 = 1,
    priorFailures: [RunKey: Int] = [:], priorAttempts: [UInt64: RunKey] = [:],
    checkpoints: [RunKey: Checkpoint] = [:], avoiding: [RunKey: String] = [:], settings: Settings = Settings()
  ) {
    self.settings = settings
    self.avoiding = avoiding
    self.failures = priorFailures
    self.issued = priorAttempts
    self.checkpoints = checkpoints
    // The maximum is the same whatever order the dictionary is visited in.
    for (attempt, key) in priorAttempts where attempt > latestAttempts[key, default: 0] {
      latestAttempts[key] = attempt
    }
    self.nextAttempt = max(firstAttempt, 1)
    // A run key is a SHA-256 of canonical JSON: compute each once.
    let keys = pending.map(\.key)
    for (key, run) in zip(keys, pending) { runs[key] = run }
    self.pending = keys.reversed()
    progress.total = pending.count + alreadyDone + alreadyFailed
    progress.done = alreadyDone
    progress.failed = alreadyFailed
  }

  /// Whether every run has an outcome or has failed for good.
  public var isComplete: Bool { progress.isComplete }

  // MARK: - Events

  /// A message arrived from `worker`.
  public mutating func onMessage(
    _ message: WireMessage, from worker: WorkerID, now: ContinuousClock.Instant
  ) -> [Directive] {
    workers[worker]?.lastHeard = now
    if workers[worker] == nil, message != .statusRequest {
      if case .hello = message {} else { lastHeardFromStranger = now }
    }
    if isStopping {
      switch message {
      case .result, .failure, .segment:
        break  // still journaled: finished work is worth keeping
      case .statusRequest:
        return [.reportStatus(to: worker)]
      default:
        // Whoever still talks (a worker we had given up on, one greeting us again) learns we are done.
        return [.send(.shutdown, to: worker)]
      }
    }
    switch message {
    case .hello(let hello): return onHello(hello, from: worker, now: now)
    case .heartbeat: return []
    case .result(let result): return onResult(result, from: worker)
    case .segment(let segment): return onSegment(segment, from: worker)
    case .failure(let failure): return onFailure(failure, from: worker)
    case .goodbye(let reason):
      var out: [Directive] = [.log(LogEvent(.info, "Worker left: \(reason)", [("worker", name(of: worker))]))]
      out += removeWorker(worker)
      return out + fill()
    case .statusRequest:
      return [.reportStatus(to: worker)]
    case .draining:
      // Keep its leases (their reports are coming) but lease it nothing more.
      guard let state = workers[worker] else { return [] }
      progress.slots -= state.slots
      workers[worker]!.slots = 0
      workers[worker]!.isDraining = true
      return [
        .log(
          LogEvent(.info, "Worker is draining: finishing its runs, taking no more", [("worker", state.name)]))
      ]
    case .welcome, .reject, .lease, .shutdown, .ack, .status:
      return [
        .log(
          LogEvent(.warning, "Ignored a coordinator-only message from a worker", [("worker", "\(worker)")]))
      ]
    }
  }

  /// Time passed: send heartbeats and expire the leases of silent workers.
  public mutating func onTick(now: ContinuousClock.Instant) -> [Directive] {
    var out: [Directive] = []
    if lastHeartbeat.map({ now - $0 >= settings.heartbeatInterval }) ?? true {
      lastHeartbeat = now
      for id in workerOrder { out.append(.send(.heartbeat, to: id)) }
      // Each event fills the slots it frees; this catches anything else, once per heartbeat.
      out += fill()
    }
    let silent = workerOrder.filter { now - workers[$0]!.lastHeard > settings.workerTimeout }
    for id in silent {
      out.append(
        .log(
          LogEvent(.warning, "Worker went silent; its runs go back to pending", [("worker", name(of: id))])))
      out += removeWorker(id)
      lastLostWorker = now
    }
    return silent.isEmpty ? out : out + fill()
  }

  /// When a peer that is not a registered worker last spoke (a worker we gave up on, resumed
  /// from SIGSTOP or a cut link): the shell lingers after stopping until such peers have been told.
  public private(set) var lastHeardFromStranger: ContinuousClock.Instant?
  /// When a worker was last given up on for its silence.
  public private(set) var lastLostWorker: ContinuousClock.Instant?

  /// Whether a stopped coordinator should keep answering: a stranger spoke within the worker
  /// timeout, or a worker was given up on within twice the timeout (a cut link's TCP retransmits
  /// back off for seconds, so its worker may still come back, with a late result, to be told to
  /// stop instead of greeting a coordinator that is gone).
  public func isExpectingStrangers(now: ContinuousClock.Instant) -> Bool {
    if let lastHeardFromStranger, now - lastHeardFromStranger < settings.workerTimeout { return true }
    if let lastLostWorker, now - lastLostWorker < settings.workerTimeout * 2 { return true }
    return false
  }

  /// Stop leasing and tell every worker to stop (Ctrl-C, SIGTERM, or the sweep is complete).
  public mutating func stop() -> [Directive] {
    isStopping = true
    return workerOrder.map { .send(.shutdown, to: $0) }
  }

  // MARK: - Handlers

  private mutating func onHello(
    _ hello: WireMessage.Hello, from id: WorkerID, now: ContinuousClock.Instant
  ) -> [Directive] {
    if hello.protocolVersion != WireCodec.protocolVersion {
      let reason =
        "protocol version \(hello.protocolVersion) is not the coordinator's \(WireCodec.protocolVersion): "
        + "run the same metasweep build on every host"
      return [
        .send(.reject(reason: reason), to: id),
        .log(LogEvent(.warning, "Refused worker: \(reason)", [("worker", hello.name)])),
      ]
    }
    if let required = settings.requiredBuildID, hello.buildID != required {
      let reason =
        "build \(hello.buildID) differs from the coordinator's build \(required): results would not be "
        + "bit-identical; install the same metasweep binary on every host"
      return [
        .send(.reject(reason: reason), to: id),
        .log(LogEvent(.warning, "Refused worker: \(reason)", [("worker", hello.name)])),
      ]
    }
    let welcome = WireMessage.Welcome(
      heartbeatIntervalMilliseconds: UInt32(clamping: settings.heartbeatInterval.milliseconds),
      peerTimeoutMilliseconds: UInt32(clamping: settings.workerTimeout.milliseconds))
    if workers[id] != nil {
      // A worker greets again when it stopped hearing from us (or before our welcome reached it),
      // but it keeps running and reporting its leases: welcome it again and keep them. A worker
      // process that really died comes back under a new routing id; the old one times out.
      return [.send(.welcome(welcome), to: id)]
    }
    var out: [Directive] = []
    workers[id] = WorkerState(name: hello.name, slots: Int(max(hello.slots, 1)), lastHeard: now)
    workerOrder.append(id)
    progress.workers = workerOrder.count
    progress.slots += Int(max(hello.slots, 1))
    out.append(.send(.welcome(welcome), to: id))
    out.append(.log(LogEvent(.info, "Worker joined", [("worker", hello.name), ("slots", "\(hello.slots)")])))
    return out + fill()
  }

  private mutating func onResult(_ result: WireMessage.RunResult, from id: WorkerID) -> [Directive] {
    let worker = name(of: id)
    let isOurs = issued[result.attempt] == result.key
    if finished.contains(result.key) || runs[result.key] == nil {
      // Nothing to record: acknowledge, so the worker forgets it (a coordinator that restarted
      // after journaling it never sent the first acknowledgement).
      if isOurs { _ = release(result.attempt) }
      progress.discarded += 1
      let journal: [Directive] =
        isOurs ? [.journalDiscarded(attempt: result.attempt, key: result.key, worker: worker)] : []
      return journal + [
        .send(.ack(attempt: result.attempt), to: id),
        .log(
          LogEvent(
            .info, "Ignored a result for a run that already has an outcome or is not in this sweep",
            [("run", result.key.short), ("attempt", "\(result.attempt)"), ("worker", worker)])),
      ] + fill()
    }
    guard isOurs else { return refuseUnknownAttempt(result.attempt, result.key, from: id) }
    // No live lease means a late result of an expired attempt: still welcome as the first outcome.
    _ = release(result.attempt)
    finished.insert(result.key)
    checkpoints[result.key] = nil
    progress.done += 1
    progress.completedHere += 1
    observe(runSeconds: result.seconds)
    return [.journalOutcome(result, worker: worker), .send(.ack(attempt: result.attempt), to: id)]
      + refill(id)
  }

  private mutating func onSegment(_ segment: WireMessage.SegmentReport, from id: WorkerID) -> [Directive] {
    let worker = name(of: id)
    let isOurs = issued[segment.attempt] == segment.key
    let metadata = [
      ("run", segment.key.short), ("attempt", "\(segment.attempt)"), ("worker", worker),
      ("steps", "\(segment.stepsDone)/\(segment.totalSteps)"),
    ]
    guard isOurs || finished.contains(segment.key) || runs[segment.key] == nil else {
      return refuseUnknownAttempt(segment.attempt, segment.key, from: id)
    }
    let wasLive = isOurs && release(segment.attempt) != nil
    let isCurrent =
      isOurs && !finished.contains(segment.key) && runs[segment.key] != nil
      && latestAttempts[segment.key] == segment.attempt
      && segment.stepsDone > checkpoints[segment.key]?.stepsDone ?? 0
    guard isCurrent else {
      // Acknowledged so the worker forgets it; the chain goes on from the checkpoint it has.
      progress.staleSegments += 1
      if wasLive && !finished.contains(segment.key) { pending.append(segment.key) }
      return [
        .send(.ack(attempt: segment.attempt), to: id),
        .log(LogEvent(.info, "Ignored a stale segment report", metadata)),
      ] + fill()
    }
    checkpoints[segment.key] = Checkpoint(stepsDone: segment.stepsDone, bytes: segment.checkpoint)
    progress.segments += 1
    observe(runSeconds: segment.seconds)
    // The front of the queue: a chain continues promptly, on whichever worker is free.
    if leasedRuns[segment.key] == nil { pending.append(segment.key) }
    return [
      .journalCheckpoint(
        attempt: segment.attempt, key: segment.key, bytes: segment.checkpoint, stepsDone: segment.stepsDone),
      .send(.ack(attempt: segment.attempt), to: id),
      .log(LogEvent(.debug, "Segment done", metadata)),
    ] + fill()
  }

  private mutating func onFailure(_ failure: WireMessage.RunFailure, from id: WorkerID) -> [Directive] {
    let worker = name(of: id)
    guard !finished.contains(failure.key), runs[failure.key] != nil else {
      if issued[failure.attempt] == failure.key { _ = release(failure.attempt) }
      return [.send(.ack(attempt: failure.attempt), to: id)] + fill()
    }
    guard issued[failure.attempt] == failure.key else {
      return refuseUnknownAttempt(failure.attempt, failure.key, from: id)
    }
    _ = release(failure.attempt)
    progress.failedAttempts += 1
    let count = failures[failure.key, default: 0] + 1
    failures[failure.key] = count
    let isFinal = count >= settings.retryLimit
    var out: [Directive] = [
      .journalFailure(failure, worker: worker, isFinal: isFinal),
      .send(.ack(attempt: failure.attempt), to: id),
    ]
    let metadata = [("run", failure.key.short), ("attempt", "\(failure.attempt)"), ("worker", worker)]
    if isFinal {
      finished.insert(failure.key)
      progress.failed += 1
      out.append(.log(LogEvent(.error, "Run failed \(count) times, giving up: \(failure.message)", metadata)))
    } else {
      // Retry after the rest of the queue: a deterministic failure should not block other runs.
      if leasedRuns[failure.key] == nil { pending.insert(failure.key, at: 0) }
      out.append(
        .log(
          LogEvent(
            .warning, "Run failed (attempt \(count) of \(settings.retryLimit)): \(failure.message)", metadata)
        ))
    }
    return out + fill()
  }

  private mutating func refuseUnknownAttempt(_ attempt: UInt64, _ key: RunKey, from id: WorkerID)
    -> [Directive]
  {
    progress.refused += 1
    return [
      .log(
        LogEvent(
          .warning, "Ignored a report for an attempt this sweep never leased",
          [("attempt", "\(attempt)"), ("run", key.short), ("worker", name(of: id))]))
    ]
  }

  // MARK: - Leasing

  /// Leases pending runs to free slots, one slot per worker in turn so work spreads evenly.
  private mutating func fill() -> [Directive] {
    guard !isStopping else { return [] }
    var out: [Directive] = []
    var progressed = true
    while progressed {
      progressed = false
      for id in workerOrder {
        guard let name = nameIfRoom(id) else { continue }
        guard let key = nextPendingKey(for: name) else {
          if avoiding.isEmpty { return out }
          continue  // another worker may take what this one must not
        }
        out += lease(key, to: id, named: name)
        progressed = true
      }
    }
    return out
  }

  /// After a result only its worker has gained room (every event fills what it frees), so the
  /// common case costs no scan of all workers.
  private mutating func refill(_ id: WorkerID) -> [Directive] {
    guard avoiding.isEmpty else { return fill() }
    guard !isStopping else { return [] }
    var out: [Directive] = []
    while let name = nameIfRoom(id), let key = nextPendingKey(for: name) {
      out += lease(key, to: id, named: name)
    }
    return out
  }

  /// The name of worker `id` if it may take another lease. Only the name leaves: a copy of the
  /// worker's state held while `lease` adds to its set of leases made `lease` copy the whole set.
  private func nameIfRoom(_ id: WorkerID) -> String? {
    guard let state = workers[id], hasRoom(state) else { return nil }
    return state.name
  }

  /// Whether `state` may take another lease: its slots, plus a queue that is deeper for shorter runs.
  private func hasRoom(_ state: WorkerState) -> Bool {
    guard !state.isDraining else { return false }
    var queued = settings.prefetch
    if queued > 0, let runSeconds {
      let perSlot = settings.queuedWork.inSeconds / max(runSeconds, 1e-9)
      queued = max(queued, state.slots * Int(min(perSlot, Double(settings.maxPrefetchPerSlot))))
    }
    return state.attempts.count < state.slots + queued
  }

  private mutating func observe(runSeconds seconds: Double) {
    guard seconds.isFinite, seconds >= 0 else { return }
    runSeconds = runSeconds.map { max(seconds, 0.95 * $0 + 0.05 * seconds) } ?? seconds
  }

  private mutating func lease(_ key: RunKey, to id: WorkerID, named name: String) -> [Directive] {
    let run = runs[key]!
    let attempt = nextAttempt
    nextAttempt += 1
    leases[attempt] = LeaseState(key: key, worker: id)
    issued[attempt] = key
    leasedRuns[key] = attempt
    latestAttempts[key] = attempt
    workers[id]!.attempts.insert(attempt)
    progress.leased += 1
    return [
      .journalLease(attempt: attempt, key: key, worker: name),
      .send(
        .lease(
          WireMessage.Lease(
            attempt: attempt, key: key, experiment: run.experiment, parameters: run.parameters,
            seed: run.seed, checkpoint: checkpoints[key]?.bytes,
            maxSteps: UInt64(max(settings.segmentSteps ?? 0, 0)))),
        to: id),
    ]
  }

  private mutating func nextPendingKey(for worker: String) -> RunKey? {
    guard !avoiding.isEmpty else {
      while let key = pending.popLast() {
        if !finished.contains(key) && leasedRuns[key] == nil { return key }
      }
      return nil
    }
    // Audits are small: scan for the next run this worker may take, dropping stale entries.
    pending.removeAll { finished.contains($0) || leasedRuns[$0] != nil }
    guard let index = pending.lastIndex(where: { avoiding[$0] != worker }) else { return nil }
    return pending.remove(at: index)
  }

  /// Forgets a lease; returns it if it was live.
  private mutating func release(_ attempt: UInt64) -> LeaseState? {
    guard let lease = leases.removeValue(forKey: attempt) else { return nil }
    if leasedRuns[lease.key] == attempt { leasedRuns[lease.key] = nil }
    workers[lease.worker]?.attempts.remove(attempt)
    progress.leased -= 1
    return lease
  }

  /// Drops a worker; its live leases expire and their runs go back to the front of the queue.
  private mutating func removeWorker(_ id: WorkerID) -> [Directive] {
    guard let state = workers.removeValue(forKey: id) else { return [] }
    workerOrder.removeAll { $0 == id }
    progress.workers = workerOrder.count
    progress.slots -= state.slots
    var out: [Directive] = []
    // In lease order, so their runs go back to the queue in a deterministic order.
    for attempt in state.attempts.sorted() {
      guard let lease = release(attempt) else { continue }
      progress.expired += 1
      out.append(.journalExpired(attempt: attempt))
      if !finished.contains(lease.key) { pending.append(lease.key) }
    }
    return out
  }

  private func name(of id: WorkerID) -> String { workers[id]?.name ?? id.description }
}

extension Duration {
  /// The duration in whole milliseconds.
  var milliseconds: Int64 {
    let (seconds, attoseconds) = components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
  }
}
