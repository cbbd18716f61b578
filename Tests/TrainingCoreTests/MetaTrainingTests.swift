import Experiments
import SweepModel
import Testing
import TrainingCore

/// A tiny meta-training configuration that runs in well under a second in a debug build.
private func tinySettings(threads: Int = 1) -> MetaTrainingSettings {
  var settings = MetaTrainingSettings()
  settings.shape = LSTMShape(inputs: 3, hidden: 4)
  settings.trainingLength = 8
  settings.batchSize = 5
  settings.curveBin = 2
  settings.validationEvery = 3
  settings.validationSequences = 2
  settings.threads = threads
  return settings
}

@Test func metaTraining_sameSeedTwice_isBitIdentical() {
  let settings = tinySettings()
  let a = MetaTraining.train(
    MetaTrainingState(settings: settings, seed: 5), settings: settings, seed: 5, steps: 6)
  let b = MetaTraining.train(
    MetaTrainingState(settings: settings, seed: 5), settings: settings, seed: 5, steps: 6)
  #expect(a == b)
  #expect(a.parameters.map(\.bitPattern) == b.parameters.map(\.bitPattern))
  let other = MetaTraining.train(
    MetaTrainingState(settings: settings, seed: 6), settings: settings, seed: 6, steps: 6)
  #expect(other.parameters != a.parameters)
}

@Test func metaTraining_oneAndTwoThreads_giveBitIdenticalParameters() {
  let one = tinySettings(threads: 1)
  let two = tinySettings(threads: 2)
  #expect(one.fingerprint == two.fingerprint)
  let a = MetaTraining.train(MetaTrainingState(settings: one, seed: 9), settings: one, seed: 9, steps: 5)
  let b = MetaTraining.train(MetaTrainingState(settings: two, seed: 9), settings: two, seed: 9, steps: 5)
  #expect(a.parameters.map(\.bitPattern) == b.parameters.map(\.bitPattern))
  #expect(a == b)
}

@Test func metaTraining_chainedThroughCheckpoint_equalsOnePiece() throws {
  let settings = tinySettings()
  let whole = MetaTraining.train(
    MetaTrainingState(settings: settings, seed: 3), settings: settings, seed: 3, steps: 7)
  let first = MetaTraining.train(
    MetaTrainingState(settings: settings, seed: 3), settings: settings, seed: 3, steps: 4)
  let shipped = try MetaTrainingState(binary: first.binaryEncoded())
  #expect(shipped == first)
  let rest = MetaTraining.train(shipped, settings: settings, seed: 3, steps: 3)
  #expect(rest == whole)
  #expect(rest.parameters.map(\.bitPattern) == whole.parameters.map(\.bitPattern))
}

@Test func experimentSegments_equalOneRun() throws {
  let parameters: Parameters = [
    "hidden_units": .int(3), "sequence_length_train": .int(6), "batch": .int(3), "steps": .int(5),
    "test_sequences": .int(4), "test_length": .int(10), "validation_every": .int(2),
    "validation_sequences": .int(2),
    "curve_bin": .int(1),
  ]
  let run = try LSTMMetaLearningExperiment.run(parameters: parameters, seed: 4)
  var state = try LSTMMetaLearningExperiment.runSegment(parameters: parameters, seed: 4, from: nil, steps: 2)
  state = try MetaTrainingState(binary: state.binaryEncoded())
  state = try LSTMMetaLearningExperiment.runSegment(parameters: parameters, seed: 4, from: state, steps: 3)
  let chained = try LSTMMetaLearningExperiment.outcome(parameters: parameters, seed: 4, state: state)
  // Bit patterns, because metrics of functions the 4 test sequences never drew are NaN.
  #expect(chained.metrics.map(\.value.bitPattern) == run.metrics.map(\.value.bitPattern))
  #expect(
    chained.series.map { $0.values.map(\.bitPattern) } == run.series.map { $0.values.map(\.bitPattern) })
  #expect(run.metrics.map(\.name) == LSTMMetaLearningExperiment.descriptor.metrics)
  #expect(run.series(named: "training_mse")?.values.count == 5)
  #expect(run.series(named: "mean_abs_error_per_cycle")?.values.count == 10)
}

