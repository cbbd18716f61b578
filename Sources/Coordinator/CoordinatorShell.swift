import Foundation
import Journal
import Logging
import SweepModel
import SweepProtocol
import ZeroMQ

/// The coordinator's I/O shell: owns the ROUTER socket and the journal, and performs what the
/// pure ``Dispatcher`` decides.
///
/// The socket is owned by the thread that calls ``run(shouldStop:)``; while it runs, the journal
/// is written by a ``JournalWriter`` thread, so decoding and dispatching go on while SQLite commits.
/// Every record is committed before anything decided with it (a lease, an ack, a log line) is
/// sent, and messages leave in the order they were decided, so a kill -9 at any moment loses at
/// most the runs in flight.
public final class CoordinatorShell {
  /// Settings of the coordinator's loop.
  public struct Settings: Sendable {
    /// Leasing, heartbeat and retry settings of the dispatcher.
    public var dispatcher = Dispatcher.Settings()
    /// The largest message accepted from a worker, in bytes; larger ones are dropped and counted.
    /// Default 288 MiB: a checkpoint of up to ``WireLimits/maxCheckpointBytes`` and its header.
    public var maxMessageBytes = (256 + 32) << 20
    /// The most messages handled (and journaled in one transaction) per loop iteration. Default 4096.
    public var maxBatch = 4096
    /// How long to wait for workers to hear the shutdown before closing, in milliseconds. Default 1000.
    public var lingerMilliseconds: Int32 = 1000
    public init() {}
  }

  /// How a sweep loop ended.
  public enum Ending: Sendable, Equatable {
    /// Every run has an outcome or has failed for good.
    case complete
    /// Stopped by a signal; pending runs stay pending in the journal.
    case interrupted
  }

  public let settings: Settings
  private let socket: Socket
  /// Answers CURVE handshakes from the allow-list (nil: plaintext).
  private let authenticator: ZAPAuthenticator?
  private let journal: Journal
  private var dispatcher: Dispatcher
  private let logger: Logger
  private let onProgress: (Dispatcher.Progress) -> Void
  private let started = ContinuousClock.now
  /// Adds a sweep graph's runs as the outcomes they consume are journaled (nil: a plain sweep).
  private let feeder: RunFeeder?
  /// Where workers fetch run inputs from (nil: no artifact is served).
  private let artifactStore: ArtifactStore?
  /// Artifacts whose stored bytes were checked against their hash, with their sizes (at start, or
  /// stored from an outcome a graph's feeder saw since): any other is read whole at its first
  /// request and checked, so a damaged file is never sent.
  private var checkedArtifacts: [String: Int] = [:]
  /// Artifact bytes sent to workers, and the requests answered.
  public private(set) var artifactBytesSent = 0
  public private(set) var artifactChunksSent = 0
  /// Messages that failed to decode (dropped, never fatal).
  public private(set) var malformedMessages = 0
  /// CURVE handshakes refused (unknown key, wrong mechanism).
  public private(set) var refusedHandshakes = 0
  /// Journal transactions committed (each holds the records of one or more loop iterations).
  public private(set) var journalCommits = 0
  /// Directives of loop iterations waiting for their batch (or an earlier one) to commit, oldest first.
  private var outbox: [(batch: UInt64, directives: [Dispatcher.Directive])] = []
  private var outboxStart = 0
  private var lastSubmitted: UInt64 = 0
  /// The last batch known to be committed (read from the writer while it runs).
  private var committedBatch: UInt64 = 0
  private var writer: JournalWriter?
  /// A read-only connection for status requests (the writer owns the write connection).
  private var statusJournal: Journal?

  /// A coordinator bound to `socket` (a ROUTER already bound by the caller); with CURVE, the
  /// `authenticator` the socket was made a CURVE server with.
  public init(
    socket: Socket, authenticator: ZAPAuthenticator? = nil, journal: Journal, dispatcher: Dispatcher,
    settings: Settings = Settings(), logger: Logger, feeder: RunFeeder? = nil,
    artifactStore: ArtifactStore? = nil, checkedArtifacts: [String: Int] = [:],
    onProgress: @escaping (Dispatcher.Progress) -> Void = { _ in }
  ) {
    self.checkedArtifacts = checkedArtifacts
    self.feeder = feeder
    self.artifactStore = artifactStore
    self.socket = socket
    self.authenticator = authenticator
    self.journal = journal
    self.dispatcher = dispatcher
    self.settings = settings
    self.logger = logger
    self.onProgress = onProgress
  }

