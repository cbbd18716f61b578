import SweepModel

/// A worker's protocol logic as a pure state machine: events in, directives out.
///
/// The `WorkerShell` owns the socket and the training threads; this type decides when to greet,
/// heartbeat, start a run, report, and exit. A worker that stops hearing from its coordinator
/// greets it again rather than exiting, so a restarted coordinator gets its workers back; results
/// of runs finished meanwhile are still sent.
public struct WorkerSession: Sendable {
  /// Identity and timing of this worker.
  public struct Settings: Sendable {
    /// A readable name (`host:pid`). Default "worker".
    public var name = "worker"
    /// How many runs at once. Default 1.
    public var slots: UInt32 = 1
    /// This binary's build id, sent in the hello. Default "unknown".
    public var buildID = "unknown"
    /// Random bytes that name this worker process to the coordinator (``WireLimits/sessionBytes``
    /// of them), sent in every hello: draw them once per process, from a system source. Default
    /// all zeros (tests only: two workers with the same session pass for one another).
    public var session = [UInt8](repeating: 0, count: WireLimits.sessionBytes)
    /// This host's machine type (CPU model and OpenBLAS kernel), sent in the hello. Default
    /// "unknown".
    public var machine = "unknown"
    /// The port of the worker's peer socket, sent in the hello (0: none). Default 0.
    public var peerPort: UInt16 = 0
    /// How often to repeat the hello until welcomed. Default 1 s.
    public var helloInterval: Duration = .seconds(1)
    /// Exit (code 4) after greeting this long without an answer. Default nil: wait for a
    /// coordinator forever (it may be restarting).
    public var giveUpAfter: Duration?
    public init() {}
  }

  /// What the shell must do, in order.
  public enum Directive: Sendable, Equatable {
    /// Send `message` to the coordinator.
    case send(WireMessage)
    /// Start `lease` on a free training thread.
    case startRun(WireMessage.Lease)
    /// Compute the shard of `lease` on a free training thread (from the replica it carries or the
    /// one the shell holds for its run).
    case startShard(WireMessage.ShardLease)
    /// Take part in the epoch of `lease` on a free training thread.
    case startEpoch(WireMessage.EpochLease)
    /// Stop the epoch of `unit` (its report, if one comes, is not sent).
    case cancelEpoch(unit: UInt64)
    /// Exit the process with `code`; `reason` is logged.
    case exit(code: Int32, reason: String)
    /// Log an event.
    case log(LogEvent)
  }

  /// Why the connection to the coordinator does not get through, as the transport saw it.
  public enum ConnectionProblem: Sendable, Equatable {
    /// The coordinator's authenticator refused this worker's CURVE key (`status`: ZAP's, e.g. 400).
    case keyRefused(status: UInt32)
    /// One side uses CURVE and the other plaintext.
    case mechanismMismatch
    /// Another failed handshake, with the transport's words for it.
    case handshakeFailed(String)
  }

  /// Where the session is.
  public enum Phase: Sendable, Equatable {
    /// Not started.
    case idle
    /// Hello sent, no welcome yet (or the coordinator went silent and is being greeted again).
    case greeting
    /// Welcomed: taking leases.
    case working
    /// Told to stop: finishing what runs, taking nothing new.
    case draining
    /// Exited.
    case stopped
  }

  public let settings: Settings
  public private(set) var phase: Phase = .idle
  /// Attempts running on training threads.
  public private(set) var running: [UInt64] = []
  /// Shard units of rounds running or queued on training threads. Their reports need no
  /// acknowledgement: a lost one is leased again when the coordinator gives up on it.
  public private(set) var runningShards: Set<UInt64> = []
  /// The epoch units among them: the coordinator leases a worker one epoch at a time, so a new
  /// epoch lease means any still running was called off while this worker was out of touch (its
  /// group waits for nobody; the coordinator's cancel may never have reached it).
  private var runningEpochs: Set<UInt64> = []
  /// Reports sent but not yet acknowledged as journaled, oldest first; sent again after a new welcome.
  public var unacknowledged: [(attempt: UInt64, report: WireMessage)] {
    pendingReports.sorted { $0.value.order < $1.value.order }.map { ($0.key, $0.value.report) }
  }
  /// ``unacknowledged`` by attempt, each with its place in the sending order: an acknowledgement
  /// takes its report out without moving the others (a worker with short runs holds a hundred).
  private var pendingReports: [UInt64: (order: UInt64, report: WireMessage)] = [:]
  private var reportsSent: UInt64 = 0
  private var heartbeatInterval: Duration = .milliseconds(500)
  private var peerTimeout: Duration = .seconds(5)
  private var lastSent: ContinuousClock.Instant?
  private var lastHeard: ContinuousClock.Instant?
  private var unansweredHellos = 0
  /// Draining because the coordinator said shutdown (no goodbye owed), not because we were stopped.
  private var isLeavingOnShutdown = false
  /// The last failed handshake, if one has failed since the last welcome: it explains the silence.
  private var lastProblem: String?