@Test func checkpoint_rejectsTruncatedCorruptedAndForeignBytes() {
  let settings = tinySettings()
  let state = MetaTraining.train(
    MetaTrainingState(settings: settings, seed: 1), settings: settings, seed: 1, steps: 3)
  let bytes = state.binaryEncoded()
  func code(_ b: [UInt8]) -> MetaTrainingStateError.Code? {
    do {
      _ = try MetaTrainingState(binary: b)
      return nil
    } catch let error as MetaTrainingStateError {
      return error.code
    } catch {
      return nil
    }
  }
  #expect(code(bytes) == nil)
  for cut in [0, 10, 23, bytes.count / 2, bytes.count - 1] {
    #expect(code(Array(bytes.prefix(cut))) != nil, "accepted \(cut) of \(bytes.count) bytes")
  }
  for position in [20, 40, bytes.count / 2, bytes.count - 9] {
    var flipped = bytes
    flipped[position] ^= 0x10
    #expect(code(flipped) == .checksumMismatch, "flip at \(position)")
  }
  var foreign = bytes
  foreign[0] = UInt8(ascii: "X")
  #expect(code(foreign) == .badMagic)
  var newer = bytes
  newer[4] = 2
  #expect(code(newer) == .unsupportedVersion)
  #expect(code(bytes + [0]) != nil)
}

@Test func resumingUnderOtherParameters_isRefused() throws {
  let parameters: Parameters = ["hidden_units": .int(3), "sequence_length_train": .int(4), "batch": .int(2)]
  let state = try LSTMMetaLearningExperiment.runSegment(parameters: parameters, seed: 1, from: nil, steps: 1)
  var other = parameters
  other["learning_rate"] = .double(0.01)
  #expect(throws: ExperimentError.self) {
    _ = try LSTMMetaLearningExperiment.runSegment(parameters: other, seed: 1, from: state, steps: 1)
  }
  var threads = parameters
  threads["threads"] = .int(2)
  _ = try LSTMMetaLearningExperiment.runSegment(parameters: threads, seed: 1, from: state, steps: 1)
}

@Test func booleanSampler_drawsAllSixteenFunctions_withTheirTruthTables() {
  var settings = SequenceSettings()
  settings.family = .boolean
  var seen = Set<Int>()
  for k in 0..<400 {
    let sequence = MetaSequence.training(settings: settings, length: 16, seed: 1, step: 0, index: k)
    guard case .boolean(let index) = sequence.functions[0] else {
      Issue.record("not boolean")
      return
    }
    seen.insert(index)
    for t in 0..<16 {
      let x1 = Int(sequence.inputs[3 * t])
      let x2 = Int(sequence.inputs[3 * t + 1])
      #expect(Int(sequence.targets[t]) == (index >> (2 * x1 + x2)) & 1)
      #expect(sequence.inputs[3 * t + 2] == (t == 0 ? 0.5 : sequence.targets[t - 1]))
    }
  }
  #expect(seen.count == 16)
  // XOR is 6 and XNOR 9: f(0,0), f(0,1), f(1,0), f(1,1).
  let xor = DrawnFunction.boolean(index: DrawnFunction.xorIndex)
  #expect([xor(0, 0), xor(0, 1), xor(1, 0), xor(1, 1)] == [0, 1, 1, 0])
  let xnor = DrawnFunction.boolean(index: DrawnFunction.xnorIndex)
  #expect([xnor(0, 0), xnor(0, 1), xnor(1, 0), xnor(1, 1)] == [1, 0, 0, 1])
}

@Test func booleanNames_sayWhatEachFunctionComputes() {
  // Each name's meaning written out independently, checked against the family's truth tables.
  let meaning: [String: (Bool, Bool) -> Bool] = [
    "FALSE": { _, _ in false }, "NOR": { !($0 || $1) }, "¬x₁∧x₂": { !$0 && $1 }, "¬x₁": { a, _ in !a },
    "x₁∧¬x₂": { $0 && !$1 }, "¬x₂": { _, b in !b }, "XOR": { $0 != $1 }, "NAND": { !($0 && $1) },
    "AND": { $0 && $1 }, "XNOR": { $0 == $1 }, "x₂": { _, b in b }, "x₁→x₂": { !$0 || $1 },
    "x₁": { a, _ in a }, "x₂→x₁": { $0 || !$1 }, "OR": { $0 || $1 }, "TRUE": { _, _ in true },
  ]
  #expect(DrawnFunction.booleanNames.count == 16)
  for (index, label) in DrawnFunction.booleanNames.enumerated() {
    let parts = label.split(separator: " ", maxSplits: 1)
    #expect(parts.first == Substring(String(index)))
    guard let name = parts.last, let f = meaning[String(name)] else {
      Issue.record("no meaning for \(label)")
      continue
    }
    let drawn = DrawnFunction.boolean(index: index)
    for (x1, x2) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
      #expect(drawn(Double(x1), Double(x2)) == (f(x1 == 1, x2 == 1) ? 1 : 0), "\(label) at (\(x1), \(x2))")
    }
  }
}

