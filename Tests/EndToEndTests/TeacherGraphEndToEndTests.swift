import Datasets
import Foundation
import GRDB
import Journal
import Testing

/// A small SynthDigits dataset as the four MNIST files (600 training images, 200 test), in `dir`.
private func writeDigits(in dir: URL) throws -> String {
  let dataset = try SynthDigits.makeDataset(
    SynthDigitsSettings {
      $0.seed = 5
      $0.trainCount = 600
      $0.testCount = 200
    })
  let folder = dir.appendingPathComponent("digits")
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  try dataset.writeIDX(to: folder.path, compression: .none)
  return folder.path
}

/// The multi-task-teacher graph at a size a debug build runs in seconds: two pretrained smoke
/// LeNets, meta-training chained in segments of 3 inner steps (one truncation window each), and
/// three baselines and ours evaluated from each.
private func teacherGraph(data: String) -> String {
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
      fixed: {dataset: mnist, data_dir: "\(data)", episodes: 3, max_steps: 6, batch_a: 8, batch_b: 8,
              hidden_units: 4, lstm_layers: 1, window_start: 3, window_max: 3, tau_start: 1000000,
              tau_max: 1000000}
      variants: {smoke: {}}
    baselines:
      experiment: teacher-evaluate
      inputs: {network: {stage: pretrain, artifact: network, select: each}}
      fixed: &evaluation {dataset: mnist, data_dir: "\(data)", steps: 10, evaluate_every: 5, batch: 8,
              fisher_images: 20, readout_images: 100, readout_steps: 50, hidden_units: 4, lstm_layers: 1}
      variants: {sgd: {method: sgd}, ewc: {method: ewc}, lwf: {method: lwf}}
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

private func database(_ out: URL) throws -> DatabaseQueue {
  var configuration = Configuration()
  configuration.readonly = true
  return try DatabaseQueue(
    path: out.appendingPathComponent("journal.sqlite").path, configuration: configuration)
}

/// Attempts (leases of segments) of meta-training runs so far.
private func metaTrainingAttempts(_ out: URL) throws -> Int {
  try database(out).read { db in
    try Int.fetchOne(
      db,
      sql:
        "SELECT count(*) FROM attempts a JOIN runs r ON r.key = a.run_key WHERE r.experiment = 'teacher-metatrain'"
    ) ?? 0
  }
}

/// The name of the worker holding a meta-training segment now, if one does.
private func metaTrainingHolder(_ out: URL) -> String? {
  try? database(out).read { db in
    try String.fetchOne(
      db,
      sql: """
        SELECT a.worker FROM attempts a JOIN runs r ON r.key = a.run_key
        WHERE r.experiment = 'teacher-metatrain' AND a.ended_at IS NULL ORDER BY a.id DESC LIMIT 1
        """)
  }
}

/// The child of `coordinator` started as `metasweep worker ... --name name`.
private func workerProcess(named name: String, of coordinator: Int32) -> Int32? {
  childProcesses(of: coordinator).first { pid in
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
    let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    return zip(arguments, arguments.dropFirst()).contains { $0 == "--name" && $1 == name }
  }
}

/// Issue 15's "done when": a kill -9 of a worker during meta-training costs at most one segment, and
/// a kill -9 of the coordinator during the graph changes nothing in the tables.
@Suite(.serialized) struct TeacherGraphEndToEndTests {
  @Test func killingTheMetaTrainingWorker_costsOneSegment_andKillingTheCoordinator_changesNoTable() throws {
    let dir = try makeScratchDirectory()
    let data = try writeDigits(in: dir)
    let spec = dir.appendingPathComponent("graph.yaml").path
    try teacherGraph(data: data).write(toFile: spec, atomically: true, encoding: .utf8)
    let clean = try Binary.run(["run", spec, "--workers", "2", "--out", "clean"], in: dir)
    #expect(clean.status == 0, "\(clean.stderr)")
    let cleanOut = dir.appendingPathComponent("clean")
    let expected = try tables(cleanOut)
    // 3 episodes × 6 steps in segments of 3 steps: 6 segments per run, 2 runs.
    let segments = try metaTrainingAttempts(cleanOut)
    #expect(segments == 12)
    #expect(expected[3].contains("ours,joint_readout"), "\(expected[3])")

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
      guard !checkpointedSteps(workerOut).isEmpty, let holder = metaTrainingHolder(workerOut) else {
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
      try metaTrainingAttempts(workerOut) <= segments + 1, "more than the one segment in flight ran again")

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
}
