import Experiments
import Foundation
import Logging
import SweepModel
import SweepProtocol
import Synchronization
import ZeroMQ

/// A worker's I/O shell: owns the DEALER socket on the calling thread and runs leases on
/// training threads of its own, so heartbeats never wait behind a long run.
///
/// Training threads hand their reports back through an `inproc://` PUSH socket each (created on
/// that thread: sockets are never shared), which the poll loop reads next to the DEALER.
public final class WorkerShell {
  /// Where to connect and how to behave.
  public struct Settings: Sendable {
    /// The coordinator's endpoint (`tcp://HOST:PORT`). Required.
    public var endpoint: String
    /// Identity and slots, sent in the hello.
    public var session = WorkerSession.Settings()
    /// Exit when this process is no longer the child of this pid (a local worker whose
    /// coordinator died). Default nil: keep waiting for a coordinator to return.
    public var parentPID: Int32?
    /// The largest message accepted from the coordinator, in bytes. Default 288 MiB: a checkpoint
    /// of up to ``WireLimits/maxCheckpointBytes`` and its header.
    public var maxMessageBytes = (256 + 32) << 20
    /// On SIGTERM, finish the runs in hand and report them before leaving (true), or hand them
    /// back at once (false, the default: they run again elsewhere).
    public var finishOnStop = false
    /// CURVE: this worker's key pair and the coordinator's public key (nil: plaintext).
    public var curve: (keyPair: CurveKeyPair, serverPublicKey: String)?
    /// A store of artifacts on this disk to read run inputs from before fetching them (a local
    /// worker reads its coordinator's). Default nil.
    public var localStore: String?
    /// Where fetched artifacts are kept. Default `$TMPDIR/metasweep-artifacts-<uid>`.
    public var cacheFolder = NSTemporaryDirectory() + "/metasweep-artifacts-\(getuid())"
    /// The most bytes the cache keeps, least recently used out first. Default 4 GiB.
    public var cacheBytes = 4 << 30
    /// Fault injection for tests: every this many replicas stored, one byte of the stored copy is
    /// flipped after it arrived intact (as memory corruption would), so the replica check and its
    /// repair can be seen working. Default nil: never.
    public var damagesEveryNthReplica: Int?
    /// Where the worker takes its epochs' shard gradients from the other members of their groups
    /// (`tcp://HOST:0`: a free port on HOST's interfaces; nil: it takes part only in groups of
    /// one). The coordinator tells the members this port at the address it sees the worker at.
    /// Default `tcp://*:0`.
    public var peerBind: String? = "tcp://*:0"

    public init(endpoint: String) { self.endpoint = endpoint }
  }

  public let settings: Settings
  private let context: ZMQContext
  private let logger: Logger

  public init(settings: Settings, context: ZMQContext, logger: Logger) {
    self.settings = settings
    self.context = context
    self.logger = logger
  }

