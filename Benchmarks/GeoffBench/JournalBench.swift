import Foundation
import Journal
import SweepModel

/// The coordinator's journal hot path without the network: `runs` noop runs in a temporary
/// journal file, each leased (`recordLease`) and finished (`recordOutcome`) in batches of `batch`
/// records per transaction, as the journal writer commits them. Prints one line per phase: "phase
/// runs µs_per_run" (CPU time of this thread, fastest of `repeats` fresh journals).
func benchmarkJournal(runs: Int, batch: Int, repeats: Int) throws {
  let specs = (0..<runs).map { seed in
    RunSpec(
      ordinal: seed, experiment: "noop", variant: "noop", parameters: ["seconds": .double(0)],
      seed: UInt64(seed))
  }
  let outcome = Outcome(metrics: [Metric("seconds", 0)])
  var best: [String: Double] = [:]
  for _ in 0..<repeats {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("journal-bench-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let journal = try Journal(path: folder.appendingPathComponent("journal.sqlite").path)
    let prepareStart = threadMicroseconds()
    _ = try journal.prepare(
      sweepName: "bench", experiment: "noop", specHash: "0", specText: "", runs: specs)
    let prepare = threadMicroseconds() - prepareStart
    let keys = try journal.pendingRuns(inKeyOrder: true).map(\.key)
    let now = Date()
    var lease = 0.0
    var finish = 0.0
    var start = 0
    while start < keys.count {
      let group = start..<min(start + batch, keys.count)
      let leaseStart = threadMicroseconds()
      try journal.batch {
        for k in group {
          try journal.recordLease(attempt: UInt64(k + 1), key: keys[k], worker: "worker-1", at: now)
        }
      }
      let finishStart = threadMicroseconds()
      try journal.batch {
        for k in group {
          _ = try journal.recordOutcome(
            attempt: UInt64(k + 1), key: keys[k], worker: "worker-1", outcome: outcome, seconds: 0, at: now)
        }
      }
      let end = threadMicroseconds()
      lease += finishStart - leaseStart
      finish += end - finishStart
      start = group.upperBound
    }
    for (phase, total) in [
      ("prepare", prepare), ("lease", lease), ("outcome", finish), ("run", lease + finish),
    ] {
      best[phase] = min(best[phase] ?? .infinity, total / Double(runs))
    }
  }
  print("journal-sqlite-tuned  \(Journal.sqliteTuned)")
  for phase in ["prepare", "lease", "outcome", "run"] {
    print("journal-\(phase)  \(runs)  \(best[phase]!)")
  }
}

/// Run keys of `count` GEOFF-shaped runs (nine parameters, as a sweep file completes them with
/// defaults): canonical JSON, then SHA-256. Prints "runkeys count µs_per_key checksum" (thread CPU
/// time, fastest of `repeats`; the checksum proves every build hashed the same).
func benchmarkRunKeys(count: Int, repeats: Int) {
  let parameters: Parameters = [
    "algorithm": .string("crossprop"), "eta": .double(0.5), "examples_per_task": .int(5000),
    "hidden_units": .int(500), "step_size": .double(0.0005), "stages": .int(3), "bin_size": .int(100),
    "target_features": .int(1000), "tail_examples": .int(500),
  ]
  var best = Double.infinity
  var checksum: UInt64 = 0
  for _ in 0..<max(repeats, 1) {
    checksum = 0
    let start = threadMicroseconds()
    for seed in 0..<count {
      let key = RunKey(experiment: "geoff", parameters: parameters, seed: UInt64(seed))
      checksum = checksum &* 31 &+ UInt64(key.hex.utf8.first ?? 0)
    }
    best = min(best, (threadMicroseconds() - start) / Double(count))
  }
  print("runkeys  \(count)  \(best)  \(checksum)")
}