  /// The coordinator's ROUTER, configured and not yet bound (make it a CURVE server, then bind).
  ///
  /// It has no send high-water mark: at the mark a ROUTER drops messages silently (no error, even
  /// with DONTWAIT), and a lost lease or ack stalls a sweep for good, since its worker is alive and
  /// keeps the lease. What waits for one worker is bounded anyway: its leases and their acks (the
  /// dispatcher's queue depth), plus heartbeats until the worker timeout drops a silent worker.
  public static func makeRouter(context: ZMQContext, settings: Settings) throws(ZMQError) -> Socket {
    let socket = try Socket(.router, context: context)
    try socket.set(
      .linger(milliseconds: settings.lingerMilliseconds),
      .maxMessageSize(bytes: Int64(settings.maxMessageBytes)),
      .sendHighWaterMark(0))
    return socket
  }

  /// The dispatcher's counters.
  public var progress: Dispatcher.Progress { dispatcher.progress }

  /// Serves workers until every run is finished or `shouldStop` turns true.
  public func run(shouldStop: () -> Bool) throws -> Ending {
    var ending: Ending?
    let clock = ContinuousClock()
    var lastProgress = clock.now
    let writer = JournalWriter(
      journal: journal, retryLimit: settings.dispatcher.retryLimit,
      buildID: settings.dispatcher.requiredBuildID ?? "")
    let wake = try Socket(.pair, context: socket.context)
    try wake.bind(writer.wakeEndpoint)
    writer.start(context: socket.context)
    self.writer = writer
    // On an error the outbox is dropped: nothing that waited for a commit leaves.
    defer { try? finishWriter() }
    let poller = Poller()
    _ = poller.register(socket)
    let commits = poller.register(wake)
    let handshakes = authenticator.map { poller.register($0.socket) }
    /// Waits for a message, a commit or a handshake (at most 50 ms) and sends what commits allowed.
    func step() throws {
      do {
        _ = try poller.poll(timeout: .milliseconds(50))
        if let handshakes, let authenticator, poller.isReadable(handshakes) {
          for decision in try authenticator.handlePending() where !decision.isAccepted {
            refusedHandshakes += 1
            logger.warning(
              "Refused a worker's CURVE handshake: \(decision)", metadata: ["peer": "\(decision.address)"])
          }
        }
      } catch {
        // A signal interrupts the poll: the loop checks its stop condition next.
        guard error.code == .interrupted else { throw error }
      }
      if poller.isReadable(commits) {
        while try wake.receiveMultipart(maxFrames: 1, maxBytes: 1, wait: false) != nil {}
      }
      try deliverCommitted()
    }
    while ending == nil {
      if dispatcher.isComplete {
        ending = .complete
      } else if shouldStop() {
        ending = .interrupted
      }
      if ending != nil {
        try perform(dispatcher.stop())
        try linger(clock: clock, step: step)
        try perform(dispatcher.endLeases())
        break
      }
      try step()
      var directives = try receiveAll(now: clock.now)
      directives += dispatcher.onTick(now: clock.now)
      if let feeder {
        // A graph's consumers join in the same batch as the outcome that completes their inputs.
        // Each artifact is hashed once, here: for the feeder, and so that serving it (these very
        // bytes are what the store gets) need not read it back to check it.
        for case .journalOutcome(let result, _) in directives {
          var made: [String: String] = [:]
          for artifact in result.outcome.artifacts {
            let sha256 = artifact.sha256
            made[artifact.name] = sha256
            checkedArtifacts[sha256] = artifact.bytes.count
          }
          let ready = feeder.runs(after: result.key, artifacts: made)
          directives += dispatcher.add(pending: ready.pending, done: ready.done, failed: ready.failed)
        }
      }
      try perform(directives)
      if clock.now - lastProgress >= .milliseconds(200) {
        lastProgress = clock.now
        onProgress(dispatcher.progress)
      }
    }
    // Everything decided is committed before the last acks and shutdowns leave.
    try finishWriter()
    try deliverCommitted()
    onProgress(dispatcher.progress)
    return ending!
  }

  /// Stops the writer thread once it has committed every batch; the journal is this thread's again.
  /// Throws the error that stopped the writer, if one did.
  private func finishWriter() throws {
    guard let writer else { return }
    self.writer = nil
    writer.finish()
    journalCommits = writer.transactions
    committedBatch = try writer.committed()
  }

