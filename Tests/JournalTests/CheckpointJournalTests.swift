import Foundation
import SweepModel
import Testing

@testable import Journal

@Test func recordCheckpoint_keepsTheLatest_survivesReopen_andNeverGoesBackwards() throws {
  let path = makeTemporaryFolder() + "/journal.sqlite"
  let runs = makeRuns(variants: ["backprop"], seeds: [0, 1])
  do {
    let journal = try Journal(path: path)
    _ = try prepare(journal, runs)
    try journal.recordLease(attempt: 1, key: runs[0].key, worker: "w1", at: t0)
    let recorded = try journal.batch {
      try journal.recordCheckpoint(attempt: 1, key: runs[0].key, data: [1, 2], stepsDone: 7, at: t0)
    }
    #expect(recorded)
    #expect(try journal.attemptState(1) == "expired")
    try journal.recordLease(attempt: 2, key: runs[0].key, worker: "w2", at: t0)
    #expect(
      try journal.recordCheckpoint(attempt: 2, key: runs[0].key, data: [3, 4, 0], stepsDone: 14, at: t0))
    // A late report of the first attempt, or a repeat, never replaces the newer checkpoint.
    #expect(try !journal.recordCheckpoint(attempt: 1, key: runs[0].key, data: [9], stepsDone: 7, at: t0))
    #expect(try !journal.recordCheckpoint(attempt: 2, key: runs[0].key, data: [9], stepsDone: 14, at: t0))
    #expect(try journal.checkpointCount() == 1)
  }
  let reopened = try Journal(path: path)
  let latest = try reopened.latestCheckpoints()
  #expect(latest.count == 1)
  #expect(latest[runs[0].key] == JournalCheckpoint(attempt: 2, stepsDone: 14, data: [3, 4, 0]))
  #expect(latest[runs[1].key] == nil)
}

@Test func recordCheckpoint_refusesAnAttemptOfAnotherRun_andZeroSteps() throws {
  let journal = try Journal(path: makeTemporaryFolder() + "/journal.sqlite")
  let runs = makeRuns(variants: ["backprop"], seeds: [0, 1])
  _ = try prepare(journal, runs)
  try journal.recordLease(attempt: 1, key: runs[0].key, worker: "w1", at: t0)
  #expect(throws: JournalError.self) {
    try journal.recordCheckpoint(attempt: 1, key: runs[1].key, data: [1], stepsDone: 5, at: t0)
  }
  #expect(throws: JournalError.self) {
    try journal.recordCheckpoint(attempt: 99, key: runs[0].key, data: [1], stepsDone: 5, at: t0)
  }
  #expect(throws: JournalError.self) {
    try journal.recordCheckpoint(attempt: 1, key: runs[0].key, data: [1], stepsDone: 0, at: t0)
  }
  #expect(try journal.checkpointCount() == 0)
}

@Test func outcome_deletesTheRunsCheckpoints_andLaterCheckpointsAreIgnored() throws {
  let journal = try Journal(path: makeTemporaryFolder() + "/journal.sqlite")
  let runs = makeRuns(variants: ["backprop"], seeds: [0])
  _ = try prepare(journal, runs)
  let key = runs[0].key
  try journal.recordLease(attempt: 1, key: key, worker: "w1", at: t0)
  #expect(try journal.recordCheckpoint(attempt: 1, key: key, data: [1], stepsDone: 5, at: t0))
  try journal.recordLease(attempt: 2, key: key, worker: "w1", at: t0)
  #expect(
    try journal.recordOutcome(attempt: 2, key: key, worker: "w1", outcome: sampleOutcome, seconds: 1, at: t0))
  #expect(try journal.checkpointCount() == 0)
  #expect(try !journal.recordCheckpoint(attempt: 2, key: key, data: [2], stepsDone: 10, at: t0))
  #expect(try journal.latestCheckpoints().isEmpty)
}

@Test func migrations_areAppendOnly() throws {
  #expect(
    Journal.migrator.migrations == [
      "v1", "v2", "v3-checkpoint-build", "v4-no-leased-index", "v5-attempt-holder", "v6-checksums",
      "v7-artifacts", "v8-attempt-logs", "v9-kept-runs", "v10-workers",
    ])
}

@Test func outcome_deletesACheckpointRecordedAfterAnOutcomeHadFoundNone() throws {
  let journal = try Journal(path: makeTemporaryFolder() + "/journal.sqlite")
  let runs = makeRuns(variants: ["backprop"], seeds: [0, 1])
  _ = try prepare(journal, runs)
  try journal.recordLease(attempt: 1, key: runs[0].key, worker: "w", at: t0)
  #expect(
    try journal.recordOutcome(
      attempt: 1, key: runs[0].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0))
  try journal.recordLease(attempt: 2, key: runs[1].key, worker: "w", at: t0)
  #expect(try journal.recordCheckpoint(attempt: 2, key: runs[1].key, data: [1], stepsDone: 5, at: t0))
  try journal.recordLease(attempt: 3, key: runs[1].key, worker: "w", at: t0)
  #expect(
    try journal.recordOutcome(
      attempt: 3, key: runs[1].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0))
  #expect(try journal.checkpointCount() == 0)
}