  /// Works until the coordinator says shutdown, refuses us, or `shouldStop` turns true; returns
  /// the exit code.
  public func run(shouldStop: () -> Bool) throws -> Int32 {
    let clock = ContinuousClock()
    let reportsEndpoint = "inproc://metasweep-reports-\(ObjectIdentifier(self).hashValue)"
    let reports = try Socket(.pull, context: context)
    _ = try reports.bind(reportsEndpoint)
    // The DEALER gets a context of its own: when `run` returns, that context is terminated with it,
    // which flushes the last messages (a goodbye) within the linger, while a training thread still
    // busy with a handed-back run keeps the shared context alive.
    let dealer = try Socket(.dealer, context: try ZMQContext())
    // No send high-water mark: at libzmq's default (1000 messages) a coordinator away for about
    // 17 minutes of greetings would block the next send, and a worker blocked in send ignores
    // SIGTERM. The queue grows by one hello a second meanwhile, and nothing is ever dropped.
    try dealer.set(
      .linger(milliseconds: 2000), .maxMessageSize(bytes: Int64(settings.maxMessageBytes)),
      .sendHighWaterMark(0))
    if let curve = settings.curve {
      try dealer.makeCurveClient(serverPublicKey: curve.serverPublicKey, clientKeyPair: curve.keyPair)
    }
    // libzmq tells a client nothing of a refused key or a CURVE/plaintext mismatch; its monitor does.
    let connectionEvents = try dealer.monitor()
    try dealer.connect(settings.endpoint)

    let queue = LeaseQueue(threads: Int(settings.session.slots))
    let context = self.context
    let peerPort = try settings.peerBind.map {
      try PeerPort(bind: $0, context: context, maxMessageBytes: settings.maxMessageBytes)
    }
    let cancels = EpochCancels()
    for index in 0..<Int(settings.session.slots) {
      let thread = Thread {
        Self.trainingLoop(
          queue: queue, context: context, endpoint: reportsEndpoint, peerPort: peerPort, cancels: cancels)
      }
      thread.name = "metasweep-training-\(index)"
      thread.stackSize = 8 << 20
      thread.start()
    }
    defer { queue.close() }

    var sessionSettings = settings.session
    sessionSettings.peerPort = peerPort?.port ?? 0
    var session = WorkerSession(settings: sessionSettings)
    /// Epoch leases received (the fault injection damages every Nth one's meta-state).
    var epochsReceived = 0
    var epochStats = (epochs: 0, rounds: 0, computeSeconds: 0.0, waitSeconds: 0.0)
    /// The rounds of each epoch running here, by unit.
    var epochRounds: [UInt64: Int] = [:]
    var replicas = ReplicaStore(damagesEveryNth: settings.damagesEveryNthReplica)
    /// The last shard's compute time of each run (a shard this short is computed inline).
    var shardSeconds: [RunKey: Double] = [:]
    var inlineComputer: (key: RunKey, computer: any ShardComputer)?
    /// Since when the worker has had no shard to compute (it waits for the next round's).
    var idleSince: ContinuousClock.Instant?
    var shardStats = (shards: 0, computeSeconds: 0.0, idlePeriods: 0, idleSeconds: 0.0)
    var exitCode: Int32?
    var isStopping = false
    let fetcher = ArtifactFetcher(
      localStore: settings.localStore, cacheFolder: settings.cacheFolder, cacheBytes: settings.cacheBytes)
    func fetch(_ steps: [ArtifactFetcher.Step]) throws {
      for step in steps {
        switch step {
        case .request(let request):
          _ = try dealer.send(frames: WireCodec.encode(.artifactRequest(request)), wait: false)
        case .start(let lease, let inputs):
          queue.push(.run(lease, ArtifactInputs(bytes: inputs)))
        case .fetched(let sha256, let bytes, let after):
          let seconds = max(after.inSeconds, 1e-9)
          logger.info(
            "Fetched artifact \(sha256.prefix(12)): \(bytes) bytes in \(String(format: "%.3f", seconds)) s (\(String(format: "%.1f", Double(bytes) / seconds / 1e6)) MB/s)"
          )
        case .fail(let lease, let reason):
          logger.warning("\(reason)", metadata: ["run": "\(lease.key.short)"])
          try perform(
            session.onRunFinished(
              .failure(WireMessage.RunFailure(attempt: lease.attempt, key: lease.key, message: reason)),
              now: clock.now))
        }
      }
    }
    func perform(_ directives: [WorkerSession.Directive]) throws {
      for directive in directives {
        switch directive {
        case .send(let message):
          // Never blocks: with no connection (a refused handshake drops it) a blocking send would
          // wait forever, deaf to signals and to --give-up-after. A message that finds no
          // connection is dropped; the session greets again and resends unacknowledged reports.
          _ = try dealer.send(frames: WireCodec.encode(message), wait: false)
        case .startRun(let lease):
          let hashes = ExperimentCatalogue.inputHashes(
            experiment: lease.experiment, parameters: lease.parameters)
          if hashes.isEmpty {
            queue.push(.run(lease, ArtifactInputs()))
          } else {
            try fetch(fetcher.onLease(lease, hashes: hashes, now: clock.now))
          }
        case .startShard(let lease):
          if let (context, replica) = replicas.shardInputs(for: lease) {
            if settings.session.slots == 1, let seconds = shardSeconds[lease.key],
              seconds < Self.inlineShardSeconds
            {
              // One slot, and shards this short: computed here, on the poll thread, which saves two
              // thread handoffs per shard. (The coordinator leases shards only to a slot that runs
              // nothing else, and nothing else to a slot that holds shards; heartbeats wait at most
              // one short shard.)
              try onShardReport(
                Self.computeShard(lease, context: context, replica: replica, computer: &inlineComputer))
            } else {
              queue.push(.shard(lease, context, replica: replica))
            }
          } else {
            try perform(
              session.onShardFinished(
                .shardFailure(
                  WireMessage.ShardFailure(
                    lease, reason: .replicaMissing,
                    message: "no replica of round \(lease.step), or no context of its run, held")),
                now: clock.now))
          }
        case .startEpoch(var lease):
          epochsReceived += 1
          if let every = settings.damagesEveryNthReplica, every > 0, epochsReceived % every == 0,
            !lease.state.isEmpty
          {
            lease.state[lease.state.count / 2] ^= 0x01
          }
          epochRounds[lease.unit] = Int(clamping: lease.toStep &- lease.fromStep)
          queue.push(.epoch(lease))
        case .cancelEpoch(let unit):
          cancels.cancel(unit)
        case .exit(let code, let reason):
          logger.log(level: code == 0 ? .info : .error, "\(reason)")
          exitCode = code
        case .log(let event):
          logger.log(level: Logger.Level(rawValue: event.level.rawValue) ?? .info, "\(event.message)")
        }
      }
    }
    /// A shard finished (here or on a training thread): report it, and note when the worker is left
    /// waiting for the next round.
    func onShardReport(_ report: WireMessage) throws {
      switch report {
      case .shardResult(let result):
        shardSeconds[result.key] = result.seconds
        shardStats.shards += 1
        shardStats.computeSeconds += result.seconds
        try perform(session.onShardFinished(report, now: clock.now))
      case .shardFailure(let failure):
        if failure.reason == .replicaMissing {
          logger.warning(
            "A replica failed its check; asking for it again: \(failure.message)",
            metadata: ["run": "\(failure.key.short)", "step": "\(failure.step)"])
          replicas.forget(failure.key)
        }
        try perform(session.onShardFinished(report, now: clock.now))
      default:
        return
      }
      if session.runningShards.isEmpty { idleSince = clock.now }
    }
    // The loop wakes at least as often as the session may need to greet.
    let pollTimeout = min(Duration.milliseconds(100), max(settings.session.helloInterval, .milliseconds(1)))
    let poller = Poller()
    let fromCoordinator = poller.register(dealer)
    let fromTraining = poller.register(reports)
    let fromMonitor = poller.register(connectionEvents)
    try perform(session.start(now: clock.now))
    while exitCode == nil {
      if isOrphaned {
        try perform(session.onStopRequested())
        break
      }
      if shouldStop() && !isStopping {
        isStopping = true
        try perform(session.onStopRequested(finishRunning: settings.finishOnStop))
        if exitCode != nil { break }
      }
      do {
        _ = try poller.poll(timeout: pollTimeout)
      } catch {
        // A signal interrupts the poll: check the stop flag.
        guard error.code == .interrupted else { throw error }
        continue
      }
      if poller.isReadable(fromCoordinator) {
        while let frames = try dealer.receiveMultipart(
          maxFrames: 16, maxBytes: settings.maxMessageBytes, wait: false)
        {
          do {
            switch try WireCodec.decode(frames) {
            case .artifactChunk(let chunk): try fetch(fetcher.onChunk(chunk, now: clock.now))
            case .artifactMissing(let sha256, let reason):
              try fetch(fetcher.onMissing(sha256: sha256, reason: reason))
            case .shardLease(let lease):
              if let since = idleSince {
                shardStats.idleSeconds += (clock.now - since).inSeconds
                shardStats.idlePeriods += 1
                idleSince = nil
              }
              try perform(session.onMessage(.shardLease(lease), now: clock.now))
            case let message: try perform(session.onMessage(message, now: clock.now))
            }
          } catch let error as WireError {
            logger.warning("Dropped a malformed message from the coordinator: \(error)")
          }
        }
      }
      if poller.isReadable(fromMonitor) {
        while let frames = try connectionEvents.receiveMultipart(maxFrames: 2, maxBytes: 4096, wait: false) {
          guard let event = SocketEvent(frames: frames),
            let problem = Self.problem(event, isCurve: settings.curve != nil)
          else { continue }
          try perform(session.onConnectionProblem(problem))
        }
      }
      if poller.isReadable(fromTraining) {
        while let frames = try reports.receiveMultipart(maxFrames: 16, maxBytes: Int.max, wait: false) {
          let report = try WireCodec.decode(frames)
          switch report {
          case .shardResult, .shardFailure: try onShardReport(report)
          case .epochReport(let epoch):
            let rounds = epochRounds.removeValue(forKey: epoch.unit) ?? 0
            if epoch.status == .done {
              epochStats.epochs += 1
              epochStats.rounds += rounds
              epochStats.computeSeconds += epoch.computeSeconds
              epochStats.waitSeconds += epoch.waitSeconds
            } else if epoch.status != .groupFault || epoch.message != EpochRunner.calledOff {
              logger.warning(
                "An epoch of rounds ended early: \(epoch.message)",
                metadata: ["run": "\(epoch.key.short)", "step": "\(epoch.step)"])
            }
            try perform(session.onShardFinished(report, now: clock.now))
          default: try perform(session.onRunFinished(report, now: clock.now))
          }
        }
      }
      try perform(session.onTick(now: clock.now))
      try fetch(fetcher.onTick(now: clock.now))
    }
    if shardStats.shards > 0 {
      // What rounds cost this worker: its compute, and its wait between its last shard of a round
      // and its first of the next (the round trip through the coordinator and its reduction).
      logger.notice(
        "Computed \(shardStats.shards) shards of rounds, \(String(format: "%.1f", shardStats.computeSeconds / Double(shardStats.shards) * 1e6)) µs each; waited \(String(format: "%.1f", shardStats.idlePeriods > 0 ? shardStats.idleSeconds / Double(shardStats.idlePeriods) * 1e6 : 0)) µs for each of \(shardStats.idlePeriods) next rounds"
      )
    }
    if epochStats.epochs > 0 {
      // What epochs cost this worker, a round: its compute, and its wait for the group's gradients.
      logger.notice(
        "Took part in \(epochStats.epochs) epochs of rounds (\(epochStats.rounds) rounds): \(String(format: "%.1f", epochStats.computeSeconds / Double(max(epochStats.rounds, 1)) * 1e6)) µs of compute and \(String(format: "%.1f", epochStats.waitSeconds / Double(max(epochStats.rounds, 1)) * 1e6)) µs of waiting for the group a round"
      )
    }
    if fetcher.bytesFetched > 0 {
      logger.info("Fetched \(fetcher.bytesFetched) bytes of artifacts from the coordinator")
    }
    return exitCode ?? 0
  }

