import SweepModel

/// Every message of the MetaSweep wire protocol (ROUTER coordinator, DEALER workers).
///
/// On the wire a message is a header frame (magic, protocol version, kind, small fields) followed
/// by binary frames for bulk data (an outcome's series). ``WireCodec`` does the encoding.
public enum WireMessage: Sendable, Equatable {
  // MARK: Worker to coordinator

  /// The first message of a worker: who it is and how many runs it takes at once.
  case hello(Hello)
  /// "I am alive"; sent every heartbeat interval by both sides.
  case heartbeat
  /// A leased run finished with an outcome.
  case result(RunResult)
  /// A segment of a chained run ended before the run did: its checkpoint, to continue from.
  case segment(SegmentReport)
  /// From a status client (`metasweep status --connect`), not a worker: "how is the sweep doing?"
  case statusRequest
  /// The worker is stopping: lease it nothing more; it finishes and reports what it holds, then
  /// says goodbye.
  case draining
  /// A leased run threw; `message` is the error text.
  case failure(RunFailure)
  /// The worker cannot run this lease with what it has (its copy of a dataset differs from the
  /// one the sweep pinned); `message` says why. Another worker may: the run is not failed.
  case refusal(RunFailure)
  /// The worker is leaving (drained or shutting down); its leases go back to pending.
  case goodbye(reason: String)
  /// "Send me these bytes of this artifact": a worker fetching a run's input it does not hold.
  case artifactRequest(ArtifactRequest)
  /// The gradient of a leased shard of a round (frame 1 holds it).
  case shardResult(ShardResult)
  /// A leased shard was not computed: the worker lacks the round's replica (or its copy is
  /// damaged), or the computation threw.
  case shardFailure(ShardFailure)
  /// How an epoch of rounds ended on this worker: the meta-state it reached, or why it stopped.
  case epochReport(EpochReport)

  // MARK: Coordinator to worker

  /// The handshake was accepted; timing settings the worker must follow.
  case welcome(Welcome)
  /// The handshake was refused (version or build mismatch); the worker should exit with `reason`.
  case reject(reason: String)
  /// Run this: one attempt of one run.
  case lease(Lease)
  /// The report (result or failure) of `attempt` is journaled; the worker may forget it. Until
  /// then a worker keeps the report and sends it again after greeting a (restarted) coordinator.
  case ack(attempt: UInt64)
  /// The answer to a status request: the sweep's progress, workers and grid, as display text.
  case status(text: String)
  /// No more work will come; finish nothing further and exit.
  case shutdown
  /// Bytes of an artifact, answering an ``artifactRequest`` (frame 1 holds them).
  case artifactChunk(ArtifactChunk)
  /// The coordinator cannot serve the artifact (unknown, or damaged in its store); `reason` says which.
  case artifactMissing(sha256: String, reason: String)
  /// Compute this: one shard of one round of a run with rounds.
  case shardLease(ShardLease)
  /// Take part in this: an epoch of rounds, computed by a group of workers that exchange their
  /// shard gradients directly (``PeerGradient``).
  case epochLease(EpochLease)
  /// Stop the epoch of `unit` (a member of its group was lost): report nothing for it.
  case epochCancel(unit: UInt64)

  /// Sent by a worker as its first message.
  public struct Hello: Sendable, Equatable {
    /// ``WireCodec/protocolVersion`` of the worker's build.
    public var protocolVersion: UInt16
    /// The worker binary's build id (the ELF GNU build id, or a stand-in).
    public var buildID: String
    /// A readable name (host and pid).
    public var name: String
    /// How many runs the worker runs at once (the coordinator caps what it believes).
    public var slots: UInt32
    /// Random bytes drawn once per worker process (``WireLimits/sessionBytes`` of them): the
    /// coordinator credits a report only to the process that was leased its attempt, and
    /// recognises that process when it greets again over a new connection.
    public var session: [UInt8]
    /// The worker host's machine type (CPU model and OpenBLAS kernel): runs are bit-identical
    /// across hosts of one machine type, so the journal keeps it with what each worker computed.
    public var machine: String
    /// The TCP port on which the worker takes its group's shard gradients in epochs of rounds, on
    /// the address the coordinator sees it at (0: it takes no part in groups of more than one).
    public var peerPort: UInt16
    public init(
      protocolVersion: UInt16, buildID: String, name: String, slots: UInt32, session: [UInt8],
      machine: String,
      peerPort: UInt16 = 0
    ) {
      self.protocolVersion = protocolVersion
      self.buildID = buildID
      self.name = name
      self.slots = slots
      self.session = session
      self.machine = machine
      self.peerPort = peerPort
    }
  }

