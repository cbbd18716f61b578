import Foundation
import Journal
import SweepModel
import SweepProtocol
import Synchronization
import ZeroMQ

/// Commits the coordinator's journal records on a thread of its own, so the loop keeps decoding
/// and dispatching while SQLite writes.
///
/// Batches commit in the order they were submitted; batches that queue up while a commit runs go
/// into the next transaction together. After each commit the writer wakes the loop through an
/// inproc PAIR socket (``wakeEndpoint``) and publishes the last committed batch id: the loop then
/// sends what those batches allowed. A failed commit stops the writer; the loop rethrows it.
// @unchecked Sendable: `journal` is used only by the writer thread between `start` and the end of
// `finish` (the shell does not touch it meanwhile); everything shared sits in `state`.
final class JournalWriter: @unchecked Sendable {
  /// What one loop iteration decided to record, stamped with one time.
  struct Batch: Sendable {
    var id: UInt64
    var records: [Dispatcher.Directive]
    var time: Date
  }

  private struct State {
    var queue: [Batch] = []
    var committed: UInt64 = 0
    var transactions = 0
    var failure: (any Error)?
    var isClosed = false
  }

  /// The endpoint the loop binds its PAIR socket to; the writer connects and sends a byte per commit.
  let wakeEndpoint: String
  private let journal: Journal
  private let retryLimit: Int
  private let buildID: String
  private let state = Mutex(State())
  private let work = DispatchSemaphore(value: 0)
  private let finished = DispatchSemaphore(value: 0)

  init(journal: Journal, retryLimit: Int, buildID: String) {
    self.journal = journal
    self.retryLimit = retryLimit
    self.buildID = buildID
    wakeEndpoint = "inproc://metasweep-journal-\(UInt(bitPattern: ObjectIdentifier(journal).hashValue))"
  }

  /// Starts the writer thread; the caller has bound a PAIR socket to ``wakeEndpoint`` in `context`.
  func start(context: ZMQContext) {
    let thread = Thread { [self] in
      writeUntilClosed(context: context)
      finished.signal()
    }
    thread.name = "metasweep-journal"
    thread.start()
  }

  /// Queues a batch for the next commit.
  func submit(_ batch: Batch) {
    state.withLock { $0.queue.append(batch) }
    work.signal()
  }

  /// The id of the last committed batch, or the error that stopped the writer.
  func committed() throws -> UInt64 {
    try state.withLock { state in
      if let failure = state.failure { throw failure }
      return state.committed
    }
  }

  /// Transactions committed so far (each holds one or more batches).
  var transactions: Int { state.withLock { $0.transactions } }

  /// Commits what is queued, stops the thread and waits for it; the journal is the caller's again.
  func finish() {
    state.withLock { $0.isClosed = true }
    work.signal()
    finished.wait()
  }

  private func writeUntilClosed(context: ZMQContext) {
    // Without a wake-up channel the loop would wait for commits it never hears of: fail loudly.
    let wake: Socket
    do {
      wake = try Socket(.pair, context: context)
      try wake.connect(wakeEndpoint)
    } catch {
      state.withLock { $0.failure = error }
      return
    }
    while true {
      work.wait()
      let (batches, isClosed) = state.withLock { state in
        defer { state.queue.removeAll(keepingCapacity: true) }
        return (state.queue, state.isClosed)
      }
      if let last = batches.last {
        do {
          try journal.batch {
            for batch in batches {
              for directive in batch.records { try record(directive, at: batch.time) }
            }
          }
          state.withLock { state in
            state.committed = last.id
            state.transactions += 1
          }
        } catch {
          state.withLock { $0.failure = error }
          _ = try? wake.send(frames: [[1]], wait: false)
          return
        }
        // A full pipe means the loop has wake-ups waiting already.
        _ = try? wake.send(frames: [[0]], wait: false)
      }
      if isClosed && state.withLock({ $0.queue.isEmpty }) { return }
    }
  }

  private func record(_ directive: Dispatcher.Directive, at time: Date) throws {
    switch directive {
    case .send, .log, .reportStatus:
      break
    case .journalWorker(let holder, let name, let machine):
      try journal.recordWorker(holder: holder.digest, name: name, machine: machine, at: time)
    case .journalLease(let attempt, let key, let worker, let holder):
      try journal.recordLease(attempt: attempt, key: key, worker: worker, holder: holder.digest, at: time)
    case .journalOutcome(let result, let worker):
      _ = try journal.recordOutcome(
        attempt: result.attempt, key: result.key, worker: worker, outcome: result.outcome,
        seconds: result.seconds, at: time)
      try journal.recordAttemptLog(attempt: result.attempt, log: result.log)
    case .journalDiscarded(let attempt, _, _):
      try journal.recordDiscarded(attempt: attempt, at: time)
    case .journalFailure(let failure, _, let isFinal):
      // The journal counts failures across resumes exactly as the dispatcher (seeded with the
      // journal's counts) does, so both reach the same verdict; a run no worker can run fails at
      // once, whatever its count.
      _ = try journal.recordFailure(
        attempt: failure.attempt, key: failure.key, message: failure.message,
        retryLimit: isFinal ? 1 : retryLimit,
        at: time)
      try journal.recordAttemptLog(attempt: failure.attempt, log: failure.log)
    case .journalExpired(let attempt):
      try journal.recordExpired(attempt: attempt, at: time)
    case .journalRuns(let runs):
      try journal.attach(runs: runs)
    case .journalCheckpoint(let attempt, let key, let bytes, let stepsDone, let log):
      try journal.recordCheckpoint(
        attempt: attempt, key: key, data: bytes, stepsDone: stepsDone, buildID: buildID, at: time)
      try journal.recordAttemptLog(attempt: attempt, log: log)
    }
  }
}
