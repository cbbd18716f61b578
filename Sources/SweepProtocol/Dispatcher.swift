import SweepModel

/// The coordinator's protocol logic as a pure state machine: events in, directives out.
///
/// The dispatcher owns who runs what. It never touches a socket, a file or a clock: every event
/// carries `now`, and every effect comes back as a ``Directive`` that the `CoordinatorShell`
/// performs in order (journal directives always precede the sends that depend on them).
///
/// Guarantees, whatever the order of events:
/// - a run gets exactly one outcome: a result for a run that already has one is discarded;
/// - a report (result, segment, failure or refusal) counts only from the worker process its attempt was
///   leased to, over a connection that greeted (and, under CURVE, with the same key): anything
///   else is dropped unacknowledged, counted in ``Progress/refused`` and logged once per peer;
/// - a result from an expired attempt is accepted while the run still has no outcome, so work a
///   slow or partitioned worker finished is not thrown away;
/// - a worker silent for ``Settings/workerTimeout`` loses its leases, which go back to pending;
/// - a worker holds at most its slots (at most ``Settings/maxSlotsPerWorker``) plus a queue of
///   at most ``Settings/maxQueuedPerWorker``, and at most ``Settings/initialLeaseAllowance``
///   leases until it has reported, twice that after each report; a worker that holds leases
///   without reporting for ``Settings/stallFactor`` times the longest run reported so far (at least
///   ``Settings/minimumStallTimeout``) loses them, and gets no more until it reports;
/// - a run that throws is retried until it has failed ``Settings/retryLimit`` times, then marked
///   failed, so one poison run never stalls a sweep;
/// - a run a worker refuses (its copy of the run's dataset differs) is never leased to that
///   worker process again and does not count as a failure; when every connected worker has refused
///   it, it fails or waits for a new worker (``Settings/waitsForCapableWorkers``);
/// - a chained run (``Settings/segmentSteps``) is leased one segment at a time, each lease carrying
///   the run's latest checkpoint; a segment report is journaled, then the run goes back to the
///   front of the queue for whichever worker is free. Only the run's latest attempt may advance
///   its checkpoint, and only forwards, so an old checkpoint never overwrites a newer one.
/// - a run with rounds (``Settings/rounds``) is spread over many workers, next to the leases of
///   whole runs and segments: a shard of a round per unit of work (``RoundExchange/coordinator``;
///   Dispatcher+Rounds.swift lists its guarantees), or a member's part in an epoch of rounds
///   (``RoundExchange/peers``; Dispatcher+Epochs.swift).
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
    /// The deepest queue per worker, whatever its slots. Default 256: with few workers, the runs
    /// queued must outlast the round trip through a journal commit, or the workers wait for leases.
    public var maxQueuedPerWorker = 256
    /// The most slots a worker is believed to have; a hello announcing more counts as this many.
    /// Default 1,024, more cores than any one host we expect.
    public var maxSlotsPerWorker = 1024
    /// The most leases a worker holds before its first report; each report it makes doubles it.
    /// Default 64: a peer that only announces slots and never reports holds at most this many.
    public var initialLeaseAllowance = 64
    /// Runs that take at least this long (as reported) are never queued beyond a worker's slots:
    /// a lease's round trip is milliseconds against their seconds, and a run queued behind a
    /// running one would wait while another worker's core is free at a sweep's end. Default 1 s.
    public var longRunSeconds = 1.0
    /// The workers the sweep starts itself (local ones): until that many have greeted, and before
    /// any run time is known, nothing is queued beyond slots, so the first to greet does not take
    /// a run that the next is about to be free for. Default 0 (workers come as they come).
    public var expectedWorkers = 0
    /// A worker holding leases that has reported nothing for `stallFactor` times the longest run
    /// (or segment) reported in this sweep so far loses its leases. Default 10.
    public var stallFactor = 10.0
    /// The shortest such deadline. Default 60 s. No deadline applies before a first report.
    public var minimumStallTimeout: Duration = .seconds(60)
    /// The build id workers must report, or nil to accept any build. Default nil.
    public var requiredBuildID: String?
    /// Steps per lease of a chained run (nil: every run in one lease). Default nil.
    public var segmentSteps: Int?
    /// What becomes of a run every connected worker has refused (their copies of its dataset
    /// differ from the one the sweep pinned): it waits for a worker that can run it (true, for a
    /// cluster, whose workers come and go) or fails at once (false, for local workers, which all
    /// read the coordinator's disk). Default false.
    public var waitsForCapableWorkers = false
    /// Which runs are spread over workers in rounds, and their meta-state (injected by the
    /// executable from the experiments). Default nil: every run runs whole on one worker.
    public var rounds: (any RoundsModel)?
    /// How often a run with rounds journals its meta-state as a checkpoint (also after its last
    /// round, and when the coordinator stops). Default 10 s.
    public var roundCheckpointInterval: Duration = .seconds(10)
    /// How the workers of a run with rounds share their shard gradients. Default `.coordinator`
    /// (`metasweep run` chooses `.peers` unless told otherwise).
    public var roundExchange: RoundExchange = .coordinator
    /// About how long an epoch of rounds lasts (``RoundExchange/peers``): a group's members change,
    /// and a lost member's work is computed again, only at its ends. Default 1 s.
    public var epochDuration: Duration = .seconds(1)
    /// The key from which each epoch's secret is derived (drawn at random for each coordinator).
    public var epochKey: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }

    public init() {}
  }

  /// How the workers of a run with rounds share their shard gradients.
  public enum RoundExchange: String, Sendable, Equatable, CaseIterable {
    /// Through the coordinator, every round: it leases each shard, sums the gradients and takes the
    /// step, and sends the next round's parameters (two messages on the path of every round).
    case coordinator
    /// Directly between the workers: the coordinator leases an epoch of rounds to a group of
    /// workers, which exchange their shard gradients over their peer sockets and each take every
    /// step itself (one message on the path of a round; none in a group of one).
    case peers
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
    /// Journal that the worker process `holder`, named `name`, joined from a host of machine type
    /// `machine` (before anything is leased to it).
    case journalWorker(holder: WorkerIdentity, name: String, machine: String)
    /// Journal that `attempt` of `key` was leased to `worker`, the process `holder` (before the
    /// lease is sent).
    case journalLease(attempt: UInt64, key: RunKey, worker: String, holder: WorkerIdentity)
    /// Journal the accepted outcome of a run.
    case journalOutcome(WireMessage.RunResult, worker: String)
    /// Journal that a result arrived for a run that already had an outcome, and was ignored.
    case journalDiscarded(attempt: UInt64, key: RunKey, worker: String)
    /// Journal a failed attempt; `isFinal` marks the run failed for good.
    case journalFailure(WireMessage.RunFailure, worker: String, isFinal: Bool)
    /// Journal the checkpoint a segment of a chained run ended with (before the ack is sent).
    case journalCheckpoint(attempt: UInt64, key: RunKey, bytes: [UInt8], stepsDone: UInt64, log: [UInt8] = [])
    /// Journal that an attempt's lease expired (worker lost or gone).
    case journalExpired(attempt: UInt64)
    /// Journal runs added while the sweep is served (a sweep graph's runs whose inputs now exist),
    /// before any of them is leased.
    case journalRuns([RunSpec])
    /// Log an event.
    case log(LogEvent)
    /// Send the sweep's status (progress, workers, grid) to a status client.
    case reportStatus(to: WorkerID)

    /// Whether the directive writes to the journal.
    public var isJournalRecord: Bool {
      switch self {
      case .journalWorker, .journalLease, .journalOutcome, .journalDiscarded, .journalFailure,
        .journalExpired, .journalCheckpoint, .journalRuns:
        true
      case .send, .log, .reportStatus: false
      }
    }
  }

  /// One connected worker, for status displays.
  public struct WorkerSummary: Sendable, Equatable {
    public var name: String
    public var slots: Int
    /// Leases it holds now (running or queued).
    public var leases: Int
    /// Its host's machine type (CPU model and OpenBLAS kernel).
    public var machine: String
  }

  /// The connected workers in arrival order.
  public var workerSummaries: [WorkerSummary] {
    workerOrder.compactMap { id in
      workers[id].map {
        WorkerSummary(
          name: $0.name, slots: $0.slots, leases: $0.attempts.count + $0.units.count, machine: $0.machine)
      }
    }
  }

  /// Counters for progress displays.
  public struct Progress: Sendable, Equatable {
    public var total = 0
    public var done = 0
    public var failed = 0
    /// Leases out now: running on a worker, or queued on it behind its slots.
    public var leased = 0
    /// Of ``leased``, those a worker's slots can be running (a worker runs its oldest leases), in the
    /// slots its shards of rounds leave free.
    public var running = 0
    /// Of ``leased``, those queued on a worker behind its slots.
    public var queued = 0
    public var workers = 0
    public var slots = 0
    /// Results ignored because their run already had an outcome.
    public var discarded = 0
    /// Leases that expired because their worker went silent or left.
    public var expired = 0
    /// Failed attempts, retried or final.
    public var failedAttempts = 0
    /// Leases a worker refused because its copy of an input differs; the run goes to another worker.
    public var refusedLeases = 0
    /// Reports refused: from a peer that has not greeted, or naming an attempt this sweep never
    /// leased to that worker (forged or corrupt). Never journaled, never acknowledged.
    public var refused = 0
    /// Leases taken back from workers that held them without reporting past the stall deadline.
    public var reclaimed = 0
    /// Checkpoints journaled: of chained runs' segments, and of runs in rounds' meta-state.
    public var segments = 0
    /// Segment reports ignored: from an attempt that is not its run's latest, or not ahead of the
    /// run's checkpoint.
    public var staleSegments = 0
    /// Runs completed in this process (excludes those already journaled before it started).
    public var completedHere = 0
    /// Runs' worth of work done in this process, for the ETA: a segment of a chained run counts the
    /// share of its run's steps it did, and a completed run 1 less what its segments here counted
    /// (a run resumed from an older process's checkpoint counts whole when it ends without a
    /// segment here). Without chained runs it is ``completedHere``.
    public var workDoneHere = 0.0
    /// Of the runs not yet ended, the share of their steps their latest checkpoint holds (chained
    /// runs with a segment reported in this process).
    public var workInProgress = 0.0
    /// Runs spread over workers in rounds now.
    public var inRounds = 0
    /// Rounds completed (optimiser steps reduced) in this process.
    public var roundsDone = 0
    /// Shards of rounds computed (their gradients accepted).
    public var shardsDone = 0
    /// Shard reports of units no longer live (expired, taken back, or of a finished round): ignored.
    public var staleShards = 0
    /// Shards computed again because their worker lacked the round's replica or held a damaged one.
    public var replicaResends = 0
    /// Bytes of replicas sent to workers, and of shard gradients received.
    public var replicaBytesSent = 0
    public var gradientBytesReceived = 0
    public var isComplete: Bool { done + failed == total }
    /// Runs neither finished, leased nor in rounds.
    public var pending: Int { total - done - failed - leased - inRounds }
  }

  struct WorkerState: Sendable {
    var name: String
    var slots: Int
    /// Its host's machine type, from its hello.
    var machine: String
    /// The worker process, across connections.
    var identity: WorkerIdentity
    /// Who the transport authenticated its connection as (nil: plaintext); every report must agree.
    var authenticatedID: String?
    /// Its network address, for logs.
    var address: String
    /// Finishing what it holds; leased nothing more (prefetch included).
    var isDraining = false
    var lastHeard: ContinuousClock.Instant
    /// Its live leases: up to a few hundred per slot with short runs, so not an array to scan.
    var attempts: Set<UInt64> = []
    /// Reports (results, segments, failures) it has made: its lease allowance doubles with each.
    var reports = 0
    /// Since when it has been holding leases without reporting: its last report, or the lease
    /// that ended a time of holding none.
    var waitingSince: ContinuousClock.Instant
    /// Its leases were taken back for want of reports; it gets none until it reports again.
    var isStalled = false
    /// The input artifacts (SHA-256) of runs leased to it: it has fetched them, or is fetching.
    var holdings: Set<String> = []
    /// Its live shard units of rounds.
    var units: Set<UInt64> = []
    /// Where the members of its epochs' groups send it their shard gradients (nil: it takes part
    /// only in groups of one).
    var peerEndpoint: String?
  }

  /// An attempt this sweep issued: its run, and the worker process it was leased to (nil for an
  /// attempt journaled before holders were recorded, which nobody may report).
  public struct IssuedAttempt: Sendable, Equatable {
    public var key: RunKey
    public var holder: WorkerIdentity?
    public init(key: RunKey, holder: WorkerIdentity?) {
      self.key = key
      self.holder = holder
    }
  }

  private struct LeaseState: Sendable {
    var key: RunKey
    var worker: WorkerID
  }

  public let settings: Settings
  var runs: [RunKey: RunSpec] = [:]
  /// Next run to lease is `pending.last`; requeued runs are appended so they go out first.
  var pending: [RunKey] = []
  var finished: Set<RunKey> = []
  var failures: [RunKey: Int] = [:]
  /// The workers (by identity: a restarted process is a new one) that refused each run; it never
  /// goes to them again.
  private var refusals: [RunKey: Set<WorkerIdentity>] = [:]
  /// Workers whose first refusal has been logged (later ones are logged at debug level).
  private var refusingWorkers: Set<WorkerIdentity> = []
  /// Whether a run left with no connected worker that can run it has been logged.
  private var hasLoggedStrandedRun = false
  private var leases: [UInt64: LeaseState] = [:]
  /// Every attempt this sweep has issued, the run it was for and the process it went to: a report
  /// naming any other (attempt, run, process) is forged or corrupt and never reaches the journal.
  var issued: [UInt64: IssuedAttempt] = [:]
  /// Connections of workers given up on for their silence, and who they were: a partitioned or
  /// stopped worker's late reports arrive over its old connection, before it greets again. At most
  /// ``lostWorkersKept``, oldest forgotten first.
  var lostWorkers: [WorkerID: (identity: WorkerIdentity, authenticatedID: String?)] = [:]
  private var lostWorkerOrder: [WorkerID] = []
  private static let lostWorkersKept = 4096
  /// Peers whose refused reports have been logged (at most ``refusedPeersLogged``).
  private var refusedPeers: Set<WorkerID> = []
  private static let refusedPeersLogged = 1024
  /// The time of the event being handled (events carry `now`; leasing needs it too).
  var lastEvent: ContinuousClock.Instant?
  /// The longest run or segment a worker has reported, in seconds: the stall deadline's measure.
  var longestReportSeconds: Double?
  /// Runs that must not go to the worker of this name (an audit re-runs a run elsewhere).
  private let avoiding: [RunKey: String]
  /// The attempt currently leased for a run, if any.
  private var leasedRuns: [RunKey: UInt64] = [:]
  /// The newest attempt issued for a run: the only one whose segment reports advance its chain.
  var latestAttempts: [RunKey: UInt64] = [:]
  /// The latest checkpoint of each unfinished chained run.
  var checkpoints: [RunKey: Checkpoint] = [:]
  var workers: [WorkerID: WorkerState] = [:]
  /// Workers in arrival order, so leasing never depends on dictionary order.
  var workerOrder: [WorkerID] = []
  /// The machine types of the workers that joined this sweep, in the order they first appeared.
  private var machineTypes: [String] = []
  var nextAttempt: UInt64
  private var lastHeartbeat: ContinuousClock.Instant?
  /// A cautious estimate of a run's duration in seconds: it follows a longer run at once and a
  /// shorter one slowly, so one slow run makes queues shallow again (nil: nothing reported yet).
  private var runSeconds: Double?
  var isStopping = false
  var counters = Progress()
  /// Each chained run's share of its steps done, by its latest segment reported here.
  private var chainShares: [RunKey: Double] = [:]
  /// Whether some run consumes artifacts: leasing then looks for runs whose inputs a worker holds.
  private var hasRunsWithInputs = false
  /// How far from the front of the queue leasing looks for a run whose inputs the worker holds.
  private static let holderLookahead = 64
  /// Runs with rounds and their units of work (Dispatcher+Rounds.swift).
  var rounds = RoundsBook()

  /// The sweep's counters, with leases split into running and queued.
  public var progress: Progress {
    var progress = counters
    progress.running = 0
    for id in workerOrder {
      let state = workers[id]!
      // Runs only (shards of rounds have their own counters): those the slots its shards leave free can run.
      progress.running += min(state.attempts.count, max(state.slots - state.units.count, 0))
    }
    progress.queued = counters.leased - progress.running
    progress.workInProgress = chainShares.reduce(0) { $0 + (finished.contains($1.key) ? 0 : $1.value) }
    return progress
  }

  /// A dispatcher for a sweep.
  /// - Parameters:
  ///   - pending: runs without an outcome, in the order they should go out.
  ///   - alreadyFinished: how many runs of the sweep were finished (done or failed) before.
  ///   - alreadyFailed: how many of those failed.
  ///   - firstAttempt: the first attempt id to use (larger than any journaled one).
  ///   - priorFailures: failed attempts pending runs already had, so the retry limit spans resumes.
  ///   - priorAttempts: attempts of pending runs leased by an earlier coordinator, whose results
  ///     are still welcome from the processes they were leased to.
  ///   - checkpoints: the latest journaled checkpoint of each pending chained run.
  public init(
    pending: [RunSpec], alreadyDone: Int = 0, alreadyFailed: Int = 0, firstAttempt: UInt64 = 1,
    priorFailures: [RunKey: Int] = [:], priorAttempts: [UInt64: IssuedAttempt] = [:],
    checkpoints: [RunKey: Checkpoint] = [:], avoiding: [RunKey: String] = [:], settings: Settings = Settings()
  ) {
    self.settings = settings
    self.avoiding = avoiding
    self.failures = priorFailures
    self.issued = priorAttempts
    self.checkpoints = checkpoints
    // The maximum is the same whatever order the dictionary is visited in.
    for (attempt, prior) in priorAttempts where attempt > latestAttempts[prior.key, default: 0] {
      latestAttempts[prior.key] = attempt
    }
    self.nextAttempt = max(firstAttempt, 1)
    // A run key is a SHA-256 of canonical JSON: compute each once.
    let keys = pending.map(\.key)
    for (key, run) in zip(keys, pending) { runs[key] = run }
    hasRunsWithInputs = pending.contains { !$0.inputs.isEmpty }
    self.pending = keys.reversed()
    planRounds(pending)
    counters.total = pending.count + alreadyDone + alreadyFailed
    counters.done = alreadyDone
    counters.failed = alreadyFailed
  }

  /// Whether every run has an outcome or has failed for good.
  public var isComplete: Bool { counters.isComplete }

  /// Whether `id` is the connection of a worker that greeted (the shell then need not look up
  /// its address again).
  public func isRegistered(_ id: WorkerID) -> Bool { workers[id] != nil }

  // MARK: - Events

  /// A message arrived from `worker`; `peer` is what the transport knows of its sender (the shell
  /// passes it for hellos and reports).
  public mutating func onMessage(
    _ message: WireMessage, from worker: WorkerID, now: ContinuousClock.Instant, peer: PeerInfo = PeerInfo()
  ) -> [Directive] {
    lastEvent = now
    workers[worker]?.lastHeard = now
    if workers[worker] == nil, message != .statusRequest {
      if case .hello = message {} else { lastHeardFromStranger = now }
    }
    if isStopping {
      switch message {
      case .result, .failure, .refusal, .segment:
        break  // still journaled: finished work is worth keeping
      case .shardResult, .shardFailure, .epochReport:
        return []  // the rounds are checkpointed and over
      case .statusRequest:
        return [.reportStatus(to: worker)]
      case .hello(let hello) where workers[worker] == nil:
        // A worker we had given up on: welcomed, so it resends what it finished (reports count only
        // from a worker that greeted), and told to stop.
        return onHello(hello, from: worker, now: now, peer: peer) + [.send(.shutdown, to: worker)]
      default:
        // Whoever still talks (a worker we had given up on, one greeting us again) learns we are done.
        return [.send(.shutdown, to: worker)]
      }
    }
    switch message {
    case .hello(let hello): return onHello(hello, from: worker, now: now, peer: peer)
    case .heartbeat: return []
    case .result(let result): return onResult(result, from: worker, peer: peer)
    case .segment(let segment): return onSegment(segment, from: worker, peer: peer)
    case .failure(let failure): return onFailure(failure, from: worker, peer: peer)
    case .refusal(let refusal): return onRefusal(refusal, from: worker, peer: peer)
    case .shardResult(let result): return onShardResult(result, from: worker, peer: peer)
    case .epochReport(let report): return onEpochReport(report, from: worker, peer: peer)
    case .shardFailure(let failure): return onShardFailure(failure, from: worker, peer: peer)
    case .goodbye(let reason):
      var out: [Directive] = [.log(LogEvent(.info, "Worker left: \(reason)", [("worker", name(of: worker))]))]
      out += removeWorker(worker)
      return out + fill()
    case .statusRequest:
      return [.reportStatus(to: worker)]
    case .draining:
      // Keep its leases (their reports are coming) but lease it nothing more.
      guard let state = workers[worker], !state.isDraining else { return [] }
      counters.slots -= state.slots
      workers[worker]!.isDraining = true
      return [
        .log(
          LogEvent(.info, "Worker is draining: finishing its runs, taking no more", [("worker", state.name)]))
      ]
    case .artifactRequest:
      return []  // served by the shell, which holds the artifact store
    case .welcome, .reject, .lease, .shutdown, .ack, .status, .artifactChunk, .artifactMissing, .shardLease,
      .epochLease, .epochCancel:
      return [
        .log(
          LogEvent(.warning, "Ignored a coordinator-only message from a worker", [("worker", "\(worker)")]))
      ]
    }
  }

  /// Time passed: send heartbeats, expire the leases of silent workers, and take back those of
  /// workers that hold leases without reporting past the stall deadline.
  public mutating func onTick(now: ContinuousClock.Instant) -> [Directive] {
    lastEvent = now
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
      if let state = workers[id] {
        rememberLost(id, identity: state.identity, authenticatedID: state.authenticatedID)
      }
      out += removeWorker(id)
      lastLostWorker = now
    }
    var reclaimed = false
    if let deadline = stallDeadline {
      for id in workerOrder {
        let state = workers[id]!
        guard !(state.attempts.isEmpty && state.units.isEmpty), !state.isStalled,
          now - state.waitingSince > deadline
        else { continue }
        out += reclaimLeases(of: id, deadline: deadline)
        reclaimed = true
      }
    }
    return silent.isEmpty && !reclaimed ? out : out + fill()
  }

  /// How long a worker may hold leases without reporting (nil before any report: nothing to go by).
  private var stallDeadline: Duration? {
    guard let longestReportSeconds else { return nil }
    let scaled = min(longestReportSeconds * settings.stallFactor, 1e9)
    return max(settings.minimumStallTimeout, .seconds(scaled))
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

  /// The coordinator is leaving: every live lease ends here, journaled as expired, so the journal
  /// of a stopped sweep shows nothing running (a late report of one is still welcome later), and
  /// each run in rounds journals the meta-state it reached as its checkpoint.
  public mutating func endLeases() -> [Directive] {
    endAllRounds()
      + leases.keys.sorted().compactMap { attempt in
        release(attempt).map { _ in .journalExpired(attempt: attempt) }
      }
  }

  /// Stop leasing and tell every worker to stop (Ctrl-C, SIGTERM, or the sweep is complete).
  public mutating func stop() -> [Directive] {
    isStopping = true
    return workerOrder.map { .send(.shutdown, to: $0) }
  }

  /// Runs that became known while the sweep is served (a sweep graph's runs whose inputs now
  /// exist): `pending` ones are queued ahead of older runs (a consumer starts as soon as its inputs
  /// exist), `done` and `failed` ones (already journaled with that outcome) only count. Every one
  /// is journaled first; runs the dispatcher knows already are left alone.
  public mutating func add(pending newRuns: [RunSpec], done: [RunSpec] = [], failed: [RunSpec] = [])
    -> [Directive]
  {
    var journaled: [RunSpec] = []
    for (list, counter) in [(done, \Progress.done), (failed, \Progress.failed)] {
      for run in list {
        let key = run.key
        guard runs[key] == nil, !finished.contains(key) else { continue }
        finished.insert(key)
        counters.total += 1
        counters[keyPath: counter] += 1
        journaled.append(run)
      }
    }
    var queued: [RunKey] = []
    for run in newRuns {
      let key = run.key
      guard runs[key] == nil, !finished.contains(key) else { continue }
      runs[key] = run
      if !run.inputs.isEmpty { hasRunsWithInputs = true }
      counters.total += 1
      queued.append(key)
      journaled.append(run)
    }
    planRounds(newRuns.filter { queued.contains($0.key) })
    guard !journaled.isEmpty else { return [] }
    // `pending.last` goes first: the first of the new runs is leased first.
    pending += queued.reversed()
    return [.journalRuns(journaled)] + fill()
  }

  // MARK: - Handlers

  private mutating func onHello(
    _ hello: WireMessage.Hello, from id: WorkerID, now: ContinuousClock.Instant, peer: PeerInfo
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
    lostWorkers[id] = nil
    let slots = Int(min(max(hello.slots, 1), UInt32(clamping: max(settings.maxSlotsPerWorker, 1))))
    let identity = WorkerIdentity(session: hello.session, authenticatedID: peer.authenticatedID)
    workers[id] = WorkerState(
      name: hello.name, slots: slots, machine: hello.machine, identity: identity,
      authenticatedID: peer.authenticatedID, address: peer.address, lastHeard: now, waitingSince: now,
      peerEndpoint: Self.peerEndpoint(address: peer.address, port: hello.peerPort))
    workerOrder.append(id)
    counters.workers = workerOrder.count
    counters.slots += slots
    var out: [Directive] = [
      .journalWorker(holder: identity, name: hello.name, machine: hello.machine),
      .send(.welcome(welcome), to: id),
      .log(
        LogEvent(
          .info, "Worker joined",
          [
            ("worker", hello.name), ("slots", "\(slots)"), ("peer", peer.address), ("machine", hello.machine),
          ])),
    ]
    if !machineTypes.contains(hello.machine) {
      if let first = machineTypes.first {
        out.append(
          .log(
            LogEvent(
              .warning,
              "A worker of another machine type joined: runs it computes may differ in their last bits "
                + "from the same runs on the others (the journal keeps which machine type computed each run)",
              [("worker", hello.name), ("machine", hello.machine), ("first", first)])))
      }
      machineTypes.append(hello.machine)
    }
    if Int(hello.slots) > slots {
      out.append(
        .log(
          LogEvent(
            .warning,
            "Worker announced \(hello.slots) slots; counting \(slots), the most one worker may have",
            [("worker", hello.name), ("peer", peer.address)])))
    }
    return out + fill()
  }

  private mutating func onResult(_ result: WireMessage.RunResult, from id: WorkerID, peer: PeerInfo)
    -> [Directive]
  {
    guard let isOurs = check(result.attempt, result.key, from: id, peer: peer) else {
      return refuse("result", result.attempt, result.key, from: id, peer: peer)
    }
    let worker = name(of: id)
    if finished.contains(result.key) || runs[result.key] == nil {
      noteReport(from: id)
      // Nothing to record: acknowledge, so the worker forgets it (a coordinator that restarted
      // after journaling it never sent the first acknowledgement).
      if isOurs { _ = release(result.attempt) }
      counters.discarded += 1
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
    guard isOurs else { return refuse("result", result.attempt, result.key, from: id, peer: peer) }
    noteReport(from: id)
    // No live lease means a late result of an expired attempt: still welcome as the first outcome.
    _ = release(result.attempt)
    finished.insert(result.key)
    checkpoints[result.key] = nil
    counters.done += 1
    counters.completedHere += 1
    counters.workDoneHere += 1 - (chainShares.removeValue(forKey: result.key) ?? 0)
    observe(runSeconds: result.seconds)
    return [.journalOutcome(result, worker: worker), .send(.ack(attempt: result.attempt), to: id)]
      + refill(id)
  }

  private mutating func onSegment(_ segment: WireMessage.SegmentReport, from id: WorkerID, peer: PeerInfo)
    -> [Directive]
  {
    guard let isOurs = check(segment.attempt, segment.key, from: id, peer: peer) else {
      return refuse("segment report", segment.attempt, segment.key, from: id, peer: peer)
    }
    let worker = name(of: id)
    let metadata = [
      ("run", segment.key.short), ("attempt", "\(segment.attempt)"), ("worker", worker),
      ("steps", "\(segment.stepsDone)/\(segment.totalSteps)"),
    ]
    guard isOurs || finished.contains(segment.key) || runs[segment.key] == nil else {
      return refuse("segment report", segment.attempt, segment.key, from: id, peer: peer)
    }
    noteReport(from: id)
    let wasLive = isOurs && release(segment.attempt) != nil
    let isCurrent =
      isOurs && !finished.contains(segment.key) && runs[segment.key] != nil
      && latestAttempts[segment.key] == segment.attempt
      && segment.stepsDone > checkpoints[segment.key]?.stepsDone ?? 0
    guard isCurrent else {
      // Acknowledged so the worker forgets it; the chain goes on from the checkpoint it has.
      counters.staleSegments += 1
      if wasLive && !finished.contains(segment.key) { pending.append(segment.key) }
      return [
        .send(.ack(attempt: segment.attempt), to: id),
        .log(LogEvent(.info, "Ignored a stale segment report", metadata)),
      ] + fill()
    }
    let total = Double(max(segment.totalSteps, 1))
    let share = Double(segment.stepsDone) / total
    let before = chainShares[segment.key] ?? Double(checkpoints[segment.key]?.stepsDone ?? 0) / total
    counters.workDoneHere += max(share - before, 0)
    chainShares[segment.key] = share
    checkpoints[segment.key] = Checkpoint(stepsDone: segment.stepsDone, bytes: segment.checkpoint)
    counters.segments += 1
    observe(runSeconds: segment.seconds)
    // The front of the queue: a chain continues promptly, on whichever worker is free.
    if leasedRuns[segment.key] == nil { pending.append(segment.key) }
    return [
      .journalCheckpoint(
        attempt: segment.attempt, key: segment.key, bytes: segment.checkpoint, stepsDone: segment.stepsDone,
        log: segment.log),
      .send(.ack(attempt: segment.attempt), to: id),
      .log(LogEvent(.debug, "Segment done", metadata)),
    ] + fill()
  }

  private mutating func onFailure(_ failure: WireMessage.RunFailure, from id: WorkerID, peer: PeerInfo)
    -> [Directive]
  {
    guard let isOurs = check(failure.attempt, failure.key, from: id, peer: peer) else {
      return refuse("failure report", failure.attempt, failure.key, from: id, peer: peer)
    }
    let worker = name(of: id)
    guard !finished.contains(failure.key), runs[failure.key] != nil else {
      noteReport(from: id)
      if isOurs { _ = release(failure.attempt) }
      return [.send(.ack(attempt: failure.attempt), to: id)] + fill()
    }
    guard isOurs else { return refuse("failure report", failure.attempt, failure.key, from: id, peer: peer) }
    noteReport(from: id)
    _ = release(failure.attempt)
    counters.failedAttempts += 1
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
      counters.failed += 1
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

  /// A worker cannot run a lease with what it has (its copy of the run's dataset differs from the
  /// one the sweep pinned). The run never goes to that worker process again and does not count as
  /// failed: it goes to the front of the queue for another worker. When no connected worker can
  /// run it, it waits for one or fails (``Settings/waitsForCapableWorkers``).
  private mutating func onRefusal(_ refusal: WireMessage.RunFailure, from id: WorkerID, peer: PeerInfo)
    -> [Directive]
  {
    guard let isOurs = check(refusal.attempt, refusal.key, from: id, peer: peer) else {
      return refuse("refusal", refusal.attempt, refusal.key, from: id, peer: peer)
    }
    guard !finished.contains(refusal.key), runs[refusal.key] != nil, let state = workers[id] else {
      noteReport(from: id)
      if isOurs { _ = release(refusal.attempt) }
      return [.send(.ack(attempt: refusal.attempt), to: id)] + fill()
    }
    guard isOurs else { return refuse("refusal", refusal.attempt, refusal.key, from: id, peer: peer) }
    noteReport(from: id)
    _ = release(refusal.attempt)
    counters.refusedLeases += 1
    refusals[refusal.key, default: []].insert(state.identity)
    let metadata = [("run", refusal.key.short), ("attempt", "\(refusal.attempt)"), ("worker", state.name)]
    var out: [Directive] = [.send(.ack(attempt: refusal.attempt), to: id)]
    if refusingWorkers.insert(state.identity).inserted {
      out.append(
        .log(
          LogEvent(
            .warning,
            "Worker refused a run, which goes to another worker; it gets none it refuses: \(refusal.message)",
            metadata)))
    } else {
      out.append(.log(LogEvent(.debug, "Worker refused a run: \(refusal.message)", metadata)))
    }
    let refusers = refusals[refusal.key]!
    let someoneCan = workerOrder.contains { other in
      workers[other].map { !refusers.contains($0.identity) } ?? false
    }
    if someoneCan || settings.waitsForCapableWorkers {
      out.append(.journalExpired(attempt: refusal.attempt))
      pending.append(refusal.key)
      if !someoneCan && !hasLoggedStrandedRun {
        hasLoggedStrandedRun = true
        out.append(
          .log(
            LogEvent(
              .error,
              "Every connected worker refused a run; it waits for a worker that can run it: \(refusal.message)",
              metadata)))
      }
    } else {
      finished.insert(refusal.key)
      counters.failed += 1
      out.append(.journalFailure(refusal, worker: state.name, isFinal: true))
      out.append(
        .log(LogEvent(.error, "Run failed: no connected worker can run it: \(refusal.message)", metadata)))
    }
    return out + fill()
  }

  /// Whether a report of `attempt` for run `key` from `id` names an attempt leased to the process
  /// behind `id`: true when it does, false when the attempt is unknown (the caller decides whether
  /// that is harmless), nil when it must be refused (a peer that has not greeted, a connection
  /// whose authentication changed, an attempt of another run or of another process).
  private func check(_ attempt: UInt64, _ key: RunKey, from id: WorkerID, peer: PeerInfo) -> Bool? {
    let sender =
      workers[id].map { (identity: $0.identity, authenticatedID: $0.authenticatedID) } ?? lostWorkers[id]
    guard let sender, sender.authenticatedID == peer.authenticatedID else { return nil }
    guard let issuedAttempt = issued[attempt] else { return false }
    guard issuedAttempt.key == key, issuedAttempt.holder == sender.identity else { return nil }
    return true
  }

  /// Remembers who a worker given up on for its silence was, by its connection.
  private mutating func rememberLost(_ id: WorkerID, identity: WorkerIdentity, authenticatedID: String?) {
    if lostWorkers.updateValue((identity, authenticatedID), forKey: id) == nil { lostWorkerOrder.append(id) }
    if lostWorkerOrder.count > Self.lostWorkersKept {
      lostWorkers[lostWorkerOrder.removeFirst()] = nil
    }
  }

  /// Drops a report that does not count: counted, never journaled or acknowledged, and logged the
  /// first time a peer sends one.
  mutating func refuse(
    _ what: String, _ attempt: UInt64, _ key: RunKey, from id: WorkerID, peer: PeerInfo
  ) -> [Directive] {
    counters.refused += 1
    let isNewPeer =
      refusedPeers.count < Self.refusedPeersLogged
      ? refusedPeers.insert(id).inserted : counters.refused.isPowerOf2
    guard isNewPeer else { return [] }
    let reason =
      workers[id] == nil && lostWorkers[id] == nil
      ? "from a peer that has not greeted" : "for an attempt this sweep did not lease to that worker"
    return [
      .log(
        LogEvent(
          .warning, "Ignored a \(what) \(reason); more from this peer are dropped without a log line",
          [
            ("attempt", "\(attempt)"), ("run", key.short), ("worker", name(of: id)),
            ("peer", workers[id]?.address ?? peer.address),
            ("refused", "\(counters.refused)"),
          ]))
    ]
  }

  /// A worker reported: it is making progress, and may hold more.
  mutating func noteReport(from id: WorkerID) {
    guard workers[id] != nil else { return }
    workers[id]!.reports += 1
    workers[id]!.isStalled = false
    if let lastEvent { workers[id]!.waitingSince = lastEvent }
  }

  /// Takes back every lease of a worker that held them past the stall deadline; it gets no more
  /// until it reports (its late results are still welcome while their runs have no outcome).
  private mutating func reclaimLeases(of id: WorkerID, deadline: Duration) -> [Directive] {
    guard let state = workers[id] else { return [] }
    workers[id]!.isStalled = true
    let warning: [Directive] = [
      .log(
        LogEvent(
          .warning,
          "Worker holds \(state.attempts.count) runs without reporting for \(deadline) (\(settings.stallFactor) "
            + "times the longest run so far, at least \(settings.minimumStallTimeout)): they go to other "
            + "workers, and it gets no more until it reports",
          [("worker", state.name)]))
    ]
    let cancels = returnUnits(of: id, state.units, counting: \.reclaimed)
    return warning + cancels + returnLeases(state.attempts, counting: \.reclaimed)
  }

  // MARK: - Leasing

  /// Leases pending work to free slots, one slot per worker in turn so work spreads evenly.
  mutating func fill() -> [Directive] {
    guard !isStopping else { return [] }
    var out: [Directive] = []
    var progressed = true
    while progressed {
      progressed = false
      for id in workerOrder {
        switch leaseNext(to: id) {
        case .leased(let directives):
          out += directives
          progressed = true
        case .noRoom:
          continue
        case .nothingPending:
          if avoiding.isEmpty && refusals.isEmpty && rounds.order.isEmpty { return out }
          continue  // another worker may take what this one must not, or a shard
        }
      }
    }
    return out
  }

  /// After a result only its worker has gained room (every event fills what it frees), so the
  /// common case costs no scan of all workers.
  mutating func refill(_ id: WorkerID) -> [Directive] {
    guard avoiding.isEmpty && refusals.isEmpty && rounds.plans.isEmpty else { return fill() }
    guard !isStopping else { return [] }
    var out: [Directive] = []
    while let name = nameIfRoom(id), let key = nextPendingKey(for: id, named: name) {
      out += lease(key, to: id, named: name)
    }
    return out
  }

  /// What leasing one unit of work to a worker came to.
  enum LeaseStep {
    case leased([Directive])
    /// The worker has no room (or must leave what is next to others).
    case noRoom
    /// Nothing pending that the worker may take.
    case nothingPending
  }

  /// Leases worker `id` one unit of work: a waiting shard of a run in rounds first (their runs
  /// wait on it), else the next pending run, whose rounds start if it has any.
  mutating func leaseNext(to id: WorkerID) -> LeaseStep {
    if let work = leaseNextRoundsWork(to: id) { return .leased(work) }
    guard let name = nameIfRoom(id) else { return .noRoom }
    guard let key = nextPendingKey(for: id, named: name) else { return .nothingPending }
    guard hasRoundsToRun(key) else { return .leased(lease(key, to: id, named: name)) }
    if rounds.active.values.contains(where: isWaitingForWorkers) {
      // Shards or epochs of active runs wait (for workers with room for them): the next run
      // starts after.
      pending.append(key)
      return .noRoom
    }
    var out = startRounds(key)
    if let work = leaseNextRoundsWork(to: id) { out += work }
    return .leased(out)
  }

  /// The name of worker `id` if it may take another lease. Only the name leaves: a copy of the
  /// worker's state held while `lease` adds to its set of leases made `lease` copy the whole set.
  private func nameIfRoom(_ id: WorkerID) -> String? {
    guard let state = workers[id], hasRoom(state) else { return nil }
    return state.name
  }

  /// Whether `state` may take another lease: its slots, plus a queue that is deeper for shorter
  /// runs (at most ``Settings/maxQueuedPerWorker``), within what its reports have earned.
  func hasRoom(_ state: WorkerState) -> Bool {
    guard !state.isDraining, !state.isStalled else { return false }
    let maxQueued = max(settings.maxQueuedPerWorker, 0)
    var queued = min(settings.prefetch, maxQueued)
    if let runSeconds, runSeconds >= settings.longRunSeconds {
      queued = 0
    } else if runSeconds == nil && workers.count < settings.expectedWorkers {
      queued = 0
    }
    if queued > 0, let runSeconds {
      let perSlot = settings.queuedWork.inSeconds / max(runSeconds, 1e-9)
      queued = max(queued, min(state.slots * Int(min(perSlot, Double(maxQueued))), maxQueued))
    }
    let earned = max(settings.initialLeaseAllowance, 1) << min(state.reports, 24)
    // A worker computing shards of rounds takes whole runs only into slots the shards leave free:
    // a run queued behind a shard would hold up its round's next shards, or share its core.
    if !state.units.isEmpty { queued = 0 }
    return state.attempts.count + state.units.count < min(state.slots + queued, earned)
  }

  private mutating func observe(runSeconds seconds: Double) {
    guard seconds.isFinite, seconds >= 0 else { return }
    runSeconds = runSeconds.map { max(seconds, 0.95 * $0 + 0.05 * seconds) } ?? seconds
    longestReportSeconds = max(longestReportSeconds ?? 0, seconds)
  }

  mutating func lease(_ key: RunKey, to id: WorkerID, named name: String) -> [Directive] {
    let run = runs[key]!
    let attempt = nextAttempt
    nextAttempt += 1
    leases[attempt] = LeaseState(key: key, worker: id)
    let holder = workers[id]!.identity
    issued[attempt] = IssuedAttempt(key: key, holder: holder)
    leasedRuns[key] = attempt
    latestAttempts[key] = attempt
    if workers[id]!.attempts.isEmpty, let lastEvent { workers[id]!.waitingSince = lastEvent }
    workers[id]!.attempts.insert(attempt)
    if !run.inputs.isEmpty { workers[id]!.holdings.formUnion(run.inputs) }
    counters.leased += 1
    return [
      .journalLease(attempt: attempt, key: key, worker: name, holder: holder),
      .send(
        .lease(
          WireMessage.Lease(
            attempt: attempt, key: key, experiment: run.experiment, parameters: run.parameters,
            seed: run.seed, checkpoint: checkpoints[key]?.bytes,
            maxSteps: UInt64(max(settings.segmentSteps ?? 0, 0)))),
        to: id),
    ]
  }

  /// The next pending run worker `id` (called `worker`) may take: not one an audit keeps from it,
  /// nor one it has refused. Entries for runs finished or leased meanwhile are dropped on the way.
  mutating func nextPendingKey(for id: WorkerID, named worker: String) -> RunKey? {
    if hasRunsWithInputs, let key = pendingKeyWithHeldInputs(for: id, named: worker) { return key }
    guard !avoiding.isEmpty || !refusals.isEmpty else {
      while let key = pending.popLast() {
        if !finished.contains(key) && leasedRuns[key] == nil { return key }
      }
      return nil
    }
    let identity = workers[id]?.identity
    var index = pending.count - 1
    while index >= 0 {
      let key = pending[index]
      if finished.contains(key) || leasedRuns[key] != nil {
        pending.remove(at: index)
      } else if avoiding[key] != worker && !(identity.map { refusals[key]?.contains($0) ?? false } ?? false) {
        return pending.remove(at: index)
      }
      index -= 1
    }
    return nil
  }

  /// Among the first ``holderLookahead`` runs of the queue, the first that consumes artifacts worker
  /// `id` holds already (so it need not fetch them), and that it may take.
  private mutating func pendingKeyWithHeldInputs(for id: WorkerID, named worker: String) -> RunKey? {
    guard let state = workers[id], !state.holdings.isEmpty else { return nil }
    var index = pending.count - 1
    let end = max(pending.count - Self.holderLookahead, 0)
    while index >= end {
      let key = pending[index]
      if !finished.contains(key), leasedRuns[key] == nil, let run = runs[key], !run.inputs.isEmpty,
        run.inputs.allSatisfy(state.holdings.contains), avoiding[key] != worker,
        !(refusals[key]?.contains(state.identity) ?? false)
      {
        return pending.remove(at: index)
      }
      index -= 1
    }
    return nil
  }

  /// Forgets a lease; returns it if it was live.
  private mutating func release(_ attempt: UInt64) -> LeaseState? {
    guard let lease = leases.removeValue(forKey: attempt) else { return nil }
    if leasedRuns[lease.key] == attempt { leasedRuns[lease.key] = nil }
    workers[lease.worker]?.attempts.remove(attempt)
    counters.leased -= 1
    return lease
  }

  /// Drops a worker; its live leases expire and their runs go back to the front of the queue.
  private mutating func removeWorker(_ id: WorkerID) -> [Directive] {
    guard let state = workers.removeValue(forKey: id) else { return [] }
    workerOrder.removeAll { $0 == id }
    counters.workers = workerOrder.count
    if !state.isDraining { counters.slots -= state.slots }
    let cancels = returnUnits(of: id, state.units, counting: \.expired)
    return cancels + returnLeases(state.attempts, counting: \.expired)
  }

  /// Ends `attempts` (journaled as expired, counted in `counter`) and puts their unfinished runs
  /// back at the front of the queue, in lease order so the queue's order is deterministic.
  private mutating func returnLeases(
    _ attempts: Set<UInt64>, counting counter: WritableKeyPath<Progress, Int>
  )
    -> [Directive]
  {
    var out: [Directive] = []
    for attempt in attempts.sorted() {
      guard let lease = release(attempt) else { continue }
      counters[keyPath: counter] += 1
      out.append(.journalExpired(attempt: attempt))
      if !finished.contains(lease.key) { pending.append(lease.key) }
    }
    return out
  }

  func name(of id: WorkerID) -> String { workers[id]?.name ?? id.description }
}

extension Int {
  fileprivate var isPowerOf2: Bool { self > 0 && self & (self - 1) == 0 }
}

extension Duration {
  /// The duration in whole milliseconds.
  var milliseconds: Int64 {
    let (seconds, attoseconds) = components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
  }
}