  /// Shards shorter than this (as the run's last one took) are computed on the poll thread of a
  /// one-slot worker.
  static let inlineShardSeconds = 0.05

  /// What a connection event means for the session, if it is a failed handshake.
  ///
  /// A CURVE client whose server key is wrong, and a plaintext client of a CURVE server, both just
  /// see the coordinator close the connection mid-handshake: the text says which is likelier.
  private static func problem(_ event: SocketEvent, isCurve: Bool) -> WorkerSession.ConnectionProblem? {
    switch event.kind {
    case .handshakeFailedAuthentication: return .keyRefused(status: event.value)
    case .handshakeFailedProtocol where event.isMechanismMismatch: return .mechanismMismatch
    case .handshakeFailedProtocol:
      return .handshakeFailed(
        "\(event.endpoint) broke the protocol (error 0x\(String(event.value, radix: 16))): is it a metasweep coordinator?"
      )
    case .handshakeFailedWithoutDetail:
      let likely =
        isCurve
        ? "is --server-key the coordinator's public key, and does the coordinator use CURVE (--curve-key)?"
        : "it most likely uses CURVE: give this worker --curve-key and --server-key"
      return .handshakeFailed(
        "\(event.endpoint) closed the connection during the handshake (errno \(event.value)); \(likely)")
    default: return nil
    }
  }

