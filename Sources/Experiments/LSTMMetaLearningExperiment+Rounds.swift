import SweepModel
import TrainingCore

/// Meta-training in rounds: the coordinator holds the ``MetaTrainingState``, workers compute the
/// gradients of each step's shards (``MetaTraining/shardGradient(parameters:settings:seed:step:shard:workspace:)``),
/// and ``MetaTraining/applyStep(to:gradient:squaredError:settings:seed:)`` ends each round, as in
/// one process. A replica is the parameters (4 bytes each); a shard gradient is the shard's
/// Σ (ŷ − y)² (8 bytes) and its gradient (4 bytes per parameter).
extension LSTMMetaLearningExperiment: RoundsExperiment {
  /// Rounds for a run with more than one shard and at least one step.
  public static func roundPlan(parameters: Parameters) -> RoundPlan? {
    guard let config = try? LSTMMetaLearningConfig(parameters: parameters), config.training.shards > 1,
      config.steps > 0
    else { return nil }
    return RoundPlan(shards: config.training.shards, steps: config.steps)
  }

  public static func startRounds(parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?)
    throws(RoundsError) -> any RoundsReduction
  {
    let config: LSTMMetaLearningConfig
    do {
      config = try LSTMMetaLearningConfig(parameters: parameters)
    } catch {
      throw RoundsError("\(error)")
    }
    let settings = config.trainingSettings
    var state = MetaTrainingState(settings: settings, seed: seed)
    if let checkpoint {
      do {
        state = try MetaTrainingState(binary: checkpoint)
      } catch {
        throw RoundsError("lstm-metalearning: cannot continue from the checkpoint: \(error)")
      }
      guard state.settingsFingerprint == settings.fingerprint, state.step <= config.steps else {
        throw RoundsError("lstm-metalearning: the checkpoint was made by another run; start afresh.")
      }
    }
    return LSTMRounds(settings: settings, seed: seed, state: state)
  }

  public static func makeShardComputer(parameters: Parameters, seed: UInt64) throws -> any ShardComputer {
    let settings = try LSTMMetaLearningConfig(parameters: parameters).trainingSettings
    return LSTMShardComputer(
      settings: settings, seed: seed, workspace: MetaTraining.Workspace(settings: settings))
  }
}

/// The coordinator's meta-state of one LSTM meta-training run with rounds.
struct LSTMRounds: RoundsReduction {
  let settings: MetaTrainingSettings
  let seed: UInt64
  private(set) var state: MetaTrainingState
  private(set) var replica: [UInt8]

  init(settings: MetaTrainingSettings, seed: UInt64, state: MetaTrainingState) {
    self.settings = settings
    self.seed = seed
    self.state = state
    self.replica = []
    FloatBytes.append(state.parameters, to: &replica)
  }

  var step: Int { state.step }
  var checkpoint: [UInt8] { state.binaryEncoded() }

  mutating func apply(_ shardGradients: [[UInt8]]) throws(RoundsError) {
    let count = state.parameters.count
    let shards = max(1, min(settings.shards, settings.batchSize))
    guard shardGradients.count == shards else {
      throw RoundsError("round \(state.step) has \(shardGradients.count) shard gradients, not \(shards)")
    }
    for (shard, bytes) in shardGradients.enumerated() where bytes.count != 8 + 4 * count {
      throw RoundsError(
        "shard \(shard) of round \(state.step) has \(bytes.count) bytes, not \(8 + 4 * count): another run's")
    }
    let parts = shardGradients.map { bytes in
      (
        gradient: FloatBytes.floats(bytes, from: 8, count: count),
        squaredError: Double(bitPattern: FloatBytes.uint64(bytes, at: 0))
      )
    }
    var (gradient, squaredError) = MetaTraining.reduce(parts)
    MetaTraining.applyStep(
      to: &state, gradient: &gradient, squaredError: squaredError, settings: settings, seed: seed)
    replica.removeAll(keepingCapacity: true)
    FloatBytes.append(state.parameters, to: &replica)
  }
}

/// One worker thread's shard gradients of one LSTM meta-training run.
struct LSTMShardComputer: ShardComputer {
  let settings: MetaTrainingSettings
  let seed: UInt64
  var workspace: MetaTraining.Workspace

  mutating func gradient(replica: [UInt8], step: Int, shard: Int) throws -> [UInt8] {
    let count = settings.shape.parameterCount
    let shards = max(1, min(settings.shards, settings.batchSize))
    guard replica.count == 4 * count, (0..<shards).contains(shard), step >= 0 else {
      throw ExperimentError(
        message:
          "lstm-metalearning: a shard lease that does not fit the run (replica of \(replica.count) bytes, shard \(shard) of \(shards))."
      )
    }
    let parameters = FloatBytes.floats(replica, from: 0, count: count)
    let squaredError = MetaTraining.shardGradient(
      parameters: parameters, settings: settings, seed: seed, step: step, shard: shard, workspace: &workspace)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(8 + 4 * count)
    FloatBytes.append(squaredError.bitPattern, to: &bytes)
    FloatBytes.append(workspace.gradient, to: &bytes)
    return bytes
  }
}
