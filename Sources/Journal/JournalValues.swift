import Foundation
import SweepModel

/// What ``Journal/prepare(sweepName:experiment:specHash:specText:runs:)`` found for the current spec.
public struct PrepareSummary: Sendable, Equatable {
  /// Runs in the current spec.
  public var total: Int
  /// Runs of the current spec that already have an outcome (from this or an earlier version of the spec).
  public var alreadyDone: Int
  /// Runs of the current spec that exhausted their retries.
  public var failed: Int
  /// Runs of the current spec still to do.
  public var pending: Int

  public init(total: Int, alreadyDone: Int, failed: Int, pending: Int) {
    self.total = total
    self.alreadyDone = alreadyDone
    self.failed = failed
    self.pending = pending
  }
}

/// An attempt as the journal recorded its lease: its run and the worker process it went to.
public struct JournalAttempt: Sendable, Equatable {
  public var key: RunKey
  /// The coordinator's digest of the worker process (nil for leases journaled before it was kept).
  public var holder: String?

  public init(key: RunKey, holder: String?) {
    self.key = key
    self.holder = holder
  }
}

/// How many runs of the current spec are in each state: `done + failed + leased + pending == total`.
public struct JournalCounts: Sendable, Equatable {
  /// Runs in the current spec.
  public var total: Int
  public var done: Int
  public var failed: Int
  /// Runs without an outcome and without a live lease.
  public var pending: Int
  /// Runs without an outcome that a coordinator has leased to a worker (running or queued there),
  /// as far as the journal knows: a coordinator that was killed leaves its leases behind until the
  /// next one opens the journal.
  public var leased: Int

  public init(total: Int, done: Int, failed: Int, pending: Int, leased: Int) {
    self.total = total
    self.done = done
    self.failed = failed
    self.pending = pending
    self.leased = leased
  }
}

/// The journal's single `sweep` row.
public struct SweepInfo: Sendable, Equatable {
  public var name: String
  public var experiment: String
  /// SHA-256 of the current spec text.
  public var specHash: String
  /// The current spec, verbatim, so `metasweep report` and `resume` need nothing but the journal.
  public var specText: String
  public var createdAt: Date
  public var updatedAt: Date
}

/// A run of the current spec with its one outcome.
public struct FinishedRun: Sendable, Equatable {
  public var run: RunSpec
  public var outcome: Outcome
  /// The worker whose attempt produced the outcome.
  public var worker: String
  /// The attempt that produced the outcome.
  public var attempt: UInt64
  /// Wall-clock seconds the worker spent on the run.
  public var seconds: Double
  public var finishedAt: Date
  /// The artifacts the run made (checked: their rows and files are intact), in name order; the
  /// outcome itself carries none, their bytes stay in the store.
  public var artifacts: [StoredArtifact] = []
}

/// A run of the current spec that exhausted its retries.
public struct FailedRun: Sendable, Equatable {
  public var run: RunSpec
  /// The error text of the last failure.
  public var error: String
  /// How many attempts failed.
  public var failures: Int
}

/// What the coordinator should do with a run after one of its attempts failed.
public enum RunFailureDisposition: Sendable, Equatable {
  /// The run has retries left and is pending again.
  case retry
  /// The run reached the retry limit and is marked failed with the error text.
  case failed
  /// The run already has an outcome (from another attempt); the failure changes nothing.
  case alreadyDone
}

/// Where one run of the current spec stands.
public struct RunState: Sendable, Equatable {
  /// The run's progress.
  public enum State: Sendable, Equatable {
    /// Not started, or its lease expired.
    case pending
    /// Leased to a worker now (as far as the journal knows).
    case running
    /// Has its outcome.
    case done
    /// Failed as many times as the retry limit allows.
    case failed
  }
  public var variant: String
  public var seed: UInt64
  public var state: State
  public init(variant: String, seed: UInt64, state: State) {
    self.variant = variant
    self.seed = seed
    self.state = state
  }
}

/// The latest journaled checkpoint of a chained run.
public struct JournalCheckpoint: Sendable, Equatable {
  /// The attempt whose segment ended with it.
  public var attempt: UInt64
  /// Steps of the run done when it was taken.
  public var stepsDone: UInt64
  /// The experiment's opaque state.
  public var data: [UInt8]
  public init(attempt: UInt64, stepsDone: UInt64, data: [UInt8]) {
    self.attempt = attempt
    self.stepsDone = stepsDone
    self.data = data
  }
}