  private var isOrphaned: Bool {
    guard let parent = settings.parentPID else { return false }
    return getppid() != parent
  }

  /// One training thread: take a lease, run it, push the report; until the queue closes.
  private static func trainingLoop(
    queue: LeaseQueue, context: ZMQContext, endpoint: String, peerPort: PeerPort?, cancels: EpochCancels
  ) {
    guard let push = try? Socket(.push, context: context), (try? push.connect(endpoint)) != nil else {
      return
    }
    // The shard computer of the last run this thread computed shards of: its buffers are reused
    // from round to round.
    var computer: (key: RunKey, computer: any ShardComputer)?
    while let job = queue.pop() {
      let report: WireMessage
      switch job {
      case .run(let lease, let inputs):
        report = run(lease, inputs: inputs)
      case .shard(let lease, let context, let replica):
        report = computeShard(lease, context: context, replica: replica, computer: &computer)
      case .epoch(let lease):
        report = EpochRunner.run(lease, port: peerPort, cancels: cancels)
      }
      _ = try? push.send(frames: WireCodec.encode(report))
    }
  }

  /// Runs a lease (a whole run or a segment) and returns its report.
  private static func run(_ lease: WireMessage.Lease, inputs: ArtifactInputs) -> WireMessage {
    let start = ContinuousClock.now
    // What a user's program prints besides its results travels with the report, for `metasweep logs`.
    let log = AttemptLog()
    do {
      let segment = try AttemptLog.$current.withValue(log) {
        try ExperimentCatalogue.runSegment(
          experiment: lease.experiment, parameters: lease.parameters, seed: lease.seed,
          checkpoint: lease.checkpoint, maxSteps: Int(clamping: lease.maxSteps), inputs: inputs)
      }
      let seconds = (ContinuousClock.now - start).inSeconds
      switch segment {
      case .finished(let outcome):
        return .result(
          WireMessage.RunResult(
            attempt: lease.attempt, key: lease.key, outcome: outcome, seconds: seconds, log: log.bytes))
      case .checkpoint(let bytes, let stepsDone, let totalSteps):
        return .segment(
          WireMessage.SegmentReport(
            attempt: lease.attempt, key: lease.key, checkpoint: bytes, stepsDone: UInt64(max(stepsDone, 0)),
            totalSteps: UInt64(max(totalSteps, stepsDone, 0)), seconds: seconds, log: log.bytes))
      }
    } catch let error as ExperimentError where error.isRefusal {
      return .refusal(
        WireMessage.RunFailure(attempt: lease.attempt, key: lease.key, message: "\(error)", log: log.bytes))
    } catch {
      return .failure(
        WireMessage.RunFailure(attempt: lease.attempt, key: lease.key, message: "\(error)", log: log.bytes))
    }
  }

