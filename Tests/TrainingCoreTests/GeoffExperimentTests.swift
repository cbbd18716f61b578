import Experiments
import SweepModel
import Testing
import TrainingCore

private func short(_ overrides: Parameters) -> Parameters {
  var p: Parameters = ["examples_per_task": .int(200), "tail_examples": .int(100)]
  p.merge(overrides) { _, new in new }
  return p
}

/// SHA-256 of every number of the outcome, bit for bit, in order.
private func fingerprint(_ outcome: Outcome) -> String {
  var text = ""
  for m in outcome.metrics { text += "\(m.name)=\(String(m.value.bitPattern, radix: 16));" }
  for s in outcome.series {
    text +=
      "\(s.name)@\(s.xStart),\(s.xStep):"
      + s.values.map { String($0.bitPattern, radix: 16) }.joined(separator: ",") + ";"
  }
  return SHA256.hex(text)
}

@Test func run_isBitIdentical_whenRepeatedWithTheSameSeed() throws {
  for algorithm in ["backprop", "adam", "crossprop", "crossprop-approx"] {
    let p = short(["algorithm": .string(algorithm), "eta": .double(0.5)])
    let a = try ExperimentCatalogue.run(experiment: "geoff", parameters: p, seed: 3)
    let b = try ExperimentCatalogue.run(experiment: "geoff", parameters: p, seed: 3)
    #expect(a == b)
    #expect(a != (try ExperimentCatalogue.run(experiment: "geoff", parameters: p, seed: 4)))
  }
}

/// Recorded once from this implementation; a change means every stored result changed.
@Test(arguments: [
  ("backprop", 0.0, "5b39e903b302f7676a121eb4ac95832e55c94cdb39fc35ea50f967beeb821f34"),
  ("momentum", 0.0, "3b8cf47831b65f147a56bd9c0ec314ca5ff6bd81ec9815744c1d864ba3e55818"),
  ("rmsprop", 0.0, "c6545d02330c489bae8076f7d5410f2be34b3b27f8d8c605bc505d86cb4b1a94"),
  ("adam", 0.0, "e4d4cf2bd5312f85fd6f415ee068784a772f6578a3af82fd7574eb04b5d7aaab"),
  ("crossprop", 0.0, "751f559bd5db48c885570dbc46df5d50a5fbeb9c2e9101d96c6fd5def05dfe9e"),
  ("crossprop", 0.5, "fb13f7f1fc5f7e50aca7210612bd5ab81589f2d2fec9f98390a2dd5f856013fc"),
  ("crossprop-approx", 0.0, "fa6f5043eafbe343672905eff2d52a1f1c48a66d3290fb21a277c437f64bb3b0"),
  ("crossprop-approx", 0.5, "0dae79578db4e18657e541497add338b702401accc4e0df204a29b08046d6656"),
])
func goldenRun_seed7_matchesRecordedFingerprint(algorithm: String, eta: Double, expected: String) throws {
  let outcome = try ExperimentCatalogue.run(
    experiment: "geoff", parameters: short(["algorithm": .string(algorithm), "eta": .double(eta)]), seed: 7)
  #expect(fingerprint(outcome) == expected, "\(algorithm) η=\(eta)")
}

@Test func goldenRun_backprop_firstValues() throws {
  let outcome = try ExperimentCatalogue.run(experiment: "geoff", parameters: short([:]), seed: 7)
  let error = try #require(outcome.series(named: "error"))
  #expect(error.values.count == 6)
  #expect(error.xStart == 100 && error.xStep == 100)
  // The first bin's squared error of an N(0,1)-initialised 20-500-1 net is in the hundreds.
  #expect(error.values[0] > 50 && error.values[0] < 1000)
}

@Test func outcome_reportsOneMetricPerStage_andSeriesPerBin() throws {
  let three = try ExperimentCatalogue.run(experiment: "geoff", parameters: short([:]), seed: 1)
  #expect(
    three.metrics.map(\.name) == [
      "error_task1", "error_task2", "error_task3", "u_drift_task1", "u_drift_task2",
      "u_drift_task3", "w_drift_task1", "w_drift_task2", "w_drift_task3",
    ])
  #expect(three.series.map(\.name) == ["error", "u_drift", "w_drift"])
  #expect(three.series.allSatisfy { $0.values.count == 6 })
  let six = try ExperimentCatalogue.run(experiment: "geoff", parameters: short(["stages": .int(6)]), seed: 1)
  #expect(six.metrics.count == 18)
  #expect(six.series(named: "error")!.values.count == 12)
  for name in six.metrics.map(\.name) { #expect(GeoffExperiment.descriptor.metrics.contains(name)) }
  // The drift at the end of a stage is the last point of that stage's bins.
  #expect(three.metric("u_drift_task2") == three.series(named: "u_drift")!.values[3])
}

@Test func conventions_halfTheErrorAndSquareTheNorm() throws {
  let base = try ExperimentCatalogue.run(experiment: "geoff", parameters: short([:]), seed: 2)
  let other = try ExperimentCatalogue.run(
    experiment: "geoff",
    parameters: short(["error_convention": .string("half_squared"), "norm_convention": .string("squared")]),
    seed: 2)
  let e = base.metric("error_task1")!
  let u = base.metric("u_drift_task3")!
  #expect(abs(other.metric("error_task1")! - 0.5 * e) <= 1e-12 * e)
  #expect(abs(other.metric("u_drift_task3")! - u * u) <= 1e-12 * u * u)
}

@Test func config_rejectsBadValues_withAMessageNamingTheParameter() {
  for (name, value) in [
    ("step_size", ParameterValue.double(-0.1)), ("algorithm", .string("sgd")), ("stages", .int(7)),
    ("eta", .double(1.5)), ("bin_size", .int(0)),
  ] {
    #expect(throws: ExperimentError.self) { try GeoffConfig(parameters: [name: value]) }
  }
  #expect(throws: ExperimentError.self) {
    try GeoffConfig(parameters: ["examples_per_task": .int(250), "bin_size": .int(100)])
  }
  #expect(throws: ExperimentError.self) {
    try GeoffConfig(parameters: ["examples_per_task": .int(200), "tail_examples": .int(500)])
  }
  let defaults = try? GeoffConfig(parameters: [:])
  #expect(defaults?.totalExamples == 15_000)
  #expect(defaults?.binCount == 150)
}

@Test func descriptor_documentsEveryParameter_withAValidDefault() {
  let names = GeoffExperiment.descriptor.parameters.map(\.name)
  #expect(Set(names).count == names.count)
  for p in GeoffExperiment.descriptor.parameters {
    #expect(!p.doc.isEmpty)
    #expect(p.problem(with: p.defaultValue) == nil, "\(p.name)")
  }
  #expect(GeoffExperiment.descriptor.metrics.count == 18)
}