  /// The coordinator's answer to a good hello.
  public struct Welcome: Sendable, Equatable {
    /// How often the worker must send a heartbeat, in milliseconds.
    public var heartbeatIntervalMilliseconds: UInt32
    /// After how long without hearing from the coordinator the worker gives up on it, in milliseconds.
    public var peerTimeoutMilliseconds: UInt32
    public init(heartbeatIntervalMilliseconds: UInt32, peerTimeoutMilliseconds: UInt32) {
      self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
      self.peerTimeoutMilliseconds = peerTimeoutMilliseconds
    }
  }

  /// One attempt of one run, leased to one worker.
  public struct Lease: Sendable, Equatable {
    /// Unique across the sweep's whole life (journal-assigned), so a late reply is recognisable.
    public var attempt: UInt64
    public var key: RunKey
    public var experiment: String
    public var parameters: Parameters
    public var seed: UInt64
    /// The chained run's latest checkpoint to continue from (nil: start afresh). Sent as frame 1.
    public var checkpoint: [UInt8]?
    /// The most steps this attempt may run before it reports a ``SegmentReport`` (0: the whole run).
    public var maxSteps: UInt64
    public init(
      attempt: UInt64, key: RunKey, experiment: String, parameters: Parameters, seed: UInt64,
      checkpoint: [UInt8]? = nil, maxSteps: UInt64 = 0
    ) {
      self.attempt = attempt
      self.key = key
      self.experiment = experiment
      self.parameters = parameters
      self.seed = seed
      self.checkpoint = checkpoint
      self.maxSteps = maxSteps
    }
  }

  /// A request for `length` bytes of the artifact `sha256` from `offset` (at most
  /// ``WireLimits/maxChunkBytes``).
  public struct ArtifactRequest: Sendable, Equatable {
    /// The artifact's SHA-256 (lower-case hex; 32 bytes on the wire).
    public var sha256: String
    public var offset: UInt64
    public var length: UInt32
    public init(sha256: String, offset: UInt64, length: UInt32) {
      self.sha256 = sha256
      self.offset = offset
      self.length = length
    }
  }

  /// Bytes `offset..<offset + bytes.count` of the artifact `sha256`, `totalBytes` long in all.
  public struct ArtifactChunk: Sendable, Equatable {
    public var sha256: String
    public var offset: UInt64
    public var totalBytes: UInt64
    public var bytes: [UInt8]
    public init(sha256: String, offset: UInt64, totalBytes: UInt64, bytes: [UInt8]) {
      self.sha256 = sha256
      self.offset = offset
      self.totalBytes = totalBytes
      self.bytes = bytes
    }
  }

  /// One shard of one round, leased to one worker. The worker computes it from its replica of the
  /// run's meta-state for this round, which the lease carries (frame 1) when the coordinator has
  /// not sent it to this worker yet, and the run's context, which the lease carries when the
  /// worker has none of the run.
  public struct ShardLease: Sendable, Equatable {
    /// Issued by this coordinator process for this shard of this round only, so a report of an
    /// expired or superseded lease is recognisable.
    public var unit: UInt64
    public var key: RunKey
    /// The round: the optimiser step whose gradient the shard is part of.
    public var step: UInt64
    public var shard: UInt32
    /// The SHA-256 (hex) of the replica the shard must be computed from.
    public var replicaSHA256: String
    /// The replica itself, when the worker may not hold it (nil: use the one held).
    public var replica: [UInt8]?
    /// The run's experiment, parameters and seed, when the worker may not hold them (nil: use
    /// those held with the run's replica).
    public var context: RunContext?
    public init(
      unit: UInt64, key: RunKey, step: UInt64, shard: UInt32, replicaSHA256: String, replica: [UInt8]?,
      context: RunContext?
    ) {
      self.unit = unit
      self.key = key
      self.step = step
      self.shard = shard
      self.replicaSHA256 = replicaSHA256
      self.replica = replica
      self.context = context
    }
  }

  /// What a worker needs to compute a run's shards besides the replica: sent with a run's first
  /// shard lease to a worker, not with every one (its parameters are a few hundred bytes, and
  /// encoding and decoding them lay on the path of every round).
  public struct RunContext: Sendable, Equatable {
    public var experiment: String
    public var parameters: Parameters
    public var seed: UInt64
    public init(experiment: String, parameters: Parameters, seed: UInt64) {
      self.experiment = experiment
      self.parameters = parameters
      self.seed = seed
    }
  }