  /// Computes a shard of a round from `replica`, checked against the lease's hash first, and
  /// returns its report.
  private static func computeShard(
    _ lease: WireMessage.ShardLease, context: WireMessage.RunContext, replica: [UInt8],
    computer: inout (key: RunKey, computer: any ShardComputer)?
  ) -> WireMessage {
    let start = ContinuousClock.now
    func failure(_ reason: WireMessage.ShardFailure.Reason, _ message: String) -> WireMessage {
      .shardFailure(WireMessage.ShardFailure(lease, reason: reason, message: message))
    }
    let sha256 = SHA256.hexString(SHA256.digest(replica))
    guard sha256 == lease.replicaSHA256 else {
      return failure(
        .replicaMissing,
        "the replica of round \(lease.step) hashes to \(sha256.prefix(12)), not \(lease.replicaSHA256.prefix(12))"
      )
    }
    do {
      if computer?.key != lease.key {
        computer = nil  // free the last run's buffers first
        computer = (
          lease.key,
          try ExperimentCatalogue.makeShardComputer(
            experiment: context.experiment, parameters: context.parameters, seed: context.seed)
        )
      }
      let gradient = try computer!.computer.gradient(
        replica: replica, step: Int(clamping: lease.step), shard: Int(lease.shard))
      return .shardResult(
        WireMessage.ShardResult(
          unit: lease.unit, key: lease.key, step: lease.step, shard: lease.shard, replicaSHA256: sha256,
          seconds: (ContinuousClock.now - start).inSeconds, gradient: gradient))
    } catch {
      computer = nil
      return failure(.failed, "\(error)")
    }
  }
}

