import Experiments
import SweepModel

@testable import SweepProtocol

/// The run the rounds and epochs tests spread over simulated workers: lstm-metalearning small
/// enough to meta-train in a test (12 steps, batch 8 in 4 shards, validation every 5), its
/// one-process meta-state, and the workers' ids and hellos.
enum TinyRun {
  static func spec(seed: UInt64 = 3, shards: Int = 4, ordinal: Int = 0) -> RunSpec {
    let parameters = ExperimentCatalogue.completed(
      [
        "family": .string("boolean"), "batch": .int(8), "steps": .int(12), "sequence_length_train": .int(8),
        "validation_every": .int(5), "validation_sequences": .int(4), "curve_bin": .int(3),
        "test_sequences": .int(2), "test_length": .int(8), "shards": .int(shards),
      ], descriptor: LSTMMetaLearningExperiment.descriptor)
    return RunSpec(
      ordinal: ordinal, experiment: "lstm-metalearning", variant: "v", parameters: parameters, seed: seed)
  }

  /// The meta-state one process reaches after the whole run.
  static func finalState(_ run: RunSpec) throws -> [UInt8] {
    try LSTMMetaLearningExperiment.runSegment(
      parameters: run.parameters, seed: run.seed, from: nil, steps: 12
    ).binaryEncoded()
  }

  static func worker(_ name: String) -> WorkerID { WorkerID(Array(name.utf8)) }

  /// A hello whose session bytes are the name's (zero-padded); `peerPort` 0: no peer port.
  static func hello(_ name: String, slots: UInt32 = 1, peerPort: UInt16 = 0) -> WireMessage {
    .hello(
      WireMessage.Hello(
        protocolVersion: WireCodec.protocolVersion, buildID: "b", name: name, slots: slots,
        session: Array(name.utf8.prefix(WireLimits.sessionBytes))
          + [UInt8](repeating: 0, count: max(0, WireLimits.sessionBytes - name.utf8.count)), machine: "m",
        peerPort: peerPort))
  }
}