  /// After stopping, keeps answering while the dispatcher expects strangers (a worker we gave up
  /// on that would otherwise greet a coordinator that is gone forever), at most twice the worker
  /// timeout plus a second. Each message then gets a shutdown (results are journaled).
  private func linger(clock: ContinuousClock, step: () throws -> Void) throws {
    let limit = clock.now + settings.dispatcher.workerTimeout * 2 + .seconds(1)
    while clock.now < limit, dispatcher.isExpectingStrangers(now: clock.now) {
      try step()
      try perform(try receiveAll(now: clock.now))
    }
  }

  /// Everything the dispatcher decided about the messages waiting now (at most `maxBatch`).
  private func receiveAll(now: ContinuousClock.Instant) throws -> [Dispatcher.Directive] {
    var directives: [Dispatcher.Directive] = []
    var received = 0
    while received < settings.maxBatch,
      let frames = try socket.receiveMultipart(maxFrames: 16, maxBytes: settings.maxMessageBytes, wait: false)
    {
      guard frames.count >= 2 else {
        malformedMessages += 1
        continue
      }
      let worker = WorkerID(frames[0])
      let message: WireMessage
      do {
        message = try WireCodec.decode(Array(frames.dropFirst()))
      } catch {
        malformedMessages += 1
        if error.code == .unsupportedVersion {
          // A worker of another build: say why it gets no work, in words its log will show.
          let reason =
            "\(error.message); run the same metasweep build (protocol \(WireCodec.protocolVersion)) on every host"
          _ = try socket.send(frames: [worker.bytes] + WireCodec.encode(.reject(reason: reason)), wait: false)
        }
        if malformedMessages.isPowerOf2 {
          logger.warning(
            "Dropped a malformed message",
            metadata: ["worker": "\(worker)", "error": "\(error)", "dropped": "\(malformedMessages)"])
        }
        continue
      }
      received += 1
      if case .artifactRequest(let request) = message {
        try serve(request, to: worker)
        continue
      }
      directives += dispatcher.onMessage(
        message, from: worker, now: now, peer: peer(of: message, from: worker))
    }
    return directives
  }