  public init(settings: Settings) { self.settings = settings }

  private var hello: WireMessage {
    .hello(
      WireMessage.Hello(
        protocolVersion: WireCodec.protocolVersion, buildID: settings.buildID, name: settings.name,
        slots: settings.slots, session: settings.session, machine: settings.machine,
        peerPort: settings.peerPort))
  }

  /// The socket is connected: greet the coordinator.
  public mutating func start(now: ContinuousClock.Instant) -> [Directive] {
    phase = .greeting
    lastSent = now
    lastHeard = now
    return [.send(hello)]
  }

  /// A message arrived from the coordinator.
  public mutating func onMessage(_ message: WireMessage, now: ContinuousClock.Instant) -> [Directive] {
    lastHeard = now
    switch message {
    case .welcome(let welcome):
      lastProblem = nil
      heartbeatInterval = .milliseconds(Int64(max(welcome.heartbeatIntervalMilliseconds, 10)))
      peerTimeout = .milliseconds(Int64(max(welcome.peerTimeoutMilliseconds, 100)))
      unansweredHellos = 0
      // Greetings queued while the coordinator was away are each answered: log the first welcome.
      var out: [Directive] = []
      if phase == .greeting {
        out.append(.log(LogEvent(.info, "Welcomed by the coordinator")))
        phase = .working
        // A coordinator that restarted may never have journaled these: send them again (it
        // ignores a report it already has).
        out += unacknowledged.map { .send($0.report) }
      }
      return out
    case .ack(let attempt):
      pendingReports[attempt] = nil
      return leaveIfDrained()
    case .reject(let reason):
      phase = .stopped
      return [.exit(code: 3, reason: "The coordinator refused this worker: \(reason)")]
    case .lease(let lease):
      // Runs beyond the slots (a coordinator's mistake) wait in the shell's queue, never lost.
      switch phase {
      case .stopped: return []
      case .draining:
        // Sent before the coordinator heard we are draining; our goodbye hands it back.
        return [.log(LogEvent(.info, "Not starting a lease that arrived while draining"))]
      default:
        running.append(lease.attempt)
        return [.startRun(lease)]
      }
    case .shardLease(let lease):
      switch phase {
      case .stopped: return []
      case .draining: return [.log(LogEvent(.info, "Not starting a shard that arrived while draining"))]
      default:
        runningShards.insert(lease.unit)
        return [.startShard(lease)]
      }
    case .epochLease(let lease):
      switch phase {
      case .stopped: return []
      case .draining: return [.log(LogEvent(.info, "Not starting an epoch that arrived while draining"))]
      default:
        let stale = runningEpochs.sorted()
        runningShards.subtract(stale)
        runningEpochs = [lease.unit]
        runningShards.insert(lease.unit)
        return stale.map { .cancelEpoch(unit: $0) } + [.startEpoch(lease)]
      }
    case .epochCancel(let unit):
      runningEpochs.remove(unit)
      guard runningShards.remove(unit) != nil else { return [] }
      return [.cancelEpoch(unit: unit)] + leaveIfDrained()
    case .shutdown:
      phase = .draining
      isLeavingOnShutdown = true
      return leaveIfDrained()
    case .heartbeat:
      return []
    case .artifactChunk, .artifactMissing:
      return []  // the shell's artifact fetcher takes these
    case .hello, .result, .segment, .failure, .refusal, .goodbye, .statusRequest, .status, .draining,
      .artifactRequest, .shardResult, .shardFailure, .epochReport:
      return [.log(LogEvent(.warning, "Ignored a worker-only message from the coordinator"))]
    }
  }

  /// A run finished on a training thread (with a result or a failure message), or a segment of a
  /// chained run ended (with a segment report; kept until acknowledged, like a result).
  public mutating func onRunFinished(_ report: WireMessage, now: ContinuousClock.Instant) -> [Directive] {
    let attempt: UInt64
    switch report {
    case .result(let r): attempt = r.attempt
    case .failure(let f), .refusal(let f): attempt = f.attempt
    case .segment(let s): attempt = s.attempt
    default: return []
    }
    if let index = running.firstIndex(of: attempt) { running.remove(at: index) }
    reportsSent += 1
    pendingReports[attempt] = (reportsSent, report)
    lastSent = now
    return [.send(report)] + leaveIfDrained()
  }

  /// A shard or an epoch finished on a training thread (a ``WireMessage/ShardResult``,
  /// ``WireMessage/ShardFailure`` or ``WireMessage/EpochReport``).
  public mutating func onShardFinished(_ report: WireMessage, now: ContinuousClock.Instant) -> [Directive] {
    switch report {
    case .shardResult(let r): runningShards.remove(r.unit)
    case .shardFailure(let f): runningShards.remove(f.unit)
    case .epochReport(let r):
      // A cancelled epoch's report is dropped: the coordinator has called it off.
      runningEpochs.remove(r.unit)
      guard runningShards.remove(r.unit) != nil else { return [] }
    default: return []
    }
    lastSent = now
    return [.send(report)] + leaveIfDrained()
  }