@Test func noXorMask_neverDrawsXorOrXnor() {
  var settings = SequenceSettings()
  settings.booleanFunctionMask = 0xFFFF & ~(1 << 6) & ~(1 << 9)
  for k in 0..<300 {
    let sequence = MetaSequence.training(settings: settings, length: 2, seed: 2, step: 1, index: k)
    #expect(sequence.functions[0] != .boolean(index: 6) && sequence.functions[0] != .boolean(index: 9))
  }
}

@Test func quadraticSampler_spansExactlyPointTwoToPointEight_onTheGrid() {
  var settings = SequenceSettings()
  settings.family = .quadratic
  var random = RandomStream(rootSeed: 3, stream: "quadratic-test")
  for _ in 0..<50 {
    let f = MetaSequence.draw(settings, &random)
    var low = Double.infinity
    var high = -Double.infinity
    for i in 0...20 {
      for j in 0...20 {
        let y = f(DrawnFunction.gridPoint(i), DrawnFunction.gridPoint(j))
        low = min(low, y)
        high = max(high, y)
      }
    }
    #expect(low == 0.2)
    #expect(high == 0.8)
  }
}

@Test func semilinearSampler_matchesItsDefinition() {
  var settings = SequenceSettings()
  settings.family = .semilinear
  let sequence = MetaSequence.training(settings: settings, length: 32, seed: 8, step: 3, index: 1)
  guard case .semilinear(let w1, let w2, let w3) = sequence.functions[0] else {
    Issue.record("not semilinear")
    return
  }
  for w in [w1, w2, w3] { #expect(w >= -1 && w < 1) }
  for t in 0..<32 {
    let x1 = Double(sequence.inputs[3 * t])
    let x2 = Double(sequence.inputs[3 * t + 1])
    #expect(x1 >= -1 && x1 < 1 && x2 >= -1 && x2 < 1)
    let y = 0.5 * (1 + DeterministicMath.tanh(w1 * x1 + w2 * x2 + w3))
    #expect(abs(Double(sequence.targets[t]) - y) < 1e-6)
  }
}

@Test func streamMode_switchesFunctionEverySegment_withoutResettingFeedback() {
  var settings = SequenceSettings()
  settings.mode = .stream
  settings.segmentLength = 8
  let sequence = MetaSequence.training(settings: settings, length: 30, seed: 1, step: 0, index: 0)
  #expect(sequence.functions.count == 4)
  #expect(sequence.inputs[3 * 8 + 2] == sequence.targets[7])
}

@Test func trainingBatches_areReproducibleStepByStep() {
  let settings = SequenceSettings()
  let a = MetaSequence.training(settings: settings, length: 10, seed: 7, step: 1234, index: 5)
  let b = MetaSequence.training(settings: settings, length: 10, seed: 7, step: 1234, index: 5)
  let c = MetaSequence.training(settings: settings, length: 10, seed: 7, step: 1235, index: 5)
  #expect(a == b)
  #expect(a != c)
}

@Test func bayesPredictor_firstCycleErrorIsAQuarter_andBoundDecreases() {
  let perCycle = BooleanBayesPredictor.expectedSquaredError(cycles: 40)
  #expect(perCycle[0] == 0.25)
  for t in 1..<40 {
    #expect(perCycle[t] < perCycle[t - 1])
    #expect(abs(perCycle[t] - 0.25 * pow075(t)) < 1e-15)
  }
  // (1 − 0.75^256)/256.
  #expect(
    abs(BooleanBayesPredictor.expectedMeanSquaredError(length: 256, segmentLength: 256) - 1.0 / 256) < 1e-12)
  var predictor = BooleanBayesPredictor()
  #expect(predictor.prediction(1, 0) == 0.5)
  predictor.observe(1, 0, 1)
  #expect(predictor.prediction(1, 0) == 1)
  #expect(predictor.prediction(0, 1) == 0.5)
  // Without XOR/XNOR, having seen f(0,0) = 0 and f(1,1) = 0 rules out XOR: f(0,1) is no longer ½.
  var b14 = BooleanBayesPredictor(allowedMask: 0xFFFF & ~(1 << 6) & ~(1 << 9))
  b14.observe(0, 0, 0)
  b14.observe(1, 1, 0)
  #expect(b14.prediction(0, 1) == 1.0 / 3)
}

private func pow075(_ n: Int) -> Double { (0..<n).reduce(1.0) { acc, _ in acc * 0.75 } }

