import Foundation
import Journal
import Logging
import SweepModel
import SweepProtocol
import ZeroMQ

/// The coordinator's I/O shell: owns the ROUTER socket and the journal, and performs what the
/// pure ``Dispatcher`` decides.
///
/// Everything runs on the thread that calls ``run(shouldStop:)``: the socket and the journal have
/// exactly one owner. Every outcome is committed to the journal before anything that depends on
/// it is sent, so a kill -9 at any moment loses at most the runs in flight.
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
  /// Messages that failed to decode (dropped, never fatal).
  public private(set) var malformedMessages = 0
  /// CURVE handshakes refused (unknown key, wrong mechanism).
  public private(set) var refusedHandshakes = 0
  /// Journal transactions committed (one per loop iteration that decided anything to record).
  public private(set) var journalCommits = 0

  /// A coordinator bound to `socket` (a ROUTER already bound by the caller); with CURVE, the
  /// `authenticator` the socket was made a CURVE server with.
  public init(
    socket: Socket, authenticator: ZAPAuthenticator? = nil, journal: Journal, dispatcher: Dispatcher,
    settings: Settings = Settings(), logger: Logger,
    onProgress: @escaping (Dispatcher.Progress) -> Void = { _ in }
  ) {
    self.socket = socket
    self.authenticator = authenticator
    self.journal = journal
    self.dispatcher = dispatcher
    self.settings = settings
    self.logger = logger
    self.onProgress = onProgress
  }

  /// The dispatcher's counters.
  public var progress: Dispatcher.Progress { dispatcher.progress }

  /// Serves workers until every run is finished or `shouldStop` turns true.
  public func run(shouldStop: () -> Bool) throws -> Ending {
    var ending: Ending?
    let clock = ContinuousClock()
    var lastProgress = clock.now
    let poller = Poller()
    _ = poller.register(socket)
    let handshakes = authenticator.map { poller.register($0.socket) }
    while ending == nil {
      if dispatcher.isComplete {
        ending = .complete
      } else if shouldStop() {
        ending = .interrupted
      }
      if ending != nil {
        try perform(dispatcher.stop())
        try linger(clock: clock, poller: poller)
        break
      }
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
      var directives = try receiveAll(now: clock.now)
      directives += dispatcher.onTick(now: clock.now)
      try perform(directives)
      if clock.now - lastProgress >= .milliseconds(200) {
        lastProgress = clock.now
        onProgress(dispatcher.progress)
      }
    }
    onProgress(dispatcher.progress)
    return ending!
  }

  /// After stopping, keeps answering while a peer that is not a registered worker has spoken
  /// within the worker timeout: it may be a worker we gave up on that would otherwise greet a
  /// coordinator that is gone forever. Each message then gets a shutdown (results are journaled).
  private func linger(clock: ContinuousClock, poller: Poller) throws {
    let limit = clock.now + settings.dispatcher.workerTimeout + .seconds(1)
    while clock.now < limit,
      let stranger = dispatcher.lastHeardFromStranger,
      clock.now - stranger < settings.dispatcher.workerTimeout
    {
      do {
        _ = try poller.poll(timeout: .milliseconds(50))
      } catch {
        guard error.code == .interrupted else { throw error }
      }
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
      directives += dispatcher.onMessage(message, from: worker, now: now)
    }
    return directives
  }

  /// Journals every record of `directives` in one transaction, then sends and logs in order: a
  /// message never leaves before the records it depends on are committed.
  private func perform(_ directives: [Dispatcher.Directive]) throws {
    let now = Date()
    if directives.contains(where: \.isJournalRecord) {
      try journal.batch {
        for directive in directives where directive.isJournalRecord { try record(directive, at: now) }
      }
      journalCommits += 1
    }
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
        let text = SweepStatus.render(
          name: try journal.sweepInfo()?.name ?? "sweep", counts: try journal.counts(),
          states: try journal.runStates(),
          live: (dispatcher.progress, dispatcher.workerSummaries, ContinuousClock.now - started))
        _ = try socket.send(frames: [client.bytes] + WireCodec.encode(.status(text: text)), wait: false)
      case .journalLease, .journalOutcome, .journalDiscarded, .journalFailure, .journalExpired,
        .journalCheckpoint:
        break
      }
    }
  }

  private func record(_ directive: Dispatcher.Directive, at now: Date) throws {
    switch directive {
    case .send, .log, .reportStatus:
      break
    case .journalLease(let attempt, let key, let worker):
      try journal.recordLease(attempt: attempt, key: key, worker: worker, at: now)
    case .journalOutcome(let result, let worker):
      _ = try journal.recordOutcome(
        attempt: result.attempt, key: result.key, worker: worker, outcome: result.outcome,
        seconds: result.seconds,
        at: now)
    case .journalDiscarded(let attempt, _, _):
      try journal.recordDiscarded(attempt: attempt, at: now)
    case .journalFailure(let failure, _, _):
      // The journal counts failures across resumes exactly as the dispatcher (seeded with the
      // journal's counts) does, so both reach the same verdict.
      _ = try journal.recordFailure(
        attempt: failure.attempt, key: failure.key, message: failure.message,
        retryLimit: settings.dispatcher.retryLimit, at: now)
    case .journalExpired(let attempt):
      try journal.recordExpired(attempt: attempt, at: now)
    case .journalCheckpoint(let attempt, let key, let bytes, let stepsDone):
      try journal.recordCheckpoint(
        attempt: attempt, key: key, data: bytes, stepsDone: stepsDone,
        buildID: settings.dispatcher.requiredBuildID ?? "", at: now)
    }
  }
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

extension Dispatcher.Directive {
  /// Whether the directive writes to the journal.
  var isJournalRecord: Bool {
    switch self {
    case .journalLease, .journalOutcome, .journalDiscarded, .journalFailure, .journalExpired,
      .journalCheckpoint:
      true
    case .send, .log, .reportStatus: false
    }
  }
}