  /// A draining worker leaves once nothing runs and every report is acknowledged, so it exits only
  /// after the coordinator has journaled its work (a report lost in flight is never lost silently).
  private mutating func leaveIfDrained() -> [Directive] {
    guard phase == .draining, running.isEmpty, runningShards.isEmpty, pendingReports.isEmpty else {
      return []
    }
    if isLeavingOnShutdown { return stop(reason: "The coordinator has no more work") }
    return [.send(.goodbye(reason: "drained"))] + stop(reason: "Drained")
  }

  /// The transport saw a handshake with the coordinator fail. A refused key or a CURVE/plaintext
  /// mismatch will not mend by itself: the worker exits (code 3) saying what to change. Other
  /// failures are logged once and explain the silence if the worker gives up.
  public mutating func onConnectionProblem(_ problem: ConnectionProblem) -> [Directive] {
    guard phase != .stopped else { return [] }
    switch problem {
    case .keyRefused(let status):
      phase = .stopped
      return [
        .exit(
          code: 3,
          reason:
            "The coordinator refused this worker's CURVE key (ZAP status \(status)): put this worker's .pub file "
            + "in the coordinator's --allow folder and restart the coordinator, or pass the key it allows with --curve-key"
        )
      ]
    case .mechanismMismatch:
      phase = .stopped
      return [
        .exit(
          code: 3,
          reason:
            "The handshake with the coordinator failed: one side uses CURVE and the other plaintext. Give this worker "
            + "--curve-key and --server-key for a coordinator started with --curve-key, and neither otherwise"
        )
      ]
    case .handshakeFailed(let text):
      let isNew = lastProblem != text
      lastProblem = text
      return isNew ? [.log(LogEvent(.warning, "The handshake with the coordinator failed: \(text)"))] : []
    }
  }

  /// Time passed: heartbeat, and greet again if the coordinator has gone silent.
  public mutating func onTick(now: ContinuousClock.Instant) -> [Directive] {
    guard let lastSent, let lastHeard else { return [] }
    switch phase {
    case .greeting:
      if let limit = settings.giveUpAfter, now - lastHeard > limit {
        phase = .stopped
        let why =
          lastProblem.map { "the last handshake failed: \($0)" }
          ?? "is it running and reachable, and with CURVE, is --server-key its public key?"
        return [.exit(code: 4, reason: "No coordinator answered for \(limit); giving up (\(why)).")]
      }
      if now - lastSent >= settings.helloInterval {
        self.lastSent = now
        unansweredHellos += 1
        if unansweredHellos == 10 {
          return [
            .log(
              LogEvent(
                .warning,
                "No answer from the coordinator after 10 greetings: is it running and reachable, and, with CURVE, "
                  + "is this worker's public key in its allow-list and --server-key its key?")),
            .send(hello),
          ]
        }
        return [.send(hello)]
      }
    case .working, .draining:
      if phase == .draining && running.isEmpty && runningShards.isEmpty && now - lastHeard > peerTimeout {
        // Nothing left to finish and nobody to acknowledge it: the unacknowledged runs will be
        // leased again by whichever coordinator comes back.
        return stop(
          reason:
            "The coordinator went silent while \(pendingReports.count) reports waited for acknowledgement; leaving"
        )
      }
      if phase == .working && now - lastHeard > peerTimeout {
        phase = .greeting
        self.lastSent = now
        return [.log(LogEvent(.warning, "The coordinator went silent; greeting it again")), .send(hello)]
      }
      if now - lastSent >= heartbeatInterval {
        self.lastSent = now
        return [.send(.heartbeat)]
      }
    case .idle, .stopped:
      break
    }
    return []
  }

  /// SIGTERM or Ctrl-C: hand the running leases back and leave.
  public mutating func onStopRequested(finishRunning: Bool = false) -> [Directive] {
    guard phase != .stopped else { return [] }
    if finishRunning && !(running.isEmpty && runningShards.isEmpty && pendingReports.isEmpty) {
      // Finish what we hold and leave once the coordinator has acknowledged every report.
      guard phase != .draining else { return [] }
      phase = .draining
      return [
        .send(.draining),
        .log(
          LogEvent(
            .notice,
            "Stopping: finishing \(running.count) running runs and waiting for \(pendingReports.count) acknowledgements first"
          )),
      ]
    }
    phase = .stopped
    return [.send(.goodbye(reason: "stopped by signal")), .exit(code: 0, reason: "Stopped by signal")]
  }

  private mutating func stop(reason: String) -> [Directive] {
    phase = .stopped
    return [.exit(code: 0, reason: reason)]
  }
}
