import Datasets
import Foundation
import GRDB
import Journal
import Testing

/// Small SynthDigits (task A) and SynthGratings (task B) datasets as two folders of the four IDX
/// files (600 training images, 200 test, each), in `dir`; their content hashes.
private func writeDatasets(in dir: URL) throws -> (digits: String, gratings: String, gratingsHash: String) {
  let settings = SynthImageSettings {
    $0.seed = 5
    $0.trainCount = 600
    $0.testCount = 200
  }
  let gratings = try SynthGratings.makeDataset(settings)
  return (
    try write(SynthDigits.makeDataset(settings), to: "digits", in: dir),
    try write(gratings, to: "gratings", in: dir), gratings.sha256
  )
}

private func write(_ dataset: ImageDataset, to name: String, in dir: URL) throws -> String {
  let folder = dir.appendingPathComponent(name)
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  try dataset.writeIDX(to: folder.path, compression: .none)
  return folder.path
}

/// The multi-task-teacher graph at a size a debug build runs in seconds: two smoke LeNets
/// pretrained on digits, meta-training chained in segments of 3 inner steps (one truncation window
/// each) with gratings as task B (read as Fashion-MNIST from `gratings`), and three baselines and
/// ours evaluated from each.
private func teacherGraph(data: String, gratings: String) -> String {
  """
  name: teacher-e2e
  stages:
    pretrain:
      experiment: convnet-pretrain
      seeds: 0..<2
      fixed: {dataset: mnist, data_dir: "\(data)", classes: "0-4", epochs: 1, batch: 16, learning_rate: 0.05,
              readout_images: 100, readout_steps: 50}
      variants: {lenet: {}}
    metatrain:
      experiment: teacher-metatrain
      segment_steps: 3
      inputs: {network: {stage: pretrain, artifact: network, select: each}}
      fixed: {dataset: mnist, data_dir: "\(data)", dataset_b: fashion-mnist, data_dir_b: "\(gratings)",
              task_b: "0-4", episodes: 3, max_steps: 6, batch_a: 8, batch_b: 8,
              hidden_units: 4, lstm_layers: 1, window_start: 3, window_max: 3, tau_start: 1000000,
              tau_max: 1000000}
      variants: {smoke: {}}
    baselines:
      experiment: teacher-evaluate
      inputs: {network: {stage: pretrain, artifact: network, select: each}}
      fixed: &evaluation {dataset: mnist, data_dir: "\(data)", dataset_b: fashion-mnist,
              data_dir_b: "\(gratings)", task_b: "0-4", steps: 10, evaluate_every: 5, batch: 8,
              fisher_images: 20, readout_images: 100, readout_steps: 50, hidden_units: 4, lstm_layers: 1}
      variants: {freeze: {method: freeze}, sgd: {method: sgd}, ewc: {method: ewc}, lwf: {method: lwf}}
    ours:
      experiment: teacher-evaluate
      inputs:
        network: {stage: pretrain, artifact: network, select: each}
        meta_state: {stage: metatrain, artifact: meta_state, select: same-seed}
      fixed: *evaluation
      variants: {ours: {method: ours}}
  """
}

/// Every stage's table: what must not change however the graph was interrupted.
private func tables(_ out: URL) throws -> [String] {
  try ["pretrain", "metatrain", "baselines", "ours"].map { stage in
    try String(contentsOf: out.appendingPathComponent("stages/\(stage)/summary.csv"), encoding: .utf8)
  }
}

/// Issue 15's "done when": a kill -9 of a worker during meta-training costs at most one segment, and
/// a kill -9 of the coordinator during the graph changes nothing in the tables.
@Suite(.serialized) struct TeacherGraphEndToEndTests {
  @Test func killingTheMetaTrainingWorker_costsOneSegment_andKillingTheCoordinator_changesNoTable() throws {
    let dir = try makeScratchDirectory()
    let data = try writeDatasets(in: dir)
    let spec = dir.appendingPathComponent("graph.yaml").path
    try teacherGraph(data: data.digits, gratings: data.gratings).write(
      toFile: spec, atomically: true, encoding: .utf8)
    let clean = try Binary.run(["run", spec, "--workers", "2", "--out", "clean"], in: dir)
    #expect(clean.status == 0, "\(clean.stderr)")
    let cleanOut = dir.appendingPathComponent("clean")
    let expected = try tables(cleanOut)
    // 3 episodes × 6 steps in segments of 3 steps: 6 segments per run, 2 runs.
    let segments = try segmentAttempts(cleanOut, experiment: "teacher-metatrain")
    #expect(segments == 12)
    #expect(expected[3].contains("ours,joint_readout"), "\(expected[3])")
    // Every meta-training and evaluation run's key names task B's dataset by its content.
    let pinned = try database(cleanOut).read { db in
      try String.fetchAll(
        db,
        sql: "SELECT parameters_json FROM runs WHERE experiment IN ('teacher-metatrain', 'teacher-evaluate')")
    }
    #expect(pinned.count == 12 && pinned.allSatisfy { $0.contains(data.gratingsHash) }, "\(pinned)")
    // The paper's report: Table 1 with the criteria its methods allow, and Fig. 4 paired by seed
    // (at step 0 every method still has the pretrained representation, so its difference from
    // Freeze is exactly 0; SGD's representation then moves).
    let table1 = try String(contentsOf: cleanOut.appendingPathComponent("table1-10.md"), encoding: .utf8)
    #expect(
      table1.contains("| ours |") && table1.contains("| R1 (Fig. 1) |") && table1.contains("| R5 (Fig. 7) |"))
    let fig4 = try String(
      contentsOf: cleanOut.appendingPathComponent("figures/fig4-readout-a-vs-freeze-10.csv"), encoding: .utf8
    ).split(separator: "\n").map {
      $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    let sgd = try #require(fig4.first?.firstIndex(of: "sgd_mean"))
    #expect(fig4.count == 4 && fig4[1][0] == "0.0" && Double(fig4[1][sgd]) == 0, "\(fig4)")
    #expect(fig4.dropFirst(2).contains { Double($0[sgd]) != 0 }, "\(fig4)")
    #expect(
      FileManager.default.fileExists(
        atPath: cleanOut.appendingPathComponent("figures/fig1-original-vs-readout-a-10.svg").path))