  /// A computed shard: its gradient, and the replica it was computed from.
  public struct ShardResult: Sendable, Equatable {
    public var unit: UInt64
    public var key: RunKey
    public var step: UInt64
    public var shard: UInt32
    /// The SHA-256 (hex) of the replica the gradient was computed from.
    public var replicaSHA256: String
    /// Wall time the shard took on the worker, in seconds.
    public var seconds: Double
    /// The experiment's bytes for the shard's gradient (frame 1).
    public var gradient: [UInt8]
    public init(
      unit: UInt64, key: RunKey, step: UInt64, shard: UInt32, replicaSHA256: String, seconds: Double,
      gradient: [UInt8]
    ) {
      self.unit = unit
      self.key = key
      self.step = step
      self.shard = shard
      self.replicaSHA256 = replicaSHA256
      self.seconds = seconds
      self.gradient = gradient
    }
  }

  /// A shard lease that was not computed.
  public struct ShardFailure: Sendable, Equatable {
    /// Why.
    public enum Reason: UInt8, Sendable, Equatable {
      /// The worker holds no replica for the round, or its copy does not hash to the lease's: the
      /// coordinator sends the lease again with the replica.
      case replicaMissing = 0
      /// The computation threw; `message` says what. Counts as a failed attempt of the run.
      case failed = 1
    }
    public var unit: UInt64
    public var key: RunKey
    public var step: UInt64
    public var shard: UInt32
    public var reason: Reason
    public var message: String
    public init(unit: UInt64, key: RunKey, step: UInt64, shard: UInt32, reason: Reason, message: String) {
      self.unit = unit
      self.key = key
      self.step = step
      self.shard = shard
      self.reason = reason
      self.message = message
    }

    /// The failure of `lease`.
    public init(_ lease: ShardLease, reason: Reason, message: String) {
      self.init(
        unit: lease.unit, key: lease.key, step: lease.step, shard: lease.shard, reason: reason,
        message: message)
    }
  }

  /// A segment of a chained run that ended before the run: the state to continue from.
  public struct SegmentReport: Sendable, Equatable {
    public var attempt: UInt64
    public var key: RunKey
    /// The experiment's opaque checkpoint (frame 1).
    public var checkpoint: [UInt8]
    /// Steps the run has done in all, this segment included (at most `totalSteps`).
    public var stepsDone: UInt64
    /// Steps of the whole run.
    public var totalSteps: UInt64
    /// Wall time the segment took on the worker, in seconds.
    public var seconds: Double
    /// What the segment printed besides its results (``WireLimits/maxLogBytes`` at most; frame 2
    /// when not empty).
    public var log: [UInt8]
    public init(
      attempt: UInt64, key: RunKey, checkpoint: [UInt8], stepsDone: UInt64, totalSteps: UInt64,
      seconds: Double, log: [UInt8] = []
    ) {
      self.attempt = attempt
      self.key = key
      self.checkpoint = checkpoint
      self.stepsDone = stepsDone
      self.totalSteps = totalSteps
      self.seconds = seconds
      self.log = log
    }
  }

  /// A finished attempt.
  public struct RunResult: Sendable, Equatable {
    public var attempt: UInt64
    public var key: RunKey
    public var outcome: Outcome
    /// Wall time the run took on the worker, in seconds.
    public var seconds: Double
    /// What the run printed besides its results (``WireLimits/maxLogBytes`` at most; frame 2 when
    /// not empty).
    public var log: [UInt8]
    public init(attempt: UInt64, key: RunKey, outcome: Outcome, seconds: Double, log: [UInt8] = []) {
      self.attempt = attempt
      self.key = key
      self.outcome = outcome
      self.seconds = seconds
      self.log = log
    }
  }

  /// An attempt that threw.
  public struct RunFailure: Sendable, Equatable {
    public var attempt: UInt64
    public var key: RunKey
    public var message: String
    /// What the attempt printed besides its results (``WireLimits/maxLogBytes`` at most; frame 1
    /// when not empty).
    public var log: [UInt8]
    public init(attempt: UInt64, key: RunKey, message: String, log: [UInt8] = []) {
      self.attempt = attempt
      self.key = key
      self.message = message
      self.log = log
    }
  }
}
