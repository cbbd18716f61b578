import Foundation
import Journal
import SweepModel
import Testing

@Test func resultsFolderLock_isExclusive_namesItsHolder_andIsFreeAgainOnceReleased() throws {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
    "metasweep-lock-\(UUID().uuidString)"
  )
  .path
  #expect(ResultsFolderLock.holder(of: folder) == nil)
  var first: ResultsFolderLock? = try ResultsFolderLock(directory: folder)
  let holder = ResultsFolderLock.holder(of: folder)
  #expect(holder?.description.contains("pid \(getpid())") == true)
  // A second lock conflicts even in the same process (an open-file-description lock).
  do {
    _ = try ResultsFolderLock(directory: folder)
    Issue.record("a second coordinator took the lock")
  } catch let error as JournalError {
    #expect(error.code == .folderInUse)
    #expect(error.message.contains(folder) && error.message.contains("pid \(getpid())"))
  }
  withExtendedLifetime(first) {}
  first = nil
  #expect(ResultsFolderLock.holder(of: folder) == nil)
  let again = try ResultsFolderLock(directory: folder)
  withExtendedLifetime(again) { #expect(ResultsFolderLock.holder(of: folder) != nil) }
}

@Test func journalCounts_addUp_withLeasedRunsApartFromPendingOnes() throws {
  let journal = try Journal.temporary()
  let runs = (0..<4).map {
    SweepModel.RunSpec(
      ordinal: $0, experiment: "noop", variant: "a", parameters: ["i": .int($0)], seed: UInt64($0))
  }
  _ = try journal.prepare(sweepName: "s", experiment: "noop", specHash: "h", specText: "t", runs: runs)
  let now = Date()
  try journal.recordLease(attempt: 1, key: runs[0].key, worker: "w", at: now)
  try journal.recordLease(attempt: 2, key: runs[1].key, worker: "w", at: now)
  try journal.recordLease(attempt: 3, key: runs[1].key, worker: "w2", at: now)  // two leases, one run
  _ = try journal.recordOutcome(
    attempt: 1, key: runs[0].key, worker: "w", outcome: SweepModel.Outcome(), seconds: 0, at: now)
  let counts = try journal.counts()
  #expect(counts == JournalCounts(total: 4, done: 1, failed: 0, pending: 2, leased: 1))
  #expect(counts.done + counts.failed + counts.leased + counts.pending == counts.total)
}
