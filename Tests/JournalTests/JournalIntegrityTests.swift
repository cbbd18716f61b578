import Foundation
import GRDB
import SweepModel
import Testing

@testable import Journal

/// A journal at `path` with `count` finished runs (a distinct series per run, 200 points) and a
/// pending chained run with a checkpoint; closed (SQLite folds the WAL into the file then).
private func finishedJournal(at path: String, runs count: Int) throws -> [RunSpec] {
  let runs = makeRuns(variants: ["a"], seeds: (0..<UInt64(count + 1)).map { $0 })
  do {
    let journal = try Journal(path: path)
    _ = try prepare(journal, runs)
    for (index, run) in runs.enumerated() {
      try journal.recordLease(attempt: UInt64(index + 1), key: run.key, worker: "w", at: t0)
    }
    for (index, run) in runs.dropLast().enumerated() {
      let series = Series(
        name: "error", xStart: 0, xStep: 1, values: (0..<200).map { Double(index * 1000 + $0) })
      _ = try journal.recordOutcome(
        attempt: UInt64(index + 1), key: run.key, worker: "w",
        outcome: Outcome(metrics: [Metric("m", Double(index))], series: [series]), seconds: 1, at: t0)
    }
    try journal.recordCheckpoint(
      attempt: UInt64(runs.count), key: runs.last!.key, data: Array(repeating: 7, count: 4096), stepsDone: 10,
      at: t0)
  }
  return runs
}

/// Overwrites 8 bytes of the file at `path` in the middle of the first occurrence of `needle`.
private func damage(_ path: String, at needle: [UInt8]) throws {
  var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  let start = try #require(
    (0...(bytes.count - needle.count)).first { bytes[$0..<$0 + needle.count].elementsEqual(needle) })
  for offset in 0..<8 { bytes[start + needle.count / 2 + offset] ^= 0x5A }
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}

private func float64Bytes(_ values: [Double]) -> [UInt8] {
  values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

@Test func damagedOutcome_isNamed_neverTabulated_andItsRunIsRedoneOnResume() throws {
  let path = makeTemporaryFolder() + "/journal.sqlite"
  let runs = try finishedJournal(at: path, runs: 30)
  // Eight bytes inside run 17's series, as a disk or a stray write would leave them.
  try damage(path, at: float64Bytes((0..<200).map { Double(17 * 1000 + $0) }))

  let reader = try Journal(path: path, readOnly: true)
  let (finished, damaged) = try reader.readFinishedRuns()
  #expect(finished.count == 29 && !finished.contains { $0.run.seed == 17 })
  #expect(damaged.count == 1)
  #expect(damaged.first?.kind == .outcome && damaged.first?.seed == 17 && damaged.first?.attempt == 18)
  #expect(
    damaged.first?.description.contains("outcome of run \(runs[17].key.short) (a, seed 17), attempt 18")
      == true)
  let verification = try reader.verify()
  #expect(verification.sqliteProblems.isEmpty && verification.damaged == damaged)
  #expect(verification.outcomes == 30 && verification.checkpoints == 1 && !verification.isIntact)

  // Resuming sets it aside: the run is pending again, its attempt says why.
  let journal = try Journal(path: path)
  _ = try prepare(journal, runs)
  #expect(try journal.quarantineDamaged(at: t0) == damaged)
  #expect(try journal.pendingRuns().map(\.seed) == [17, 30])
  #expect(try journal.attemptState(18) == "discarded")
  #expect(try journal.readFinishedRuns().damaged.isEmpty)
  #expect(try journal.quarantineDamaged(at: t0).isEmpty)
}

@Test func damagedCheckpoint_isNeverContinuedFrom_andIsDeletedOnResume() throws {
  let path = makeTemporaryFolder() + "/journal.sqlite"
  let runs = try finishedJournal(at: path, runs: 3)
  try damage(path, at: Array(repeating: 7, count: 512))  // the blob spans pages: a piece of it
  let journal = try Journal(path: path)
  _ = try prepare(journal, runs)
  #expect(try journal.latestCheckpoints().isEmpty)
  let damaged = try journal.quarantineDamaged(at: t0)
  #expect(damaged.count == 1 && damaged.first?.kind == .checkpoint && damaged.first?.seed == 3)
  #expect(try journal.checkpointCount() == 0)
}

@Test func damagedRunRow_isRewrittenFromTheSpec_soItsLeasesCarryTheRightParameters() throws {
  let path = makeTemporaryFolder() + "/journal.sqlite"
  let runs = try finishedJournal(at: path, runs: 3)
  // The pending run's parameters change on disk (same length: "5000" becomes "9000").
  let json = try #require(CanonicalJSON.parameters(runs[3].parameters).data(using: .utf8))
  var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  var patched = 0
  for start in 0...(bytes.count - json.count) where bytes[start..<start + json.count].elementsEqual(json) {
    let digit = start + json.firstRange(of: Data("5000".utf8))!.lowerBound
    bytes[digit] = UInt8(ascii: "9")
    patched += 1
  }
  #expect(patched >= 1)
  try Data(bytes).write(to: URL(fileURLWithPath: path))
  #expect(try Journal(path: path, readOnly: true).verify().damaged.contains { $0.kind == .run })
  let journal = try Journal(path: path)
  _ = try prepare(journal, runs)
  #expect(try journal.pendingRuns().map(\.parameters) == [runs[3].parameters])
  #expect(try journal.verify().isIntact)
}

@Test func journalDamagedWhereSQLiteKeepsItsTables_failsWithOneReadableLine() throws {
  let path = makeTemporaryFolder() + "/journal.sqlite"
  _ = try finishedJournal(at: path, runs: 30)
  // 200 KB of garbage over the middle of the file.
  var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  var state: UInt64 = 1
  for index in (bytes.count / 4)..<min(bytes.count, bytes.count / 4 + 200_000) {
    state = state &* 6_364_136_223_846_793_005 &+ 1
    bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
  }
  try Data(bytes).write(to: URL(fileURLWithPath: path))
  do {
    let reader = try Journal(path: path, readOnly: true)
    let verification = try reader.verify()
    #expect(!verification.isIntact)
    _ = try reader.readFinishedRuns()
  } catch let error as JournalError {
    #expect(error.code == .corruptData || error.code == .cannotOpen)
    #expect(!error.description.contains("\n") && !error.description.contains("SELECT"), "\(error)")
  }
}
