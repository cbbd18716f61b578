import Datasets
import Experiments
import Foundation
import SweepModel
import Testing

/// The problems the graph `yaml` (read as `graph.yaml`) has against the experiments, or [] when
/// it is accepted.
private func problems(_ yaml: String) -> [SpecError] {
  guard let reading = SweepGraph.read(yaml: yaml, file: "graph.yaml") else { return [] }
  do {
    _ = try ExperimentCatalogue.validate(reading)
    return []
  } catch {
    return error.problems
  }
}

private func graph(consumer: String, input: String = "{stage: pool, artifact: data, select: each}") -> String
{
  """
  name: g
  stages:
    pool:
      experiment: noop
      seeds: 0..<3
      fixed: {artifact_bytes: 10}
    use:
      experiment: \(consumer)
      inputs:
        data: \(input)
  """
}

@Suite struct GraphValidationTests {
  @Test func aValidGraph_givesAPlanWithEveryStagesRunsCompleted() throws {
    let reading = try #require(SweepGraph.read(yaml: graph(consumer: "noop-digest"), file: "graph.yaml"))
    let plan = try ExperimentCatalogue.validate(reading)
    #expect(plan.slots.count == 6)
    let consumer = plan.slots[3].template
    #expect(consumer.parameters["data"] == .string(GraphPlan.placeholder))
    #expect(consumer.parameters["artifact_bytes"] == .int(1000))
    #expect(consumer.variant == "use/use" && consumer.seed == 0)
  }

  @Test func anInputTheExperimentDoesNotTake_orAnArtifactTheProducerDoesNotMake_isRejected() throws {
    let notAnInput = problems(graph(consumer: "noop"))
    #expect(notAnInput.count == 1 && notAnInput[0].field == "stages.use.inputs.data")
    #expect(notAnInput[0].message.contains("noop takes no input 'data'"))
    let wrongArtifact = problems(graph(consumer: "noop-digest", input: "{stage: pool, artifact: model}"))
    #expect(wrongArtifact.count == 1 && wrongArtifact[0].field == "stages.use.inputs.data.artifact")
    #expect(wrongArtifact[0].message.contains("makes no artifact 'model' (it makes data)"))
    #expect(wrongArtifact[0].location?.line == 10)
  }

  @Test func anUnboundInput_orOneSetByHand_isRejected() throws {
    let unbound = "name: g\nstages:\n  use:\n    experiment: noop-digest\n    seeds: 2\n"
    let problem = try #require(problems(unbound).first)
    #expect(problem.field == "stages.use.inputs" && problem.message.contains("needs the input 'data'"))
    let byHand =
      "name: g\nstages:\n  pool: {experiment: noop, seeds: 2}\n  use:\n    experiment: noop-digest\n"
      + "    inputs: {data: {stage: pool, artifact: data}}\n    fixed: {data: abc}\n"
    #expect(
      problems(byHand).contains { $0.field == "stages.use.fixed.data" && $0.message.contains("is an input") })
  }

  @Test func aSingleInput_refusesAListSelector() throws {
    let yaml = """
      name: g
      stages:
        pool: {experiment: image-pretrain, seeds: 2, held_out: [1], fixed: {dataset: synth-digits}}
        tune:
          experiment: image-finetune
          seeds: 1
          fixed: {dataset: synth-digits}
          inputs: {network: {stage: pool, artifact: network, select: all-but-held-out}}
      """
    let problem = try #require(problems(yaml).first)
    #expect(
      problem.field == "stages.tune.inputs.network.select" && problem.message.contains("takes one artifact"))
  }

  @Test func aConsumingExperiment_inAPlainSweep_saysToUseAGraph() throws {
    let plain = "name: p\nexperiment: noop-digest\nseeds: 2\nvariants: {a: {}}\n"
    do {
      _ = try ExperimentCatalogue.validate(SweepSpec.parse(yaml: plain, file: "p.yaml"))
      Issue.record("a plain sweep of a consuming experiment was accepted")
    } catch {
      #expect("\(error)".contains("bind it under the stage's inputs in a sweep graph"))
    }
  }
}

/// The repository's `results` folder, found from this file's path.
private let resultsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("results")

