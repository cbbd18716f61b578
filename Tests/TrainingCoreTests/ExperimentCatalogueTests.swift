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
  #expect(runs[0].parameters == ["seconds": .double(0), "fail": .bool(false), "value": .double(0)])
  #expect(runs[4].parameters["value"] == .double(0.5))
  #expect(runs.map(\.variant) == ["a", "a", "a", "b", "b", "b", "c", "c", "c"])
}
