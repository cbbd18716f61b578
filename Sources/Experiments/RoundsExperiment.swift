import SweepModel

/// An experiment family whose runs a coordinator can spread over many workers in rounds
/// (design.md, "Rounds"): it owns the meta-state (``RoundsReduction``), workers compute the
/// gradients of a step's shards (``ShardComputer``), and the reduction sums them in shard order.
///
/// A run with rounds is bit-identical to the same run in one process: both sum the same shards in
/// the same order and take the step with the same code.
public protocol RoundsExperiment: Experiment {
  /// How a run with these (complete, valid) parameters is spread over rounds, or nil when it runs
  /// whole on one worker.
  static func roundPlan(parameters: Parameters) -> RoundPlan?
  /// The coordinator's meta-state of a run, from `checkpoint` (nil: from initialisation).
  static func startRounds(parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?) throws(RoundsError)
    -> any RoundsReduction
  /// What a worker thread computes a run's shard gradients with (its buffers kept across rounds).
  static func makeShardComputer(parameters: Parameters, seed: UInt64) throws -> any ShardComputer
}

/// Computes shard gradients of one run on one thread.
public protocol ShardComputer {
  /// The gradient of shard `shard` of step `step`, from the parameters `replica`
  /// (``RoundsReduction/replica``), as the reduction reads it.
  /// - Throws: ``ExperimentError`` for a replica that does not fit the run.
  mutating func gradient(replica: [UInt8], step: Int, shard: Int) throws -> [UInt8]
}

extension ExperimentCatalogue {
  /// The coordinator's view of every family with rounds (the executable injects it).
  public static let rounds: any RoundsModel = CatalogueRounds()

  /// A shard computer for a run of `experiment`.
  /// - Throws: ``ExperimentError`` for an unknown family, one without rounds, or bad parameters.
  public static func makeShardComputer(experiment: String, parameters: Parameters, seed: UInt64) throws
    -> any ShardComputer
  {
    guard let family = family(named: experiment) as? any RoundsExperiment.Type else {
      throw ExperimentError(message: "This worker cannot compute shards of experiment '\(experiment)'.")
    }
    return try family.makeShardComputer(
      parameters: completed(parameters, descriptor: family.descriptor), seed: seed)
  }
}

/// ``RoundsModel`` over the catalogue's families.
struct CatalogueRounds: RoundsModel {
  func plan(experiment: String, parameters: Parameters) -> RoundPlan? {
    guard let family = ExperimentCatalogue.family(named: experiment) as? any RoundsExperiment.Type else {
      return nil
    }
    return family.roundPlan(
      parameters: ExperimentCatalogue.completed(parameters, descriptor: family.descriptor))
  }

  func start(experiment: String, parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?)
    throws(RoundsError) -> any RoundsReduction
  {
    guard let family = ExperimentCatalogue.family(named: experiment) as? any RoundsExperiment.Type else {
      throw RoundsError("experiment '\(experiment)' has no rounds")
    }
    return try family.startRounds(
      parameters: ExperimentCatalogue.completed(parameters, descriptor: family.descriptor), seed: seed,
      checkpoint: checkpoint)
  }
}

/// Float vectors as the bytes of replicas and shard gradients: each value's IEEE bits,
/// little-endian, so they cross machines unchanged.
enum FloatBytes {
  static func append(_ values: [Float], to bytes: inout [UInt8]) {
    #if _endian(little)
      // The IEEE bits in memory are already the little-endian bytes.
      values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    #else
      bytes.reserveCapacity(bytes.count + 4 * values.count)
      for value in values {
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) {
          bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift)))
        }
      }
    #endif
  }

  /// `count` floats from `bytes` starting at `offset` (the caller checked the length).
  static func floats(_ bytes: [UInt8], from offset: Int, count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      bytes.withUnsafeBytes { raw in
        #if _endian(little)
          UnsafeMutableRawBufferPointer(buffer).copyMemory(
            from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 4 * count)]))
        #else
          for k in 0..<count {
            let i = offset + 4 * k
            let bits =
              UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24
            buffer[k] = Float(bitPattern: bits)
          }
        #endif
      }
      initialized = count
    }
  }

  static func append(_ value: UInt64, to bytes: inout [UInt8]) {
    for shift in stride(from: 0, to: 64, by: 8) {
      bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
    }
  }

  static func uint64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << UInt64(8 * $1) }
  }
}