@Test func thePaperScaleTeacherGraph_isAcceptedByTheExperiments_butForTheUsersMNIST() throws {
  // The committed graphs that run here are checked by running them; this one is for a cluster.
  let yaml = try String(
    contentsOf: resultsFolder.appendingPathComponent("teacher-paper/graph.yaml"), encoding: .utf8)
  let found = problems(yaml)
  // MNIST is the user's to supply: its stages say where to put it, and nothing else is wrong.
  let mnistGiven = ProcessInfo.processInfo.environment["METASWEEP_MNIST_DIR"] != nil
  #expect(found.count == (mnistGiven ? 0 : 4), "\(found)")
  #expect(found.allSatisfy { "\($0)".contains("METASWEEP_MNIST_DIR") }, "\(found)")
}

@Test func thePaperScaleCIFARTeacherGraphs_areAcceptedByTheExperiments_givenCIFARFiles() throws {
  // CIFAR is the user's to supply: stand-ins written as the binary files take /data/cifar-10's and
  // /data/cifar-100's places, and then nothing in the three cluster graphs is wrong.
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
    "paper-cifar-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: folder) }
  for (classes, format) in [(10, CIFARFormat.cifar10), (100, .cifar100)] {
    let images = try SynthObjects.makeDataset(
      classes: classes,
      SynthImageSettings {
        $0.seed = 1
        $0.trainCount = 10 * classes
        $0.testCount = 2 * classes
        $0.side = 32
      })
    try images.writeCIFAR(format, to: folder.appendingPathComponent(format.rawValue).path)
  }
  for name in ["teacher-paper-cifar", "teacher-paper-cifar100", "teacher-paper-cifar-pool"] {
    let yaml = try String(
      contentsOf: resultsFolder.appendingPathComponent("\(name)/graph.yaml"), encoding: .utf8)
    #expect(SweepGraph.read(yaml: yaml, file: "graph.yaml") != nil, "\(name) is not read as a graph")
    #expect(yaml.contains("architecture: resnet32-gn") && yaml.contains("groupnorm_rule: meta"), "\(name)")
    let given =
      yaml
      .replacingOccurrences(of: "/data/cifar-100", with: folder.appendingPathComponent("cifar-100").path)
      .replacingOccurrences(of: "/data/cifar-10", with: folder.appendingPathComponent("cifar-10").path)
    #expect(problems(given).isEmpty, "\(name): \(problems(given))")
    // Without the files, or with one wrong value, the graph is refused (the check can fail).
    #expect(problems(yaml).contains { "\($0)".contains("copy the binary version's files") }, "\(name)")
    let broken = given.replacingOccurrences(of: "groupnorm_rule: meta", with: "groupnorm_rule: lstm")
    #expect(problems(broken).contains { "\($0)".contains("groupnorm_rule") }, "\(name)")
  }
}

/// The problems of the committed sweep file `path` (under results/) against the experiments; with
/// `pinned`, a dataset hash is added so that validation does not generate or read the dataset.
private func sweepProblems(_ path: String, pinned: Bool = false) throws -> [SpecError] {
  var yaml = try String(contentsOf: resultsFolder.appendingPathComponent(path), encoding: .utf8)
  if pinned {
    yaml = yaml.replacingOccurrences(
      of: "\n  dataset: synth-digits\n",
      with: "\n  dataset: synth-digits\n  dataset_sha256: \(String(repeating: "ab", count: 32))\n")
  }
  do {
    _ = try ExperimentCatalogue.validate(SweepSpec.read(yaml: yaml, file: path))
    return []
  } catch {
    return error.problems
  }
}

@Test func theClusterSweepsOfTheContinualPaper_areAccepted_butForTheUsersMNIST() throws {
  // The paper's shapes do not run here; their files must still be right when they reach a cluster.
  #expect(try sweepProblems("continual-paper/paper-synth.yaml", pinned: true).isEmpty)
  let found = try sweepProblems("continual-paper/sweep.yaml")
  let mnistGiven = ProcessInfo.processInfo.environment["METASWEEP_MNIST_DIR"] != nil
  #expect(found.count == (mnistGiven ? 0 : 1), "\(found)")
  #expect(found.allSatisfy { "\($0)".contains("METASWEEP_MNIST_DIR") }, "\(found)")
}