@Test func evaluation_ofAPerfectPredictor_isZero_andBaselinesAreSane() {
  let settings = SequenceSettings()
  let sequences = (0..<20).map { MetaSequence.test(settings: settings, length: 30, seed: 1, index: $0) }
  let perfect = sequences.flatMap(\.targets)
  let evaluation = MetaEvaluation(sequences: sequences, predictions: perfect, settings: settings)
  #expect(evaluation.meanSquaredError == 0)
  #expect(evaluation.cyclesToLearnMedian == [0, 0, 0])
  #expect(evaluation.bitAccuracyAfterCycle20 == 1)
  #expect(
    evaluation.bayesMSEOnTestSequences > 0
      && evaluation.bayesMSEOnTestSequences < evaluation.runningMeanBaselineMSE)
  let half = [Float](repeating: 0.5, count: perfect.count)
  let constant = MetaEvaluation(sequences: sequences, predictions: half, settings: settings)
  #expect(constant.meanSquaredError == 0.25)
  #expect(constant.cyclesToLearnMedian[0] == 30)
}

/// FNV-1a over the bit patterns of `values`: a compact fingerprint for golden tests.
private func fingerprint(_ values: [Float]) -> UInt64 {
  var hash: UInt64 = 0xCBF2_9CE4_8422_2325
  for v in values {
    hash ^= UInt64(v.bitPattern)
    hash &*= 0x0000_0100_0000_01B3
  }
  return hash
}

/// Golden: 40 steps of the tiny configuration from seed 1. Update the recorded values only when the
/// numerics change on purpose (and say so in the commit).
@Test func goldenRun_tinyBoolean_matchesRecordedValues() {
  var settings = tinySettings()
  settings.curveBin = 10
  settings.validationEvery = 0
  let state = MetaTraining.train(
    MetaTrainingState(settings: settings, seed: 1), settings: settings, seed: 1, steps: 40)
  #expect(state.step == 40)
  #expect(state.trainingCurve.count == 4)
  #expect(state.trainingCurve[3] < state.trainingCurve[0])
  #expect(fingerprint(state.parameters) == 1_283_336_331_589_381_488)
  #expect(
    state.trainingCurve.map(\.bitPattern) == [
      4_598_206_853_953_417_152, 4_598_179_588_022_288_736, 4_598_232_947_721_926_105,
      4_598_178_236_202_073_817,
    ])
}

@Test func experimentRun_oneAndTwoThreads_giveBitIdenticalOutcomes() throws {
  var parameters: Parameters = [
    "hidden_units": .int(3), "sequence_length_train": .int(5), "batch": .int(11), "steps": .int(3),
    "test_sequences": .int(5), "test_length": .int(12), "validation_every": .int(0),
  ]
  let one = try LSTMMetaLearningExperiment.run(parameters: parameters, seed: 2)
  parameters["threads"] = .int(2)
  let two = try LSTMMetaLearningExperiment.run(parameters: parameters, seed: 2)
  #expect(one.metrics.map(\.value.bitPattern) == two.metrics.map(\.value.bitPattern))
  #expect(one.series.map { $0.values.map(\.bitPattern) } == two.series.map { $0.values.map(\.bitPattern) })
}

@Test func cyclesToLearn_isCountedPerSegment_inStreamMode() {
  var settings = SequenceSettings()
  settings.mode = .stream
  settings.segmentLength = 10
  let sequence = MetaSequence.test(settings: settings, length: 30, seed: 1, index: 0)
  // Errors of 0.5 at cycles 3 and 7 of segment 1, none in segment 2, cycle 10 of segment 3.
  var predictions = sequence.targets
  for t in [2, 6, 29] { predictions[t] = 0.5 }
  let evaluation = MetaEvaluation(sequences: [sequence], predictions: predictions, settings: settings)
  let expectedMean: [Double] = Array(repeating: 17.0 / 3, count: 3)
  #expect(evaluation.cyclesToLearnMean == expectedMean)
  #expect(evaluation.cyclesToLearnMedian == [7, 7, 7])
  #expect(evaluation.meanAbsoluteErrorPerCycle[6] == 0.5)
}

@Test func experimentCatalogue_listsLSTMMetaLearning_withDocumentedParameters() {
  let family = ExperimentCatalogue.family(named: "lstm-metalearning")
  #expect(family != nil)
  for p in LSTMMetaLearningExperiment.descriptor.parameters { #expect(!p.doc.isEmpty, "\(p.name)") }
  #expect(throws: ExperimentError.self) {
    try LSTMMetaLearningExperiment.validate(parameters: [
      "family": .string("semilinear"), "boolean_functions": .string("no-xor"),
    ])
  }
}

// MARK: - Chained runs through the Experiment protocol

