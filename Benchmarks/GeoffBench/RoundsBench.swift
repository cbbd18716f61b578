import Experiments
import Foundation
import SweepModel

/// The rounds API in one process, no messages: `steps` meta-training steps of one configuration as
/// one process takes them (`LSTMMetaLearningExperiment.runSegment`) and as rounds compute them
/// (each shard through a shard computer from the replica bytes, reduced and applied by the
/// coordinator's `RoundsReduction`). One line per way, "µs per step", and the two final states must
/// agree byte for byte. The difference is what the rounds code itself costs per step (decoding and
/// encoding replicas and gradients, the reduction), apart from moving messages.
func benchmarkRounds(configuration: String, steps: Int, shards: Int) throws {
  var parameters: Parameters = [
    "batch": .int(64), "sequence_length_train": .int(64), "steps": .int(steps), "shards": .int(shards),
    "validation_every": .int(500),
  ]
  switch configuration {
  case "quadratic":
    parameters["family"] = .string("quadratic")
    parameters["hidden_units"] = .int(24)
    parameters["dense_units"] = .int(40)
  default:
    parameters["family"] = .string("boolean")
    parameters["hidden_units"] = .int(12)
  }
  parameters = ExperimentCatalogue.completed(parameters, descriptor: LSTMMetaLearningExperiment.descriptor)
  let clock = ContinuousClock()
  var whole: [UInt8] = []
  let wholeTime = try clock.measure {
    whole = try LSTMMetaLearningExperiment.runSegment(
      parameters: parameters, seed: 1, from: nil, steps: steps
    )
    .binaryEncoded()
  }
  var reduction = try ExperimentCatalogue.rounds.start(
    experiment: "lstm-metalearning", parameters: parameters, seed: 1, checkpoint: nil)
  var computer = try ExperimentCatalogue.makeShardComputer(
    experiment: "lstm-metalearning", parameters: parameters, seed: 1)
  var shardTime = Duration.zero
  let roundsTime = try clock.measure {
    for step in 0..<steps {
      var gradients: [[UInt8]] = []
      let replica = reduction.replica
      let started = clock.now
      for shard in 0..<shards {
        gradients.append(try computer.gradient(replica: replica, step: step, shard: shard))
      }
      shardTime += clock.now - started
      try reduction.apply(gradients)
    }
  }
  precondition(reduction.checkpoint == whole, "rounds and one process disagree")
  let perStep = { (d: Duration) in String(format: "%.1f", d.inSeconds / Double(steps) * 1e6) }
  print("rounds-\(configuration)-one-process  \(perStep(wholeTime)) µs/step")
  print(
    "rounds-\(configuration)-\(shards)-shards  \(perStep(roundsTime)) µs/step (shards \(perStep(shardTime)), reduction \(perStep(roundsTime - shardTime)))"
  )
}
