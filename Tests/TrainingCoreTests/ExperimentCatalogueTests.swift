import Experiments
import SweepModel
import Testing

/// The sweep file `yaml`, read as `sweep.yaml`, checked against its experiment family.
private func validate(_ yaml: String) throws -> [RunSpec] {
  try ExperimentCatalogue.validate(SweepSpec.parse(yaml: yaml, file: "sweep.yaml"))
}

/// The one-line message `yaml` is rejected with, or nil when it is accepted.
private func rejection(_ yaml: String) -> String? {
  do {
    _ = try validate(yaml)
    return nil
  } catch {
    return "\(error)"
  }
}

@Test func variantsWithEqualParameters_areRejectedAtTheSecond_namingTheFirst() {
  let same = """
    name: dup
    experiment: geoff
    seeds: 0..<2
    variants:
      a: {algorithm: backprop}
      b: {algorithm: backprop}
    """
  #expect(
    rejection(same)
      == "sweep.yaml:6:3: variants.b: has the same parameters as variant 'a' (line 5) once defaults are "
      + "filled in, so its runs would be the same runs; change a parameter or remove one of the two")
  // Restating a default, or writing a double as an integer, makes the same runs too.
  let restated = "name: dup\nexperiment: geoff\nseeds: 2\nvariants:\n  a: {}\n  b: {algorithm: backprop}\n"
  #expect(
    rejection(restated)?.hasPrefix("sweep.yaml:6:3: variants.b: has the same parameters as variant 'a'")
      == true)
  let widened = "name: dup\nexperiment: noop\nseeds: 2\nvariants:\n  a: {value: 1}\n  b: {value: 1.0}\n"
  #expect(rejection(widened)?.hasPrefix("sweep.yaml:6:3: variants.b:") == true)
  // A value set in `fixed` and restated by a variant is the same run as well.
  let viaFixed = """
    name: dup
    experiment: noop
    seeds: 2
    fixed: {value: 3}
    variants:
      a: {}
      b: {value: 3}
      c: {value: 4}
    """
  #expect(rejection(viaFixed)?.hasPrefix("sweep.yaml:7:3: variants.b:") == true)
  // -0.0 differs from 0.0 only in its sign bit: not worth a run of its own.
  let signedZero = "name: dup\nexperiment: noop\nseeds: 2\nvariants:\n  a: {}\n  b: {value: -0.0}\n"
  #expect(rejection(signedZero)?.hasPrefix("sweep.yaml:6:3: variants.b:") == true)
}

@Test func variantsThatDifferInOneParameter_areAccepted_andShareTheirCompletedParameters() throws {
  let runs = try validate(
    "name: ok\nexperiment: noop\nseeds: 0..<3\nvariants:\n  a: {}\n  b: {value: 0.5}\n  c: {value: -1}\n")
  #expect(runs.count == 9)
  #expect(Set(runs.map(\.key)).count == 9)
  #expect(
    runs[0].parameters == [
      "seconds": .double(0), "fail": .bool(false), "value": .double(0), "artifact_bytes": .int(0),
    ])
  #expect(runs[4].parameters["value"] == .double(0.5))
  #expect(runs.map(\.variant) == ["a", "a", "a", "b", "b", "b", "c", "c", "c"])
}

// MARK: - Several problems

