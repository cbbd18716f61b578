import Foundation
import Testing

@testable import SweepModel

/// Issue 17.1: grids as researchers write them, and command-line overrides validated like the file.
struct GridAndOverridesTests {
  private func read(_ yaml: String, set overrides: [String] = []) throws -> SweepSpec {
    let text = try SweepOverrides.record(overrides, in: yaml, file: "sweep.yaml")
    return try SweepSpec.parse(yaml: text, file: "sweep.yaml")
  }

  private func problems(_ yaml: String, set overrides: [String] = []) -> [String] {
    do {
      _ = try read(yaml, set: overrides)
      return []
    } catch let error as SpecProblems {
      return error.problems.map(\.description)
    } catch {
      return ["\(error)"]
    }
  }

  private let gridOnly = """
    name: demo
    experiment: geoff
    seeds: 0..<2
    fixed: {step_size: 0.001}
    grid:
      algorithm: [crossprop, backprop]
      eta: [0, 0.5, 1.0]
    """

  @Test func aGrid_expandsToEveryCombination_firstParameterSlowest_withReadableNames() throws {
    let spec = try read(gridOnly)
    #expect(
      spec.variants.map(\.name) == [
        "algorithm=crossprop eta=0", "algorithm=crossprop eta=0.5", "algorithm=crossprop eta=1.0",
        "algorithm=backprop eta=0", "algorithm=backprop eta=0.5", "algorithm=backprop eta=1.0",
      ])
    #expect(spec.variants[4].parameters == ["algorithm": .string("backprop"), "eta": .double(0.5)])
    #expect(spec.expand().count == 12)
    #expect(spec.expand()[0].parameters["step_size"] == .double(0.001))
  }

  @Test func aGridWithNamedVariants_combinesEachVariantWithEachPoint() throws {
    let spec = try read(
      """
      name: demo
      experiment: geoff
      seeds: 3
      variants:
        bp: {algorithm: backprop}
        cp: {algorithm: crossprop, eta: 0.5}
      grid:
        step_size: [0.001, 0.01]
      """)
    #expect(
      spec.variants.map(\.name) == [
        "bp step_size=0.001", "bp step_size=0.01", "cp step_size=0.001", "cp step_size=0.01",
      ])
    #expect(
      spec.variants[3].parameters == [
        "algorithm": .string("crossprop"), "eta": .double(0.5), "step_size": .double(0.01),
      ])
  }

  @Test func aGridsRuns_haveTheSameKeysAsTheSameRunsWrittenOneVariantPerLine() throws {
    let written = try read(
      """
      name: demo
      experiment: geoff
      seeds: 0..<2
      fixed: {step_size: 0.001}
      variants:
        a: {algorithm: crossprop, eta: 0}
        b: {algorithm: crossprop, eta: 0.5}
        c: {algorithm: crossprop, eta: 1.0}
        d: {algorithm: backprop, eta: 0}
        e: {algorithm: backprop, eta: 0.5}
        f: {algorithm: backprop, eta: 1.0}
      """)
    let keys = { (spec: SweepSpec) in
      spec.expand().map {
        RunKey(
          experiment: $0.experiment, parametersJSON: CanonicalJSON.parameters($0.parameters), seed: $0.seed)
      }
    }
    #expect(keys(try read(gridOnly)) == keys(written))
  }

  @Test func gridMistakes_areNamedAtTheirPlace() {
    #expect(
      problems(gridOnly.replacingOccurrences(of: "[0, 0.5, 1.0]", with: "[0, 0.5, 0]")) == [
        "sweep.yaml:7:17: grid.eta: 0 is listed twice; each value may appear once"
      ])
    #expect(
      problems(gridOnly.replacingOccurrences(of: "[0, 0.5, 1.0]", with: "[]")) == [
        "sweep.yaml:7:8: grid.eta: the list is empty; give at least one value, like [0, 0.5]"
      ])
    #expect(problems(gridOnly.replacingOccurrences(of: "[0, 0.5, 1.0]", with: "[[0]]")).count == 1)
    let clash = """
      name: demo
      experiment: geoff
      seeds: 2
      variants:
        cp: {algorithm: crossprop, eta: 0.5}
      grid: {eta: [0, 1]}
      """
    #expect(
      problems(clash) == [
        "sweep.yaml:5:30: variants.cp.eta: is also a parameter of the grid (grid.eta); set it in one place"
      ])
    // Neither variants nor grid: the message offers both.
    let neither = problems("name: demo\nexperiment: geoff\nseeds: 2\n")
    #expect(
      neither.count == 1 && neither[0].contains("variants") && neither[0].contains("grid"), "\(neither)")
    // A grid too big to expand is refused before it is expanded.
    let huge =
      "name: demo\nexperiment: noop\nseeds: 1\ngrid:\n"
      + (0..<7).map { "  p\($0): [" + (0..<10).map(String.init).joined(separator: ", ") + "]" }.joined(
        separator: "\n")
    #expect(problems(huge).first?.contains("more than 1000000 variants") == true, "\(problems(huge))")
  }

  @Test func overrides_setFixedVariantSeedsAndGridFields_andAreRecordedInTheSpec() throws {
    let base = """
      name: demo
      experiment: geoff
      seeds: 0..<30
      variants:
        crossprop-eta0.5: {algorithm: crossprop, eta: 0.5}
      """
    let spec = try read(
      base,
      set: [
        "fixed.step_size=0.001", "seeds=0..<5", "variants.crossprop-eta0.5.eta=0.25",
        "grid.replay=[true, false]",
      ])
    #expect(spec.seeds == [0, 1, 2, 3, 4])
    #expect(spec.fixed == ["step_size": .double(0.001)])
    #expect(spec.variants.map(\.name) == ["crossprop-eta0.5 replay=true", "crossprop-eta0.5 replay=false"])
    #expect(spec.variants[0].parameters["eta"] == .double(0.25))
    #expect(
      spec.overrides == [
        "fixed.step_size=0.001", "seeds=0..<5", "variants.crossprop-eta0.5.eta=0.25",
        "grid.replay=[true, false]",
      ])
    // The recorded text reads back the same: what resume and report see.
    let text = try SweepOverrides.record(spec.overrides, in: base, file: "sweep.yaml")
    #expect(try SweepSpec.parse(yaml: text, file: "stored").variants == spec.variants)
    #expect(text.hasPrefix(base))
    // A later override of the same field wins.
    #expect(try read(base, set: ["seeds=3", "seeds=0..<2"]).seeds == [0, 1])
  }

  @Test func badOverrides_areNamedByTheirText_notByALineOfTheFile() {
    let base = "name: demo\nexperiment: geoff\nseeds: 2\nvariants: {a: {eta: 0.5}}\n"
    #expect(
      problems(base, set: ["seeds"]) == [
        "--set seeds: must be path=value, like fixed.step_size=0.001 or 'seeds=0..<5'"
      ])
    // Types are the experiment's to check; its problems then name the override too.
    let typed = try? read(base, set: ["fixed.eta=abc"])
    #expect(
      typed?.error(at: "variants.a.eta", "must be a number").description
        == "sweep.yaml:4:16: variants.a.eta: must be a number")
    #expect(
      typed?.error(at: "fixed.eta", "must be a number").description
        == "--set fixed.eta=abc: fixed.eta: must be a number")
    let wrongValue = problems(base, set: ["seeds=-1"])
    #expect(wrongValue.count == 1 && wrongValue[0].hasPrefix("--set seeds=-1: seeds:"), "\(wrongValue)")
    #expect(
      problems(base, set: ["variants.a.eta.x=1"]) == [
        "--set variants.a.eta.x=1: 'variants.a.eta' is '0.5', not a mapping, so it has no field 'x'"
      ])
    let notYAML = problems(base, set: ["fixed.eta=[0"])
    #expect(
      notYAML.count == 1 && notYAML[0].hasPrefix("--set fixed.eta=[0: the value is not YAML"), "\(notYAML)")
    // A file that records overrides already refuses more from the command line.
    let recorded = base + "overrides: ['seeds=1']\n"
    #expect(problems(recorded, set: ["seeds=2"]).first?.contains("records overrides already") == true)
    #expect(problems(recorded) == [])
  }

  @Test func aGraphsStages_takeGrids_andOverridesReachIntoStages() throws {
    let yaml = """
      name: g
      stages:
        pool:
          experiment: noop
          seeds: 0..<4
        tune:
          experiment: noop-digest
          inputs:
            data: {stage: pool, artifact: data, select: each}
          grid: {value: [1, 2]}
      """
    let text = try SweepOverrides.record(
      ["stages.pool.seeds=0..<2", "stages.tune.grid.value=[3]"], in: yaml, file: "graph.yaml")
    let reading = try #require(SweepGraph.read(yaml: text, file: "graph.yaml"))
    #expect(reading.problems.isEmpty, "\(reading.problems)")
    let graph = try #require(reading.graph)
    #expect(graph.overrides == ["stages.pool.seeds=0..<2", "stages.tune.grid.value=[3]"])
    #expect(graph.stages.first { $0.name == "pool" }?.sweep.seeds == [0, 1])
    #expect(graph.stages.first { $0.name == "tune" }?.sweep.variants.map(\.name) == ["value=3"])
    let bad = try SweepOverrides.record(["stages.pool.seeds=none"], in: yaml, file: "graph.yaml")
    let problems = try #require(SweepGraph.read(yaml: bad, file: "graph.yaml")).problems.map(\.description)
    #expect(
      problems.count == 1 && problems[0].hasPrefix("--set stages.pool.seeds=none: stages.pool.seeds:"),
      "\(problems)")
  }

  @Test func baselineAndIntervals_areRead_andABaselineThatIsNoVariantIsRefused() throws {
    let spec = try read(gridOnly + "\nbaseline: algorithm=backprop eta=0\nintervals: true\n")
    #expect(spec.baseline == "algorithm=backprop eta=0" && spec.intervals)
    #expect(
      problems(gridOnly + "\nbaseline: backprop\n").first?.hasPrefix(
        "sweep.yaml:8:11: baseline: 'backprop' is not a variant of this sweep (variants: 'algorithm=crossprop eta=0'"
      )
        == true, "\(problems(gridOnly + "\nbaseline: backprop\n"))")
    #expect(
      problems(gridOnly + "\nintervals: 3\n") == [
        "sweep.yaml:8:12: intervals: must be true or false, got '3'"
      ])
    // --set reaches them too.
    #expect(
      try read(gridOnly, set: ["baseline=algorithm=crossprop eta=0.5"]).baseline
        == "algorithm=crossprop eta=0.5")
  }
}