private let tinyChain: Parameters = [
  "hidden_units": .int(3), "batch": .int(2), "steps": .int(23), "sequence_length_train": .int(8),
  "test_sequences": .int(3), "test_length": .int(12), "validation_every": .int(5),
  "validation_sequences": .int(2), "curve_bin": .int(4),
]

@Test func experimentRunSegment_chainedInAnySegments_isBitIdenticalToRun() throws {
  let whole = try ExperimentCatalogue.run(experiment: "lstm-metalearning", parameters: tinyChain, seed: 5)
  for segment in [1, 7, 22, 23, 100] {
    var checkpoint: [UInt8]? = nil
    var segments = 0
    while true {
      segments += 1
      let next = try ExperimentCatalogue.runSegment(
        experiment: "lstm-metalearning", parameters: tinyChain, seed: 5, checkpoint: checkpoint,
        maxSteps: segment)
      switch next {
      case .finished(let outcome):
        #expect(outcome == whole || "\(outcome)" == "\(whole)", "segment \(segment)")
        #expect(segments == (23 + segment - 1) / segment)
      case .checkpoint(let bytes, let done, let total):
        #expect(total == 23 && done == min(segments * segment, 23))
        checkpoint = bytes
        continue
      }
      break
    }
  }
}

@Test func experimentRunSegment_refusesACorruptCheckpoint_andOrdinaryExperimentsRunWhole() throws {
  let first = try ExperimentCatalogue.runSegment(
    experiment: "lstm-metalearning", parameters: tinyChain, seed: 5, checkpoint: nil, maxSteps: 5)
  guard case .checkpoint(var bytes, 5, 23) = first else {
    Issue.record("expected a checkpoint after 5 of 23 steps, got \(first)")
    return
  }
  bytes[bytes.count / 2] ^= 1
  #expect(throws: ExperimentError.self) {
    try ExperimentCatalogue.runSegment(
      experiment: "lstm-metalearning", parameters: tinyChain, seed: 5, checkpoint: bytes, maxSteps: 5)
  }
  let noop = try ExperimentCatalogue.runSegment(
    experiment: "noop", parameters: [:], seed: 1, checkpoint: nil, maxSteps: 3)
  #expect(noop == .finished(try ExperimentCatalogue.run(experiment: "noop", parameters: [:], seed: 1)))
}

// MARK: - Shards: the reduction order of rounds (issue 14)

@Test func shardRanges_coverTheBatchInOrder_theFirstOnesOneLonger() {
  for batch in [1, 5, 12, 64] {
    for shards in 1...batch {
      let ranges = (0..<shards).map { MetaTraining.shardRange($0, of: shards, batch: batch) }
      #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == batch)
      #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
      #expect(Set(ranges.map(\.count)).isSubset(of: [batch / shards, batch / shards + 1]))
      #expect(ranges.map(\.count) == ranges.map(\.count).sorted(by: >))
    }
  }
}

@Test func shardGradients_computedAnywhere_reduceInShardOrder_toTheBatchGradientsBits() {
  for shards in [1, 2, 3, 5, 12] {
    var settings = tinySettings(threads: 2)
    settings.batchSize = 12
    settings.shards = shards
    let parameters = MetaTrainingState(settings: settings, seed: 3).parameters
    var workspace = MetaTraining.Workspace(settings: settings)
    let squaredError = MetaTraining.batchGradient(
      parameters: parameters, settings: settings, seed: 3, step: 7, workspace: &workspace)
    // Each shard on a "worker" of its own (one thread, a fresh workspace), last shard first.
    var single = settings
    single.threads = 1
    var parts = [(gradient: [Float], squaredError: Double)?](repeating: nil, count: shards)
    for shard in (0..<shards).reversed() {
      var own = MetaTraining.Workspace(settings: single)
      let error = MetaTraining.shardGradient(
        parameters: parameters, settings: single, seed: 3, step: 7, shard: shard, workspace: &own)
      parts[shard] = (own.gradient, error)
    }
    let reduced = MetaTraining.reduce(parts.map { $0! })
    #expect(reduced.gradient.map(\.bitPattern) == workspace.gradient.map(\.bitPattern), "shards \(shards)")
    #expect(reduced.squaredError.bitPattern == squaredError.bitPattern, "shards \(shards)")
  }
}

@Test func theShardCount_isPartOfTheFingerprint_butOneShardKeepsTheOldOne() {
  // Recorded: one shard fingerprints the text it did before shards existed, and a change to it
  // would refuse every checkpoint already made.
  var settings = tinySettings()
  #expect(settings.fingerprint == 10_538_459_511_412_335_063)
  settings.shards = 4
  #expect(settings.fingerprint != 10_538_459_511_412_335_063)
}
