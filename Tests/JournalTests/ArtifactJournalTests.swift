import Foundation
import SweepModel
import Testing

@testable import Journal

/// A journal in a fresh folder with `count` runs, each leased and finished with an outcome carrying
/// artifact `net` (bytes distinct per run, except runs 2 and 3, which make the same bytes).
private func journalWithArtifacts(runs count: Int) throws -> (Journal, [RunSpec], [[UInt8]]) {
  let journal = try Journal(path: makeTemporaryFolder() + "/journal.sqlite")
  let runs = makeRuns(variants: ["a"], seeds: (0..<UInt64(count)).map { $0 })
  _ = try prepare(journal, runs)
  var contents: [[UInt8]] = []
  for (index, run) in runs.enumerated() {
    let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: (index == 3 ? 2 : index) * 7 + $0) }
    contents.append(bytes)
    try journal.recordLease(attempt: UInt64(index + 1), key: run.key, worker: "w", at: t0)
    _ = try journal.recordOutcome(
      attempt: UInt64(index + 1), key: run.key, worker: "w",
      outcome: Outcome(
        metrics: [Metric("m", Double(index))], artifacts: [Artifact(name: "net", bytes: bytes)]),
      seconds: 1, at: t0)
  }
  return (journal, runs, contents)
}

@Test func artifacts_areStoredOnceByContent_journaledWithTheirRun_andReadBackChecked() throws {
  let (journal, runs, contents) = try journalWithArtifacts(runs: 5)
  let store = journal.artifactStore
  let files = try FileManager.default.subpathsOfDirectory(atPath: store.folder).filter { !$0.hasSuffix("/") }
    .filter { $0.count > 3 }
  #expect(files.count == 4, "runs 2 and 3 made the same bytes: one file")
  for (index, run) in runs.enumerated() {
    let made = try journal.artifacts(of: run.key)
    #expect(made.map(\.name) == ["net"])
    #expect(made.first?.reference == ArtifactStore.Reference(of: contents[index]))
    #expect(try journal.artifactBytes(of: run.key, named: "net") == contents[index])
  }
  #expect(throws: JournalError.self) { try journal.artifactBytes(of: runs[0].key, named: "other") }
  let (finished, damaged) = try journal.readFinishedRuns()
  #expect(damaged.isEmpty && finished.allSatisfy { $0.artifacts.count == 1 })
  let verification = try journal.verify()
  #expect(verification.isIntact && verification.artifacts == 5)
}

@Test func aFlippedByteOrATruncatedArtifact_isNamed_neverHandedOn_andItsRunIsRedone() throws {
  let (journal, runs, contents) = try journalWithArtifacts(runs: 5)
  let store = journal.artifactStore
  // One byte of run 1's file flipped; run 4's file cut short.
  let flipped = store.path(of: ArtifactStore.Reference(of: contents[1]).sha256)
  var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: flipped)))
  bytes[500] ^= 0x01
  try Data(bytes).write(to: URL(fileURLWithPath: flipped))
  let cut = store.path(of: ArtifactStore.Reference(of: contents[4]).sha256)
  try Data(contents[4].prefix(999)).write(to: URL(fileURLWithPath: cut))

  #expect(throws: JournalError.self) { try journal.artifactBytes(of: runs[1].key, named: "net") }
  #expect(throws: JournalError.self) { try journal.artifactBytes(of: runs[4].key, named: "net") }
  let (finished, damaged) = try journal.readFinishedRuns()
  #expect(finished.map(\.run.seed) == [0, 2, 3])
  #expect(Set(damaged.map(\.seed)) == [1, 4] && damaged.allSatisfy { $0.kind == .artifact })
  #expect(
    damaged.contains { $0.problem.contains(flipped) && $0.problem.contains("does not match its SHA-256") })
  #expect(damaged.contains { $0.problem.contains("has 999 bytes, not 1000") })
  #expect(try journal.verify().damaged.map(\.seed).sorted() == [1, 4])

  // Resuming sets both outcomes aside; the runs are pending again and, rerun, restore the files.
  let removed = try journal.quarantineDamaged(at: t0)
  #expect(Set(removed.map(\.seed)) == [1, 4])
  #expect(try journal.readFinishedRuns().finished.count == 3)
  for (attempt, index) in [(11, 1), (14, 4)] {
    try journal.recordLease(attempt: UInt64(attempt), key: runs[index].key, worker: "w", at: t0)
    _ = try journal.recordOutcome(
      attempt: UInt64(attempt), key: runs[index].key, worker: "w",
      outcome: Outcome(
        metrics: [Metric("m", Double(index))], artifacts: [Artifact(name: "net", bytes: contents[index])]),
      seconds: 1, at: t0)
  }
  #expect(try journal.verify().isIntact)
  #expect(try journal.artifactBytes(of: runs[1].key, named: "net") == contents[1])
  #expect(try journal.artifactBytes(of: runs[4].key, named: "net") == contents[4])
}

