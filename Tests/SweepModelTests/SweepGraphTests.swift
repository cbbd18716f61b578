import Foundation
import Testing

@testable import SweepModel

/// A graph: a pool of four, one held out, and consumers of every selector.
private let poolGraph = """
  name: pool
  stages:
    tune:
      experiment: noop-digest
      inputs:
        data: {stage: pool, artifact: data, select: each}
      variants: {a: {}, b: {value: 1}}
    pool:
      experiment: noop
      seeds: 0..<4
      held_out: [3]
      fixed: {artifact_bytes: 100}
    meta:
      experiment: noop-digest
      seeds: [7]
      inputs:
        data: {stage: pool, artifact: data, select: all-but-held-out}
    probe:
      experiment: noop-digest
      seeds: 0..<2
      inputs:
        data: {stage: tune, artifact: data, variant: b, select: same-seed}
    one:
      experiment: noop-digest
      seeds: [5]
      inputs:
        data: {stage: pool, artifact: data, member: 2}
  """

private func read(_ yaml: String) -> SweepGraph.Reading {
  SweepGraph.read(yaml: yaml, file: "graph.yaml")!
}

/// The one problem of `yaml` (a test fails when there are others or none).
private func problem(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> SpecError?
{
  let problems = read(yaml).problems
  #expect(problems.count == 1, "\(problems)", sourceLocation: sourceLocation)
  return problems.first
}

@Suite struct SweepGraphTests {
  @Test func aFileWithoutStages_isNoGraph() {
    #expect(
      SweepGraph.read(yaml: "name: a\nexperiment: noop\nseeds: 2\nvariants: {a: {}}\n", file: "s.yaml") == nil
    )
  }

  @Test func stages_areOrderedProducersFirst_andEachTakesItsProducersSeeds() throws {
    let reading = read(poolGraph)
    #expect(reading.problems.isEmpty, "\(reading.problems)")
    let graph = try #require(reading.graph)
    #expect(graph.stages.map(\.name) == ["pool", "tune", "meta", "probe", "one"])
    #expect(graph.stage("tune")?.sweep.seeds == [0, 1, 2, 3])
    #expect(graph.stage("pool")?.heldOut == [3])
    // A stage without variants has one named after it.
    #expect(graph.stage("pool")?.sweep.variants.map(\.name) == ["pool"])
    let inputs = graph.stages.flatMap(\.inputs).map(\.selector)
    #expect(inputs == [.each, .allButHeldOut, .sameSeed, .member(2)])
  }

  @Test func aCycle_isRejected_naming_theFileLineAndField() throws {
    let cyclic = """
      name: loop
      stages:
        a:
          experiment: noop-digest
          seeds: 2
          inputs: {data: {stage: b, artifact: data}}
        b:
          experiment: noop-digest
          seeds: 2
          inputs: {data: {stage: a, artifact: data}}
      """
    let error = try #require(problem(cyclic))
    #expect(error.field == "stages.a.inputs.data.stage")
    #expect(error.location?.line == 6)
    #expect(error.message.contains("cycle"))
    #expect(error.description.hasPrefix("graph.yaml:6:"))
  }

  @Test func aStageConsumingItself_isACycle() throws {
    let selfish =
      "name: s\nstages:\n  a:\n    experiment: noop-digest\n    seeds: 2\n    inputs: {data: {stage: a, artifact: data}}\n"
    #expect(try #require(problem(selfish)).message.contains("cycle"))
  }

  @Test func inputsThatCanNeverExist_areRejected_beforeAnythingRuns() throws {
    func withInput(_ input: String, seeds: String = "seeds: 0..<2", heldOut: String = "") -> String {
      """
      name: g
      stages:
        pool:
          experiment: noop
          seeds: 0..<3
          \(heldOut)
        use:
          experiment: noop-digest
          \(seeds)
          inputs:
            data: \(input)
      """
    }
    let unknown = try #require(problem(withInput("{stage: pol, artifact: data}")))
    #expect(
      unknown.field == "stages.use.inputs.data.stage" && unknown.message.contains("unknown stage 'pol'"))
    #expect(unknown.location?.line == 11)
    let member = try #require(problem(withInput("{stage: pool, artifact: data, member: 5}")))
    #expect(
      member.field == "stages.use.inputs.data.member" && member.message.contains("no member with seed 5"))
    let sameSeed = try #require(
      problem(withInput("{stage: pool, artifact: data, select: same-seed}", seeds: "seeds: 2..<4")))
    #expect(sameSeed.message.contains("seed 3 of this stage has no member"))
    let heldOut = try #require(problem(withInput("{stage: pool, artifact: data, select: held-out}")))
    #expect(heldOut.message.contains("holds no member out"))
    let allHeld = try #require(
      problem(
        withInput("{stage: pool, artifact: data, select: all-but-held-out}", heldOut: "held_out: 0..<3")))
    #expect(allHeld.message.contains("every member"))
    let eachWithSeeds = try #require(problem(withInput("{stage: pool, artifact: data, select: each}")))
    #expect(eachWithSeeds.field == "stages.use.seeds" && eachWithSeeds.message.contains("must not be set"))
    let badSelect = try #require(problem(withInput("{stage: pool, artifact: data, select: some}")))
    #expect(badSelect.field == "stages.use.inputs.data.select")
    let noSeeds = try #require(problem(withInput("{stage: pool, artifact: data, member: 1}", seeds: "")))
    #expect(noSeeds.field == "stages.use" && noSeeds.message.contains("has no seeds"))
  }

  @Test func aStagesOwnMistakes_areNamedFromTheTopOfTheFile() throws {
    let yaml = "name: g\nstages:\n  a:\n    experiment: noop\n    seeds: 2\n    fixd: {}\n"
    let error = try #require(problem(yaml))
    #expect(error.field == "stages.a" && error.message.contains("unknown key 'fixd'"))
    #expect(error.location?.line == 6)
  }

  @Test func thePlan_numbersSlotsStageByStage_andBindsEachInputToItsProducers() throws {
    let graph = try #require(read(poolGraph).graph)
    let plan = try makePlan(graph)
    #expect(plan.slots.count == 4 + 8 + 1 + 2 + 1)
    #expect(plan.stageSlots.map(\.count) == [4, 8, 1, 2, 1])
    #expect(plan.slots.enumerated().allSatisfy { $0.offset == $0.element.template.ordinal })
    let tune = plan.stageSlots[1].map { plan.slots[$0] }
    #expect(
      tune.map(\.template.variant) == [
        "tune/a", "tune/a", "tune/a", "tune/a (held-out)", "tune/b", "tune/b", "tune/b", "tune/b (held-out)",
      ])
    #expect(tune.map { $0.bindings[0].producers } == [[0], [1], [2], [3], [0], [1], [2], [3]])
    // all-but-held-out: members 0, 1, 2 in seed order; same-seed of tune's variant b; member 2.
    #expect(plan.slots[plan.stageSlots[2].first!].bindings[0].producers == [0, 1, 2])
    #expect(plan.stageSlots[3].map { plan.slots[$0].bindings[0].producers } == [[8], [9]])
    #expect(plan.slots[plan.stageSlots[4].first!].bindings[0].producers == [2])
  }

  @Test func theResolver_makesARunReady_onlyWhenEveryInputExists_andKeysItByTheInputsHashes() throws {
    let plan = try makePlan(try #require(read(poolGraph).graph))
    var resolver = GraphPlan.Resolver(plan: plan)
    var artifacts: [RunKey: [String: String]] = [:]
    let roots = resolver.resolveNew { artifacts[$0] }
    #expect(roots.map(\.ordinal) == [0, 1, 2, 3])
    #expect(resolver.resolveNew { artifacts[$0] }.isEmpty)
    let hash = { (n: Int) in String(repeating: String(n), count: 64) }
    // Members 0 and 1 finish: their tune runs and nothing else become ready.
    artifacts[roots[0].key] = ["data": hash(1)]
    artifacts[roots[1].key] = ["data": hash(2)]
    let ready = resolver.resolveNew { artifacts[$0] }
    #expect(ready.map(\.ordinal) == [4, 5, 8, 9])
    #expect(ready[0].parameters["data"] == .string(hash(1)) && ready[0].inputs == [hash(1)])
    // The held-out member finishes: still no meta run, which needs 0, 1 and 2.
    artifacts[roots[3].key] = ["data": hash(4)]
    #expect(resolver.resolveNew { artifacts[$0] }.map(\.ordinal) == [7, 11])
    artifacts[roots[2].key] = ["data": hash(3)]
    let third = resolver.resolveNew { artifacts[$0] }
    #expect(third.map(\.ordinal) == [6, 10, 12, 15])
    let meta = try #require(third.first { $0.ordinal == 12 })
    #expect(meta.parameters["data"] == .string([hash(1), hash(2), hash(3)].joined(separator: ",")))
    // Resolving downstream of each finished run as it finishes gives the same runs as passes over
    // every slot, the held-out tuning's probe included once tune/b's runs finish.
    var incremental = GraphPlan.Resolver(plan: plan)
    var known: [RunKey: [String: String]] = [:]
    var found = incremental.resolveNew { known[$0] }.map(\.ordinal)
    for (index, root) in roots.enumerated() {
      known[root.key] = ["data": hash(index + 1)]
      found += incremental.resolveNew(after: root.key) { known[$0] }.map(\.ordinal)
    }
    #expect(found == [0, 1, 2, 3, 4, 8, 5, 9, 6, 10, 12, 15, 7, 11])
    let tuneB = try #require(ready.first { $0.ordinal == 9 })
    known[tuneB.key] = ["data": hash(7)]
    #expect(incremental.resolveNew(after: tuneB.key) { known[$0] }.map(\.ordinal) == [14])
    #expect(incremental.resolveNew(after: tuneB.key) { known[$0] }.isEmpty)
    // Another artifact upstream is another run downstream.
    var other = plan.slots[4].template
    other.parameters["data"] = .string(hash(9))
    #expect(other.key != ready[0].key)
  }
}

/// The plan of `graph` with every stage's runs expanded as the catalogue would (no parameter completion).
private func makePlan(_ graph: SweepGraph) throws -> GraphPlan {
  GraphPlan(
    graph: graph,
    stageRuns: graph.stages.map { stage in
      var sweep = stage.sweep
      for input in stage.inputs { sweep.fixed[input.parameter] = .string(GraphPlan.placeholder) }
      return sweep.expand()
    })
}