/// The latest replica of each run's meta-state this worker was sent, with the run's context, for
/// the next shards of the same round and run. Used on the poll thread only.
struct ReplicaStore {
  private struct Entry {
    var context: WireMessage.RunContext
    var step: UInt64
    var sha256: String
    var bytes: [UInt8]
  }
  private var entries: [RunKey: Entry] = [:]
  /// Runs in the order their replicas were first stored, oldest first.
  private var order: [RunKey] = []
  /// The most runs whose replicas are kept.
  private static let maxRuns = 64
  private let damagesEveryNth: Int?
  private var stored = 0

  init(damagesEveryNth: Int?) { self.damagesEveryNth = damagesEveryNth }

  /// The context and replica `lease` is computed with: those it carries (kept for the run's next
  /// shards), or those held for its run and round; nil when the worker lacks either.
  mutating func shardInputs(for lease: WireMessage.ShardLease) -> (WireMessage.RunContext, [UInt8])? {
    guard let context = lease.context ?? entries[lease.key]?.context else { return nil }
    guard var carried = lease.replica else {
      guard let held = entries[lease.key], held.step == lease.step, held.sha256 == lease.replicaSHA256 else {
        return nil
      }
      return (context, held.bytes)
    }
    stored += 1
    if let every = damagesEveryNth, every > 0, stored % every == 0, !carried.isEmpty {
      carried[carried.count / 2] ^= 0x01
    }
    let entry = Entry(context: context, step: lease.step, sha256: lease.replicaSHA256, bytes: carried)
    if entries.updateValue(entry, forKey: lease.key) == nil {
      order.append(lease.key)
      if order.count > Self.maxRuns { entries[order.removeFirst()] = nil }
    }
    return (context, carried)
  }

  /// Forgets the replica and context of `key` (the replica failed its check; both come again).
  mutating func forget(_ key: RunKey) {
    entries[key] = nil
    order.removeAll { $0 == key }
  }
}

/// Work for a training thread.
enum Job: Sendable {
  /// A lease and the bytes of its inputs.
  case run(WireMessage.Lease, ArtifactInputs)
  /// A shard lease, and the run's context and replica to compute it with.
  case shard(WireMessage.ShardLease, WireMessage.RunContext, replica: [UInt8])
  /// A member's part in an epoch of rounds.
  case epoch(WireMessage.EpochLease)
}

/// Leases waiting for a training thread; thread-safe.
final class LeaseQueue: Sendable {
  private let state = Mutex<(leases: [Job], isClosed: Bool)>(([], false))
  private let available = DispatchSemaphore(value: 0)
  /// How many threads may wait in `pop`: `close` wakes each of them.
  private let threads: Int

  init(threads: Int) { self.threads = threads }

  func push(_ job: Job) {
    state.withLock { $0.leases.append(job) }
    available.signal()
  }

  /// The next lease, waiting for one; nil once closed.
  func pop() -> Job? {
    while true {
      available.wait()
      let next: Job?? = state.withLock {
        if $0.isClosed { return .some(nil) }
        return $0.leases.isEmpty ? nil : .some($0.leases.removeFirst())
      }
      if let next { return next }
    }
  }

  /// Wakes every waiting thread and makes `pop` return nil.
  func close() {
    state.withLock { $0.isClosed = true }
    for _ in 0..<max(threads, 1) { available.signal() }
  }
}