  /// Answers a worker's request for bytes of an artifact from the store: only a worker that
  /// greeted is served, only an artifact whose stored bytes match its hash, at most the bytes asked.
  private func serve(_ request: WireMessage.ArtifactRequest, to worker: WorkerID) throws {
    guard dispatcher.isRegistered(worker) else { return }
    func missing(_ reason: String) throws {
      _ = try socket.send(
        frames: [worker.bytes] + WireCodec.encode(.artifactMissing(sha256: request.sha256, reason: reason)),
        wait: false)
    }
    guard let store = artifactStore else { return try missing("this coordinator serves no artifacts") }
    let path = store.path(of: request.sha256)
    let size: Int
    if let known = checkedArtifacts[request.sha256] {
      size = known
    } else {
      guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
        let bytes = (attributes[.size] as? NSNumber)?.intValue
      else { return try missing("the coordinator's store has no artifact \(request.sha256.prefix(12))") }
      if let problem = store.problem(with: ArtifactStore.Reference(sha256: request.sha256, size: bytes)) {
        logger.error("A stored artifact is damaged; its run is redone on resume: \(problem)")
        return try missing("the coordinator's copy of \(request.sha256.prefix(12)) is damaged: \(problem)")
      }
      checkedArtifacts[request.sha256] = bytes
      size = bytes
    }
    let start = Int(min(request.offset, UInt64(size)))
    let count = min(Int(request.length), size - start)
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return try missing("the coordinator cannot open \(path)") }
    defer { close(descriptor) }
    // Read straight into the array that is sent (a FileHandle's Data would be copied once more).
    var failed = false
    let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      while initialized < count {
        let read = pread(
          descriptor, buffer.baseAddress! + initialized, count - initialized, off_t(start + initialized))
        if read < 0 && errno == EINTR { continue }
        guard read > 0 else {
          failed = true
          return
        }
        initialized += read
      }
    }
    guard !failed else { return try missing("the coordinator cannot read \(path)") }
    let chunk = WireMessage.ArtifactChunk(
      sha256: request.sha256, offset: UInt64(start), totalBytes: UInt64(size), bytes: bytes)
    _ = try socket.send(frames: [worker.bytes] + WireCodec.encode(.artifactChunk(chunk)), wait: false)
    artifactBytesSent += bytes.count
    artifactChunksSent += 1
  }

  /// What the transport knows of the sender of the message just received: its address (for a
  /// hello or a stranger) and, under CURVE, the allow-list name its key was admitted as (for a
  /// hello or a report, which count only over the connection of the worker that greeted). Each is
  /// a metadata lookup, so other messages skip them.
  private func peer(of message: WireMessage, from worker: WorkerID) -> PeerInfo {
    var peer = PeerInfo()
    switch message {
    case .hello, .result, .segment, .failure, .refusal, .shardResult, .shardFailure, .epochReport:
      if authenticator != nil { peer.authenticatedID = socket.lastMessageProperty("User-Id") }
      if case .hello = message {
        peer.address = socket.lastMessageProperty("Peer-Address") ?? ""
      } else if !dispatcher.isRegistered(worker) {
        peer.address = socket.lastMessageProperty("Peer-Address") ?? ""
      }
    default:
      break
    }
    return peer
  }

  /// Hands the records of `directives` to the journal writer as one batch; the sends and logs
  /// wait in the outbox until that batch is committed. Without records they go at once, unless
  /// earlier ones still wait (messages leave in the order they were decided).
  private func perform(_ directives: [Dispatcher.Directive]) throws {
    guard !directives.isEmpty else { return }
    if directives.contains(where: \.isJournalRecord) {
      guard let writer else { preconditionFailure("journal records are decided only while run() serves") }
      lastSubmitted += 1
      writer.submit(
        JournalWriter.Batch(id: lastSubmitted, records: directives.filter(\.isJournalRecord), time: Date()))
      outbox.append((lastSubmitted, directives))
    } else if outboxStart == outbox.count {
      try deliver(directives)
    } else {
      outbox.append((lastSubmitted, directives))
    }
  }

  /// Sends and logs, in order, what committed batches allowed.
  private func deliverCommitted() throws {
    if let writer { committedBatch = try writer.committed() }
    while outboxStart < outbox.count, outbox[outboxStart].batch <= committedBatch {
      let directives = outbox[outboxStart].directives
      outboxStart += 1
      try deliver(directives)
    }
    if outboxStart == outbox.count {
      outbox.removeAll(keepingCapacity: true)
      outboxStart = 0
    }
  }

  private func deliver(_ directives: [Dispatcher.Directive]) throws {
    for directive in directives {
      switch directive {
      case .send(let message, let worker):
        // A full queue (a stuck worker) must not block the loop; heartbeats settle the rest.
        _ = try socket.send(frames: [worker.bytes] + WireCodec.encode(message), wait: false)
      case .log(let event):
        logger.log(
          level: Logger.Level(rawValue: event.level.rawValue) ?? .info, "\(event.message)",
          metadata: Logger.Metadata(event.metadata))
      case .reportStatus(let client):
        // The writer owns the write connection: read what is committed through one of our own.
        let reader = try statusJournal ?? Journal(path: journal.path, readOnly: true)
        statusJournal = reader
        let text = SweepStatus.render(
          name: try reader.sweepInfo()?.name ?? "sweep", counts: try reader.counts(),
          states: try reader.runStates(),
          coordinator: .live(
            progress: dispatcher.progress, workers: dispatcher.workerSummaries,
            elapsed: ContinuousClock.now - started, artifactBytesSent: artifactBytesSent,
            rounds: dispatcher.roundSummaries))
        _ = try socket.send(frames: [client.bytes] + WireCodec.encode(.status(text: text)), wait: false)
      case .journalWorker, .journalLease, .journalOutcome, .journalDiscarded, .journalFailure,
        .journalExpired, .journalCheckpoint, .journalRuns:
        break
      }
    }
  }
}

/// Adds runs to a sweep while it is served: a sweep graph's consumers, as their inputs are journaled.
public protocol RunFeeder: AnyObject {
  /// The runs the outcome of `key` (just accepted, journaled in the same batch), which made
  /// `artifacts` (name to SHA-256), makes ready: `pending` to run, `done` and `failed` ones the
  /// journal already has an outcome for.
  func runs(after key: RunKey, artifacts: [String: String]) -> (
    pending: [RunSpec], done: [RunSpec], failed: [RunSpec]
  )
}

extension Int {
  fileprivate var isPowerOf2: Bool { self > 0 && self & (self - 1) == 0 }
}

extension Logger.Metadata {
  /// Metadata from ordered pairs.
  public init(_ pairs: [(String, String)]) {
    self.init()
    for (key, value) in pairs { self[key] = .string(value) }
  }
}
