import Foundation
import Journal
import SweepModel
import Testing

/// A tiny lstm-metalearning sweep (2 seeds) that a debug build meta-trains in a few seconds.
private func lstmSweep(segmentSteps: Int?) -> String {
  """
  name: chain-e2e
  experiment: lstm-metalearning
  seeds: 0..<2
  fixed:
    hidden_units: 4
    batch: 4
    steps: 300
    sequence_length_train: 16
    test_sequences: 8
    test_length: 32
    validation_every: 20
    validation_sequences: 4
    curve_bin: 10
  variants:
    tiny: {}
  \(segmentSteps.map { "segment_steps: \($0)" } ?? "")
  """
}

/// Steps of the sweep above, and the segments one of its runs takes at `segment_steps: 7`.
private let totalSteps: UInt64 = 300
private let segmentsPerRun: UInt64 = (300 + 6) / 7

/// Files whose bytes must not depend on how the runs were cut into segments or interrupted.
private let chainReportFiles = [
  "summary.csv", "summary.md", "curves/training_mse.csv", "curves/validation_mse.csv",
  "curves/mean_abs_error_per_cycle.csv", "curves/mse_per_boolean_function.csv",
]

private func chainReport(_ directory: URL) -> [String: Data] {
  var out: [String: Data] = [:]
  for file in chainReportFiles {
    out[file] = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path)
  }
  return out
}

private func runSweep(_ text: String, in dir: URL, out: String) throws -> URL {
  let spec = dir.appendingPathComponent("\(out).yaml").path
  try text.write(toFile: spec, atomically: true, encoding: .utf8)
  let result = try Binary.run(["run", spec, "--workers", "2", "--out", out], in: dir)
  #expect(result.status == 0, "\(result.stderr)")
  return dir.appendingPathComponent(out)
}

@Suite(.serialized) struct ChainEndToEndTests {
  @Test func chainedSweep_isByteIdenticalToTheUnchainedOne_andKillingTheCoordinatorMidChainChangesNothing()
    throws
  {
    let dir = try makeScratchDirectory()
    let whole = try runSweep(lstmSweep(segmentSteps: nil), in: dir, out: "whole")
    let clean = chainReport(whole)
    #expect(clean.count == chainReportFiles.count)
    #expect(clean.values.allSatisfy { !$0.isEmpty })

    // In segments of 7 steps: the same bytes, and every run really went through its chain.
    let chained = try runSweep(lstmSweep(segmentSteps: 7), in: dir, out: "chained")
    #expect(chainReport(chained) == clean)
    let chainedJournal = try Journal(
      path: chained.appendingPathComponent("journal.sqlite").path, readOnly: true)
    #expect(try chainedJournal.maxAttemptID() == 2 * segmentsPerRun)
    #expect(try chainedJournal.checkpointCount() == 0)

    // Kill -9 the coordinator once several segments are journaled, then resume.
    let spec = dir.appendingPathComponent("killed.yaml").path
    try lstmSweep(segmentSteps: 7).write(toFile: spec, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("killed")
    let coordinator = try Binary.Running(["run", spec, "--workers", "2", "--out", "killed"], directory: dir)
    let reached = waitUntil { checkpointedSteps(out).reduce(0, +) >= 35 }
    kill(coordinator.pid, SIGKILL)
    _ = coordinator.wait()
    #expect(reached, "no checkpoint was journaled in time")
    let journal = try Journal(path: out.appendingPathComponent("journal.sqlite").path, readOnly: true)
    let before = try journal.latestCheckpoints()
    let stepsBefore = before.values.reduce(0) { $0 + $1.stepsDone }
    #expect(!before.isEmpty && stepsBefore >= 35, "the kill came after the chains ended")
    #expect(before.values.allSatisfy { $0.stepsDone % 7 == 0 && $0.stepsDone < totalSteps })

    let status = try Binary.run(["status", out.path], in: dir)
    #expect(status.status == 0, "\(status.stderr)")
    #expect(status.stdout.contains("chain-e2e"), "\(status.stdout)")

    // A copy whose checkpoints claim another build is refused unless the user insists.
    let copy = dir.appendingPathComponent("other-build")
    try FileManager.default.copyItem(at: out, to: copy)
    try Journal(path: copy.appendingPathComponent("journal.sqlite").path).executeRawSQL(
      "UPDATE checkpoints SET build_id = 'another-build'")
    let refused = try Binary.run(["resume", copy.path, "--workers", "2"], in: dir)
    #expect(
      refused.status == 2 && refused.stderr.contains("another-build")
        && refused.stderr.contains("--allow-other-build"), "\(refused.stderr)")
    let insisted = try Binary.run(["resume", copy.path, "--workers", "2", "--allow-other-build"], in: dir)
    #expect(insisted.status == 0, "\(insisted.stderr)")

    let resumed = try Binary.run(["resume", out.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(chainReport(out) == clean)
    // The resumed chains continued from their checkpoints: only the segments in flight at the
    // kill ran twice, so there are at most two attempts more than segments (one per run).
    let after = try Journal(path: out.appendingPathComponent("journal.sqlite").path, readOnly: true)
    #expect(try after.finishedRuns().count == 2)
    #expect(try after.maxAttemptID() <= 2 * segmentsPerRun + 2)
    #expect(try after.checkpointCount() == 0)
  }
}