@Test func severalMistakesAgainstTheFamily_areAllReported_oneLineEach_inFileOrder() {
  let yaml = """
    name: many
    experiment: geoff
    seeds: 0..<2
    fixed: {hidden: 30}
    variants:
      a: {algorithm: sgd, eta: 2}
      b: {examples_per_task: 250}
      c: {step_size: 0.1}
      d: {step_size: 0.1}
    metrics: [error_task1, error_rate]
    curves: [loss]
    """
  let lines = rejection(yaml)?.split(separator: "\n").map(String.init) ?? []
  #expect(
    lines == [
      "sweep.yaml:4:9: fixed.hidden: unknown parameter 'hidden' for geoff (known: algorithm, eta, eta_form, "
        + "step_size, examples_per_task, stages, hidden_units, target_features, inputs, beta, change_fraction, "
        + "noise_sd, bin_size, tail_examples, error_convention, norm_convention, momentum, rmsprop_decay, "
        + "rmsprop_epsilon, rmsprop_initial_accumulator, adam_beta1, adam_beta2, adam_epsilon)",
      "sweep.yaml:6:7: variants.a.algorithm: must be one of backprop, momentum, rmsprop, adam, crossprop, "
        + "crossprop-approx, got 'sgd'",
      "sweep.yaml:6:23: variants.a.eta: must be in 0.0...1.0, got 2",
      "sweep.yaml:10:24: metrics: unknown metric 'error_rate' (geoff reports error_task1..error_task6, "
        + "u_drift_task1..u_drift_task6, w_drift_task1..w_drift_task6)",
      "sweep.yaml:11:10: curves: unknown series 'loss' (geoff reports error, u_drift, w_drift)",
    ], "\(lines.joined(separator: "\n"))")
  // With `fixed` right, the checks of whole runs have something to say about b and d too.
  let fixedRight = rejection(yaml.replacingOccurrences(of: "{hidden: 30}", with: "{hidden_units: 30}"))
  let later = fixedRight?.split(separator: "\n").map(String.init) ?? []
  #expect(later.count == 6, "\(later.joined(separator: "\n"))")
  #expect(later.contains { $0.hasPrefix("sweep.yaml:7:3: variants.b: geoff: examples_per_task (250)") })
  #expect(
    later.contains { $0.hasPrefix("sweep.yaml:9:3: variants.d: has the same parameters as variant 'c'") })
}

// MARK: - Metrics and curves no run reports

@Test func metricThatNoRunReports_isRejected_butOneThatSomeRunReportsIsFine() {
  let threeStages = """
    name: stages
    experiment: geoff
    seeds: 0..<2
    fixed: {stages: 3}
    variants:
      a: {}
      b: {algorithm: adam}
    metrics: [error_task3, error_task4]
    """
  #expect(
    rejection(threeStages)
      == "sweep.yaml:8:24: metrics: no run of this sweep reports 'error_task4': with these parameters, geoff "
      + "reports error_task1..error_task3, u_drift_task1..u_drift_task3, w_drift_task1..w_drift_task3")
  // One variant with four stages is enough.
  #expect(rejection(threeStages.replacingOccurrences(of: "{algorithm: adam}", with: "{stages: 4}")) == nil)
}

@Test func curveThatNoRunDraws_isRejected() {
  let noValidation = """
    name: curves
    experiment: lstm-metalearning
    seeds: 2
    variants:
      a: {validation_every: 0}
      b: {validation_every: 9000, steps: 8000}
    curves: [training_mse, validation_mse]
    """
  #expect(
    rejection(noValidation)?.hasPrefix(
      "sweep.yaml:7:24: curves: no run of this sweep reports 'validation_mse'") == true)
  #expect(rejection(noValidation.replacingOccurrences(of: "steps: 8000", with: "steps: 9000")) == nil)
}

/// Parameter sets of each family, to check that what `metrics(for:)` and `series(for:)` promise
/// is what a run reports: small, so each runs in well under a second.
private let samples: [(experiment: String, parameters: Parameters)] = [
  ("geoff", ["examples_per_task": .int(200), "tail_examples": .int(100), "hidden_units": .int(20)]),
  (
    "geoff",
    ["examples_per_task": .int(200), "tail_examples": .int(100), "hidden_units": .int(20), "stages": .int(5)]
  ),
  ("noop", [:]),
  (
    "lstm-metalearning",
    [
      "hidden_units": .int(3), "batch": .int(2), "steps": .int(23), "sequence_length_train": .int(8),
      "test_sequences": .int(3), "test_length": .int(12), "validation_every": .int(5),
      "validation_sequences": .int(2), "curve_bin": .int(4),
    ]
  ),
  (
    "lstm-metalearning",
    [
      "hidden_units": .int(3), "batch": .int(2), "steps": .int(3), "sequence_length_train": .int(8),
      "test_sequences": .int(3), "test_length": .int(12), "validation_every": .int(0), "curve_bin": .int(4),
    ]
  ),
]

