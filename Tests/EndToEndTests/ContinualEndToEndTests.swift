import Datasets
import Foundation
import Testing

/// A permuted-continual sweep a debug build runs in seconds: SynthDigits written as an MNIST folder,
/// 3 tasks of 60 iterations in segments of 20, the methods the criteria need, 2 seeds.
private func continualSweep(data: String) -> String {
  """
  name: continual-e2e
  experiment: permuted-continual
  seeds: 0..<2
  segment_steps: 20
  fixed: {dataset: mnist, data_dir: "\(data)", tasks: 3, iterations: 60, batch: 32, learning_rate: 0.2,
          hidden: "32", predictor_hidden: "8,8", evaluate_every: 20, test_images: 100, distill_steps: 5,
          distill_grid: 64}
  variants:
    sgd: {method: sgd}
    meta-sign: {method: meta-sign}
    meta-sign-distill: {method: meta-sign-distill}
    oracle-sign: {method: oracle-sign}
  metrics: [acc, bwt, after_task_1, final_task_1]
  curves: [task_1, task_2, task_3]
  """
}

/// What must not depend on which worker ran which segment.
private let continualFiles = [
  "summary.csv", "paper.md", "curves/task_1.csv", "curves/task_2.csv", "curves/task_3.csv",
]

private func contents(_ out: URL) -> [String: Data] {
  var files: [String: Data] = [:]
  for name in continualFiles {
    files[name] = FileManager.default.contents(atPath: out.appendingPathComponent(name).path)
  }
  return files
}

@Suite(.serialized) struct ContinualEndToEndTests {
  /// Issue 16's "done when": a worker killed in the middle of a chained run, the run finished
  /// elsewhere, gives the same accuracy matrix bit for bit; and the report has the paper's tables.
  @Test func killingAWorkerMidChain_changesNoAccuracy_andTheReportHasThePapersTables() throws {
    let dir = try makeScratchDirectory()
    let folder = dir.appendingPathComponent("digits")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try SynthDigits.makeDataset(
      SynthImageSettings {
        $0.seed = 3
        $0.trainCount = 600
        $0.testCount = 200
      }
    ).writeIDX(to: folder.path, compression: .none)
    let spec = dir.appendingPathComponent("sweep.yaml").path
    try continualSweep(data: folder.path).write(toFile: spec, atomically: true, encoding: .utf8)
    let clean = try Binary.run(["run", spec, "--workers", "2", "--out", "clean"], in: dir)
    #expect(clean.status == 0, "\(clean.stderr)")
    let cleanOut = dir.appendingPathComponent("clean")
    let expected = contents(cleanOut)
    #expect(expected.count == continualFiles.count)
    // 8 runs of 3 tasks × 3 segments of 20 iterations.
    #expect(try segmentAttempts(cleanOut, experiment: "permuted-continual") == 72)
    let paper = String(decoding: expected["paper.md"] ?? Data(), as: UTF8.self)
    for line in [
      "| (a) SGD forgets |", "| (b) meta-sign keeps old tasks |", "| (c) later tasks start higher |",
      "| (d) distillation keeps ACC |", "| oracle-sign on (b)'s test (ablation) |",
      "## Accuracy matrix: meta-sign",
      "| 3 | ",
    ] {
      #expect(paper.contains(line), "\(line) missing from\n\(paper)")
    }
    #expect(
      FileManager.default.fileExists(
        atPath: cleanOut.appendingPathComponent("figures/fig1-oracle-sign.svg").path))

    // Kill -9 the worker holding a segment once a checkpoint is journaled.
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
        let holder = segmentHolder(workerOut, experiment: "permuted-continual")
      else { return false }
      victim = workerProcess(named: holder, of: coordinator.pid)
      return victim != nil
    }
    let killed = try #require(victim, "no segment was held after a checkpoint")
    kill(killed, SIGKILL)
    let finished = coordinator.wait()
    #expect(finished.status == 0, "\(finished.stderr)")
    #expect(contents(workerOut) == expected)
  }
}