@Test func aDamagedArtifactRow_makesItsRunDamaged_evenWithAnIntactFile() throws {
  let (journal, runs, _) = try journalWithArtifacts(runs: 3)
  try journal.dbQueue.write { db in
    try db.execute(
      sql: "UPDATE artifacts SET size = size + 1 WHERE run_key = ?", arguments: [runs[2].key.hex])
  }
  let (finished, damaged) = try journal.readFinishedRuns()
  #expect(finished.map(\.run.seed) == [0, 1])
  #expect(damaged.map(\.kind) == [.artifact] && damaged.first?.problem.contains("checksum mismatch") == true)
}

@Test func anOutcomeWithAnUnusableArtifact_isRefused_andNothingIsRecorded() throws {
  let journal = try Journal(path: makeTemporaryFolder() + "/journal.sqlite")
  let runs = makeRuns(variants: ["a"], seeds: [0])
  _ = try prepare(journal, runs)
  try journal.recordLease(attempt: 1, key: runs[0].key, worker: "w", at: t0)
  for artifacts in [
    [Artifact(name: "Bad Name", bytes: [1])],
    [Artifact(name: "x", bytes: [1]), Artifact(name: "x", bytes: [2])],
  ] {
    #expect(throws: JournalError.self) {
      try journal.recordOutcome(
        attempt: 1, key: runs[0].key, worker: "w", outcome: Outcome(artifacts: artifacts), seconds: 1, at: t0)
    }
  }
  #expect(try journal.readFinishedRuns().finished.isEmpty)
  #expect(!FileManager.default.fileExists(atPath: journal.artifactStore.folder))
}

@Test func aLostArtifactRow_isCaughtByItsOutcomesChecksum() throws {
  let (journal, runs, _) = try journalWithArtifacts(runs: 3)
  try journal.dbQueue.write { db in
    try db.execute(sql: "DELETE FROM artifacts WHERE run_key = ?", arguments: [runs[1].key.hex])
  }
  let (finished, damaged) = try journal.readFinishedRuns()
  #expect(finished.map(\.run.seed) == [0, 2])
  #expect(damaged.map(\.kind) == [.outcome] && damaged.first?.seed == 1)
  #expect(try journal.verify().damaged.map(\.seed) == [1])
  #expect(try journal.quarantineDamaged(at: t0).map(\.seed) == [1])
}

@Test func aJournalFromBeforeArtifacts_isReadAsItWas_untilACoordinatorMigratesIt() throws {
  let path = makeTemporaryFolder() + "/journal.sqlite"
  let runs = makeRuns(variants: ["a"], seeds: [0, 1])
  do {
    let journal = try Journal(path: path)
    _ = try prepare(journal, runs)
    for (index, run) in runs.enumerated() {
      try journal.recordLease(attempt: UInt64(index + 1), key: run.key, worker: "w", at: t0)
      _ = try journal.recordOutcome(
        attempt: UInt64(index + 1), key: run.key, worker: "w", outcome: Outcome(metrics: [Metric("m", 1)]),
        seconds: 1, at: t0)
    }
    // As a v6 journal was: no artifacts table, its migration not applied.
    try journal.dbQueue.write { db in
      try db.execute(sql: "DROP TABLE artifacts")
      try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v7-artifacts'")
    }
  }
  let reader = try Journal(path: path, readOnly: true)
  #expect(try reader.readFinishedRuns().finished.count == 2)
  #expect(try reader.verify().isIntact)
  #expect(try Journal(path: path).readFinishedRuns().finished.count == 2)
}