    // Kill -9 the worker that holds a meta-training segment, once one segment is journaled.
    let workerOut = dir.appendingPathComponent("worker-killed")
    let coordinator = try Binary.Running(
      [
        "run", spec, "--workers", "2", "--out", "worker-killed", "--heartbeat", "0.2", "--worker-timeout",
        "1",
      ],
      directory: dir)
    var victim: Int32?
    _ = waitUntil {
      guard !checkpointedSteps(workerOut).isEmpty,
        let holder = segmentHolder(workerOut, experiment: "teacher-metatrain")
      else {
        return false
      }
      victim = workerProcess(named: holder, of: coordinator.pid)
      return victim != nil
    }
    let killed = try #require(victim, "no meta-training segment was held after a checkpoint")
    kill(killed, SIGKILL)
    let finished = coordinator.wait()
    #expect(finished.status == 0, "\(finished.stderr)")
    #expect(try tables(workerOut) == expected)
    #expect(
      try segmentAttempts(workerOut, experiment: "teacher-metatrain") <= segments + 1,
      "more than the one segment in flight ran again")

    // Kill -9 the coordinator mid meta-training, then resume.
    let coordinatorOut = dir.appendingPathComponent("coordinator-killed")
    let second = try Binary.Running(
      ["run", spec, "--workers", "2", "--out", "coordinator-killed"], directory: dir)
    let reached = waitUntil { checkpointedSteps(coordinatorOut).reduce(0, +) >= 3 }
    kill(second.pid, SIGKILL)
    _ = second.wait()
    #expect(reached, "no meta-training checkpoint was journaled")
    let resumed = try Binary.run(["resume", coordinatorOut.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try tables(coordinatorOut) == expected)
  }

  /// GroupNorm meta-learners (`groupnorm_rule: meta`) from meta-training to ours, on a ResNet-8-GN:
  /// ours run with the same rule; with the plain-SGD rule the meta-state does not fit, and the
  /// run's error says which parameters must match.
  @Test func groupNormMetaLearners_runFromMetaTrainingToOurs_andAMismatchedRuleIsNamed() throws {
    let dir = try makeScratchDirectory()
    let data = try writeDatasets(in: dir)
    let tasks = """
      dataset: mnist, data_dir: "\(data.digits)", task_a: "0-4", task_b: "5-9", train_images: 300, \
      hidden_units: 3, lstm_layers: 1, groupnorm_hidden_units: 2
      """
    let graph = """
      name: teacher-groupnorm-e2e
      stages:
        pretrain:
          experiment: convnet-pretrain
          seeds: 0..<1
          fixed: {dataset: mnist, data_dir: "\(data.digits)", architecture: resnet8-gn, classes: "0-4",
                  epochs: 1, batch: 16, learning_rate: 0.05, train_images: 300, readout_images: 100,
                  readout_steps: 20}
          variants: {resnet: {}}
        metatrain:
          experiment: teacher-metatrain
          inputs: {network: {stage: pretrain, artifact: network, select: each}}
          fixed: {\(tasks), groupnorm_rule: meta, episodes: 2, max_steps: 3, batch_a: 8, batch_b: 8,
                  tau_start: 1000000, tau_max: 1000000}
          variants: {smoke: {}}
        ours:
          experiment: teacher-evaluate
          inputs:
            network: {stage: pretrain, artifact: network, select: each}
            meta_state: {stage: metatrain, artifact: meta_state, select: same-seed}
          fixed: {\(tasks), method: ours, steps: 4, evaluate_every: 2, batch: 8, readout_images: 100,
                  readout_steps: 20}
          variants: {ours-meta: {groupnorm_rule: meta}, ours-sgd: {}}
      """
    let spec = dir.appendingPathComponent("graph.yaml").path
    try graph.write(toFile: spec, atomically: true, encoding: .utf8)
    let result = try Binary.run(
      ["run", spec, "--workers", "2", "--out", "out", "--retries", "1"], in: dir)
    #expect(result.status != 0, "the mismatched run failed, so the sweep did")
    let out = dir.appendingPathComponent("out")
    let summary = try String(
      contentsOf: out.appendingPathComponent("stages/ours/summary.csv"), encoding: .utf8)
    #expect(
      summary.contains("\nours-meta,joint_readout,") && summary.contains(",1,0\nours-meta,readout_a")
        && summary.contains("\nours-sgd,joint_readout,NaN,NaN,0,0\n"), "\(summary)")
    let status = try Binary.run(["status", "out"], in: dir)
    #expect(
      status.stdout.contains("ours-sgd") && status.stdout.contains("groupnorm_rule")
        && status.stdout.contains("meta-learners"),
      "\(status.stdout)")
  }

  /// Exp 2's shape: meta-training draws 2 of gratings' classes 0-5 per episode, and the
  /// meta-test's task B is class sample 1 ([8, 9]) or 3 ([7, 8]) of 2 of classes 6-9, a stage each.
  @Test func exp2Graph_drawsTaskBClasses_andPairsMethodsBySeedAndClassSample() throws {
    let dir = try makeScratchDirectory()
    let data = try writeDatasets(in: dir)
    let tasks = """
      dataset: mnist, data_dir: "\(data.digits)", dataset_b: fashion-mnist, data_dir_b: "\(data.gratings)", \
      b_classes: 2, hidden_units: 4, lstm_layers: 1
      """
    let evaluation =
      "\(tasks), task_b: \"6-9\", steps: 10, evaluate_every: 5, batch: 8, readout_images: 100, readout_steps: 50"
    func sample(_ r: Int) -> String {
      """
        baselines-\(r):
          experiment: teacher-evaluate
          seeds: 0..<1
          inputs: {network: {stage: pretrain, artifact: network, member: 0}}
          fixed: {\(evaluation), b_sample: \(r)}
          variants: {freeze: {method: freeze}, sgd: {method: sgd}}
        ours-\(r):
          experiment: teacher-evaluate
          seeds: 0..<1
          inputs:
            network: {stage: pretrain, artifact: network, member: 0}
            meta_state: {stage: metatrain, artifact: meta_state, member: 0}
          fixed: {\(evaluation), b_sample: \(r)}
          variants: {ours: {method: ours}}
      """
    }
    let graph = """
      name: teacher-exp2-e2e
      stages:
        pretrain:
          experiment: convnet-pretrain
          seeds: 0..<1
          fixed: {dataset: mnist, data_dir: "\(data.digits)", classes: "0-4", epochs: 1, batch: 16,
                  learning_rate: 0.05, readout_images: 100, readout_steps: 50}
          variants: {lenet: {}}
        metatrain:
          experiment: teacher-metatrain
          inputs: {network: {stage: pretrain, artifact: network, select: each}}
          fixed: {\(tasks), task_b: "0-5", episodes: 4, max_steps: 3, batch_a: 8, batch_b: 8,
                  tau_start: 1000000, tau_max: 1000000}
          variants: {smoke: {}}

      """ + sample(1) + "\n" + sample(3) + "\n"
    let spec = dir.appendingPathComponent("graph.yaml").path
    try graph.write(toFile: spec, atomically: true, encoding: .utf8)
    let result = try Binary.run(["run", spec, "--workers", "2", "--out", "out"], in: dir)
    #expect(result.status == 0, "\(result.stderr)")
    let out = dir.appendingPathComponent("out")
    let table1 = try String(contentsOf: out.appendingPathComponent("table1-10.md"), encoding: .utf8)
    #expect(table1.contains("paper, Exp 2 (CIFAR-5A → CIFAR-100)"), "\(table1)")
    #expect(table1.contains("| freeze | ") && table1.contains("(n=2) |"), "\(table1)")
    // Readout B at step 0 differs between the class samples; paired by (seed, sample), every
    // method's difference from Freeze there is exactly 0.
    let fig5 = try String(
      contentsOf: out.appendingPathComponent("figures/fig5-readout-b-vs-freeze-10.csv"), encoding: .utf8
    ).split(separator: "\n").map {
      $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    for name in ["sgd_mean", "ours_mean"] {
      let column = try #require(fig5.first?.firstIndex(of: name), "\(fig5)")
      #expect(fig5[1][0] == "0.0" && Double(fig5[1][column]) == 0, "\(fig5)")
    }
    let first = try String(
      contentsOf: out.appendingPathComponent("stages/baselines-1/summary.csv"), encoding: .utf8)
    let second = try String(
      contentsOf: out.appendingPathComponent("stages/baselines-3/summary.csv"), encoding: .utf8)
    #expect(first != second, "the two class samples gave the same results")
  }
}
