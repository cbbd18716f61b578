/// How a run is spread over rounds (design.md, "Rounds"): each step's batch splits into a fixed
/// number of shards, computed by any workers, reduced in shard order by the coordinator.
public struct RoundPlan: Sendable, Equatable {
  /// Shards per round, fixed by the run's parameters (never by the worker count).
  public var shards: Int
  /// Rounds (optimiser steps) of the whole run.
  public var steps: Int
  public init(shards: Int, steps: Int) {
    self.shards = shards
    self.steps = steps
  }
}

/// Why a run's rounds cannot go on: a checkpoint or a shard gradient that does not fit the run.
public struct RoundsError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The meta-state of one run with rounds, owned by the coordinator: what workers compute shard
/// gradients from, and the step that reduces them.
///
/// An implementation is a pure value: the same checkpoint and the same shard gradients give the
/// same bits, so a coordinator that resumes from a journaled checkpoint goes on exactly as the
/// uninterrupted one would have.
public protocol RoundsReduction: Sendable {
  /// Rounds done; the next round computes the gradient of this step.
  var step: Int { get }
  /// What every worker of the next round needs (the parameters), as bytes.
  var replica: [UInt8] { get }
  /// The run's state as a chained run's checkpoint: journaled every few rounds, and the lease
  /// that finishes the run (its evaluation) continues from it.
  var checkpoint: [UInt8] { get }
  /// Ends round ``step``: sums `shardGradients` (one per shard, in shard order) and takes one
  /// optimiser step.
  /// - Throws: ``RoundsError`` when a gradient does not fit the run (the round is not applied).
  mutating func apply(_ shardGradients: [[UInt8]]) throws(RoundsError)
}

/// What the coordinator knows of runs with rounds (the metasweep executable injects the
/// experiments' implementation; the coordinator itself knows no training code).
public protocol RoundsModel: Sendable {
  /// How a run of `experiment` with these (complete) parameters is spread over rounds, or nil when
  /// it runs whole on one worker.
  func plan(experiment: String, parameters: Parameters) -> RoundPlan?
  /// The meta-state of a run with rounds: from `checkpoint` (nil: from initialisation).
  /// - Throws: ``RoundsError`` for a checkpoint of another run, version or build.
  func start(experiment: String, parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?)
    throws(RoundsError) -> any RoundsReduction
}