@Test(arguments: samples.indices)
func metricsAndSeriesFor_nameExactlyWhatARunReports(sample: Int) throws {
  let (experiment, parameters) = samples[sample]
  let family = try #require(ExperimentCatalogue.family(named: experiment))
  let complete = ExperimentCatalogue.completed(parameters, descriptor: family.descriptor)
  let outcome = try ExperimentCatalogue.run(experiment: experiment, parameters: parameters, seed: 1)
  #expect(family.metrics(for: complete) == outcome.metrics.map(\.name))
  #expect(family.series(for: complete) == outcome.series.filter { !$0.values.isEmpty }.map(\.name))
}

// MARK: - Parameters added later

@Test func shards_atItsDefault_staysOutOfRunKeys_soRunsJournaledBeforeItExistedKeepTheirs() throws {
  let descriptor = LSTMMetaLearningExperiment.descriptor
  let parameters: Parameters = ["steps": .int(0), "test_sequences": .int(1), "test_length": .int(4)]
  let completed = ExperimentCatalogue.completed(parameters, descriptor: descriptor)
  #expect(completed["shards"] == nil)
  #expect(completed.count == descriptor.parameters.count - 1)
  // Recorded with the build before `shards` existed (`metasweep run-one --experiment
  // lstm-metalearning --param steps=0 --param test_sequences=1 --param test_length=4` printed 2a05b121466f).
  let key = RunKey(experiment: "lstm-metalearning", parameters: completed, seed: 0)
  #expect(key.short == "2a05b121466f")
  // Set explicitly to its default it is still left out; any other value is keyed.
  var explicit = parameters
  explicit["shards"] = .int(1)
  #expect(ExperimentCatalogue.completed(explicit, descriptor: descriptor) == completed)
  explicit["shards"] = .int(2)
  let sharded = ExperimentCatalogue.completed(explicit, descriptor: descriptor)
  #expect(sharded["shards"] == .int(2))
  #expect(RunKey(experiment: "lstm-metalearning", parameters: sharded, seed: 0) != key)
}

@Test func shards_aboveTheBatch_isRefused_sayingWhy() {
  #expect {
    try LSTMMetaLearningExperiment.validate(
      parameters: ExperimentCatalogue.completed(
        ["batch": .int(4), "shards": .int(5)], descriptor: LSTMMetaLearningExperiment.descriptor))
  } throws: { error in
    "\(error)".contains("shards (5) must be at most batch (4)")
  }
}

@Test func lstmRounds_reducedFromShardsComputedInAnyOrder_matchTheSingleProcessRun_stepByStep() throws {
  let parameters = ExperimentCatalogue.completed(
    [
      "batch": .int(6), "steps": .int(7), "sequence_length_train": .int(8), "validation_every": .int(3),
      "validation_sequences": .int(2), "curve_bin": .int(2), "shards": .int(3), "hidden_units": .int(4),
    ], descriptor: LSTMMetaLearningExperiment.descriptor)
  let plan = try #require(
    ExperimentCatalogue.rounds.plan(experiment: "lstm-metalearning", parameters: parameters))
  #expect(plan == RoundPlan(shards: 3, steps: 7))
  var reduction = try ExperimentCatalogue.rounds.start(
    experiment: "lstm-metalearning", parameters: parameters, seed: 11, checkpoint: nil)
  var computers = try (0..<3).map { _ in
    try ExperimentCatalogue.makeShardComputer(
      experiment: "lstm-metalearning", parameters: parameters, seed: 11)
  }
  for step in 0..<7 {
    var gradients = [[UInt8]](repeating: [], count: 3)
    // Shards computed last to first, each by another computer: the order of work must not matter.
    for shard in (0..<3).reversed() {
      gradients[shard] = try computers[(shard + step) % 3].gradient(
        replica: reduction.replica, step: step, shard: shard)
    }
    try reduction.apply(gradients)
    let expected = try LSTMMetaLearningExperiment.runSegment(
      parameters: parameters, seed: 11, from: nil, steps: step + 1)
    #expect(reduction.checkpoint == expected.binaryEncoded(), "step \(step + 1)")
  }
  // A gradient of the wrong size is refused, and the round is not applied.
  let before = reduction.checkpoint
  #expect(throws: RoundsError.self) { try reduction.apply([[1, 2, 3], [], []]) }
  #expect(reduction.checkpoint == before)
}
