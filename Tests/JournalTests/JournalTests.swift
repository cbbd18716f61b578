import Foundation
import GRDB
import SweepModel
import Testing

@testable import Journal

/// A fresh folder under the temporary directory; the journal goes in `<folder>/journal.sqlite`.
func makeTemporaryFolder() -> String {
  FileManager.default.temporaryDirectory.appendingPathComponent("journal-tests-\(UUID().uuidString)").path
}

func makeRuns(variants: [String], seeds: [UInt64]) -> [RunSpec] {
  var runs: [RunSpec] = []
  for variant in variants {
    for seed in seeds {
      runs.append(
        RunSpec(
          ordinal: runs.count, experiment: "geoff", variant: variant,
          parameters: ["algorithm": .string(variant), "step_size": .double(0.001), "examples": .int(5000)],
          seed: seed))
    }
  }
  return runs
}

func prepare(_ journal: Journal, _ runs: [RunSpec], name: String = "crossprop-geoff") throws -> PrepareSummary
{
  try journal.prepare(
    sweepName: name, experiment: "geoff", specHash: SHA256.hex("name: \(name)\n"),
    specText: "name: \(name)\n",
    runs: runs)
}

let t0 = Date(timeIntervalSince1970: 1_700_000_000)
let sampleOutcome = Outcome(
  metrics: [Metric("error_task1", 0.25), Metric("u_drift", -1.5)],
  series: [Series(name: "error", xStart: 100, xStep: 100, values: [0.5, 0.25, 0.125])])

@Test func recordOutcome_acceptsExactlyOneOutcomePerRun_andDiscardsTheSecond() throws {
  let journal = try Journal(path: makeTemporaryFolder() + "/journal.sqlite")
  let runs = makeRuns(variants: ["backprop"], seeds: [0])
  _ = try prepare(journal, runs)
  let key = runs[0].key
  try journal.recordLease(attempt: 1, key: key, worker: "w1", at: t0)
  try journal.recordExpired(attempt: 1, at: t0.addingTimeInterval(30))
  try journal.recordLease(attempt: 2, key: key, worker: "w2", at: t0.addingTimeInterval(31))

  #expect(
    try journal.recordOutcome(attempt: 2, key: key, worker: "w2", outcome: sampleOutcome, seconds: 3, at: t0))
  // The expired attempt's late result loses.
  let other = Outcome(metrics: [Metric("error_task1", 9)])
  #expect(try !journal.recordOutcome(attempt: 1, key: key, worker: "w1", outcome: other, seconds: 4, at: t0))
  #expect(try journal.attemptState(1) == "discarded")
  #expect(try journal.attemptState(2) == "succeeded")

  let finished = try journal.finishedRuns()
  #expect(finished.count == 1)
  #expect(finished[0].outcome == sampleOutcome)
  #expect(finished[0].attempt == 2)
  #expect(finished[0].worker == "w2")
  #expect(try journal.pendingRuns().isEmpty)
  #expect(try journal.counts() == JournalCounts(total: 1, done: 1, failed: 0, pending: 0, leased: 0))
}

@Test func recordOutcome_acceptsLateResultOfExpiredAttempt_whenRunHasNoOutcome() throws {
  let journal = try Journal.temporary()
  let runs = makeRuns(variants: ["backprop"], seeds: [0])
  _ = try prepare(journal, runs)
  try journal.recordLease(attempt: 7, key: runs[0].key, worker: "w1", at: t0)
  try journal.recordExpired(attempt: 7, at: t0)
  #expect(
    try journal.recordOutcome(
      attempt: 7, key: runs[0].key, worker: "w1", outcome: sampleOutcome, seconds: 1, at: t0))
  #expect(try journal.attemptState(7) == "succeeded")
}

@Test func schema_rejectsInvalidStatusAndKey_throughCheckConstraints() throws {
  let journal = try Journal.temporary()
  let runs = makeRuns(variants: ["backprop"], seeds: [0])
  _ = try prepare(journal, runs)
  #expect(throws: (any Error).self) {
    try journal.executeRawSQL("UPDATE runs SET status = 'running'")
  }
  #expect(throws: (any Error).self) {
    try journal.executeRawSQL(
      "INSERT INTO runs (key, experiment, variant, parameters_json, seed) VALUES ('abc', 'geoff', 'v', '{}', 0)"
    )
  }
  #expect(throws: (any Error).self) {
    try journal.executeRawSQL("UPDATE runs SET failures = -1")
  }
  // A failed run must carry its error text.
  #expect(throws: (any Error).self) {
    try journal.executeRawSQL("UPDATE runs SET status = 'failed'")
  }
  // Foreign keys are on: an attempt for an unknown run is refused.
  #expect(throws: (any Error).self) {
    try journal.executeRawSQL(
      "INSERT INTO attempts (id, run_key, worker, started_at, state) VALUES (5, '\(String(repeating: "a", count: 64))', 'w', 'x', 'leased')"
    )
  }
  #expect(try journal.pendingRuns().count == 1)
}

@Test func prepare_withWidenedGrid_reusesFinishedRunsByKey() throws {
  let journal = try Journal.temporary()
  let narrow = makeRuns(variants: ["backprop", "crossprop"], seeds: [0, 1])
  let first = try prepare(journal, narrow)
  #expect(first == PrepareSummary(total: 4, alreadyDone: 0, failed: 0, pending: 4))
  for (i, run) in narrow.enumerated() where run.variant == "crossprop" {
    try journal.recordLease(attempt: UInt64(i + 1), key: run.key, worker: "w", at: t0)
    #expect(
      try journal.recordOutcome(
        attempt: UInt64(i + 1), key: run.key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0))
  }

  // Widen: a new variant first (so every ordinal moves) and a third seed.
  let wide = makeRuns(variants: ["adam", "backprop", "crossprop"], seeds: [0, 1, 2])
  let second = try prepare(journal, wide)
  #expect(second == PrepareSummary(total: 9, alreadyDone: 2, failed: 0, pending: 7))
  let pending = try journal.pendingRuns()
  #expect(pending.map(\.ordinal) == [0, 1, 2, 3, 4, 5, 8])
  #expect(pending == wide.filter { !($0.variant == "crossprop" && $0.seed < 2) })
  let finished = try journal.finishedRuns()
  #expect(finished.map(\.run) == [wide[6], wide[7]])
  #expect(try journal.maxAttemptID() == 4)

  // Narrowing again detaches the runs that left the spec, without losing them.
  let third = try prepare(journal, makeRuns(variants: ["crossprop"], seeds: [0]))
  #expect(third == PrepareSummary(total: 1, alreadyDone: 1, failed: 0, pending: 0))
  #expect(try journal.counts().total == 1)
}

@Test func prepare_writesOnlyTheRunsThatChange_evenWhenOrdinalsSwap() throws {
  let path = makeTemporaryFolder() + "/journal.sqlite"
  let journal = try Journal(path: path)
  let runs = makeRuns(variants: ["backprop", "crossprop"], seeds: [0, 1])
  _ = try prepare(journal, runs)
  // Count the run rows the next prepares write.
  try journal.executeRawSQL(
    """
    CREATE TABLE run_writes (key TEXT NOT NULL);
    CREATE TRIGGER count_updates AFTER UPDATE ON runs BEGIN INSERT INTO run_writes VALUES (new.key); END;
    CREATE TRIGGER count_inserts AFTER INSERT ON runs BEGIN INSERT INTO run_writes VALUES (new.key); END;
    """)
  let reader = try DatabaseQueue(path: path)
  func writes() throws -> Int {
    try reader.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM run_writes")! }
  }

  // The same runs again (a resume): nothing to write.
  #expect(try prepare(journal, runs) == PrepareSummary(total: 4, alreadyDone: 0, failed: 0, pending: 4))
  #expect(try writes() == 0)

  // The variants in the other order: every run takes another's ordinal (detached, then attached).
  let swapped = makeRuns(variants: ["crossprop", "backprop"], seeds: [0, 1])
  _ = try prepare(journal, swapped)
  #expect(try writes() == 8)
  #expect(try journal.pendingRuns() == swapped)

  // A renamed variant is rewritten alone; a dropped seed is only detached.
  var renamed = Array(swapped.prefix(3))
  renamed[2].variant = "bp"
  try journal.executeRawSQL("DELETE FROM run_writes")
  _ = try prepare(journal, renamed)
  #expect(try writes() == 3)  // run 2 detached and attached again, run 3 detached
  #expect(try journal.pendingRuns() == renamed)
  #expect(try journal.counts().total == 3)
}

@Test func prepare_refusesAnotherSweepsJournal_withReadableMessage() throws {
  let path = makeTemporaryFolder() + "/journal.sqlite"
  let journal = try Journal(path: path)
  _ = try prepare(journal, makeRuns(variants: ["a"], seeds: [0]), name: "a")
  do {
    _ = try prepare(journal, makeRuns(variants: ["a"], seeds: [0]), name: "b")
    Issue.record("a different sweep name was accepted")
  } catch let error as JournalError {
    #expect(error.code == .sweepMismatch)
    #expect(error.message == "\(path) belongs to sweep 'a', not 'b'. Pass --out to choose another folder.")
  }
  #expect(try journal.sweepInfo()?.name == "a")
}

@Test func prepare_refusesTwoRunsWithTheSameKey() throws {
  let journal = try Journal.temporary()
  var runs = makeRuns(variants: ["a"], seeds: [0])
  runs.append(RunSpec(ordinal: 1, experiment: "geoff", variant: "b", parameters: runs[0].parameters, seed: 0))
  #expect(throws: JournalError.self) { try prepare(journal, runs) }
  #expect(try journal.sweepInfo() == nil)
}

@Test func reopen_afterCoordinatorDies_keepsEverything_andExpiresLeasedAttempts() throws {
  let path = makeTemporaryFolder() + "/results/sweep/journal.sqlite"
  let runs = makeRuns(variants: ["backprop", "crossprop"], seeds: [0, 1])
  let dying = try Journal(path: path)
  _ = try prepare(dying, runs)
  try dying.recordLease(attempt: 1, key: runs[0].key, worker: "w1", at: t0)
  #expect(
    try dying.recordOutcome(
      attempt: 1, key: runs[0].key, worker: "w1", outcome: sampleOutcome, seconds: 2, at: t0))
  try dying.recordLease(attempt: 2, key: runs[1].key, worker: "w1", at: t0)
  try dying.recordLease(attempt: 3, key: runs[2].key, worker: "w2", at: t0)

  // The first coordinator never closes or checkpoints (it was killed); a new one opens the file.
  try withExtendedLifetime(dying) {
    let reopened = try Journal(path: path)
    #expect(reopened.expiredOnOpen == 2)
    #expect(try reopened.attemptState(1) == "succeeded")
    #expect(try reopened.attemptState(2) == "expired")
    #expect(try reopened.attemptState(3) == "expired")
    #expect(try reopened.maxAttemptID() == 3)
    #expect(try reopened.counts() == JournalCounts(total: 4, done: 1, failed: 0, pending: 3, leased: 0))
    #expect(try reopened.pendingRuns() == Array(runs[1...]))
    #expect(try reopened.finishedRuns().map(\.outcome) == [sampleOutcome])
    #expect(try reopened.sweepInfo()?.specText == "name: crossprop-geoff\n")
    #expect(try prepare(reopened, runs) == PrepareSummary(total: 4, alreadyDone: 1, failed: 0, pending: 3))
  }
}

@Test func journal_isInWALMode() throws {
  let path = makeTemporaryFolder() + "/journal.sqlite"
  let journal = try Journal(path: path)
  #expect(try journal.journalMode() == "wal")
  _ = try prepare(journal, makeRuns(variants: ["a"], seeds: [0]))
  #expect(FileManager.default.fileExists(atPath: path + "-wal"))
}

@Test func attemptLogs_areKeptPerAttempt_andFoundByKeyPrefixOrVariantAndSeed() throws {
  let journal = try Journal.temporary()
  let runs = makeRuns(variants: ["a", "b"], seeds: [0, 1])
  _ = try prepare(journal, runs)
  let key = runs[2].key
  try journal.recordLease(attempt: 1, key: key, worker: "w1", at: t0)
  _ = try journal.recordFailure(attempt: 1, key: key, message: "exited with status 1", retryLimit: 3, at: t0)
  try journal.recordAttemptLog(attempt: 1, log: Array("--- standard error ---\nboom \u{1F4A5}\n".utf8))
  try journal.recordLease(attempt: 2, key: key, worker: "w2", at: t0)
  _ = try journal.recordOutcome(
    attempt: 2, key: key, worker: "w2", outcome: sampleOutcome, seconds: 1, at: t0)
  try journal.recordAttemptLog(attempt: 2, log: [])  // nothing printed: no row
  try journal.recordLease(attempt: 3, key: runs[0].key, worker: "w1", at: t0)

  let history = try journal.attemptHistory(of: key)
  #expect(history.map(\.attempt) == [1, 2])
  #expect(history.map(\.state) == ["failed", "succeeded"])
  #expect(history[0].worker == "w1" && history[0].message == "exited with status 1")
  #expect(history[0].log == "--- standard error ---\nboom \u{1F4A5}\n")
  #expect(history[1].log == nil && history[1].endedAt != nil)
  let leased = try journal.attemptHistory(of: runs[0].key)
  #expect(leased.count == 1 && leased[0].state == "leased" && leased[0].endedAt == nil)

  #expect(try journal.runs(withKeyPrefix: String(key.hex.prefix(10))) == [runs[2]])
  #expect(try journal.runs(withKeyPrefix: "").count == 4)
  #expect(try journal.runs(variant: runs[2].variant, seed: runs[2].seed) == [runs[2]])
  #expect(try journal.runs(variant: "nope", seed: 0).isEmpty)
}

@Test func keptRuns_areReplacedAsAWhole_andListOnlyAttachedRuns_andDoneRunsAreFoundByParameter() throws {
  let journal = try Journal.temporary()
  func runs(_ hash: String) -> [RunSpec] {
    (0..<2).map {
      RunSpec(
        ordinal: $0, experiment: "command", variant: "v", parameters: ["program_sha256": .string(hash)],
        seed: UInt64($0))
    }
  }
  let old = runs("aa")
  _ = try journal.prepare(sweepName: "s", experiment: "command", specHash: "h", specText: "t", runs: old)
  try journal.recordLease(attempt: 1, key: old[0].key, worker: "w", at: t0)
  _ = try journal.recordOutcome(
    attempt: 1, key: old[0].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0)
  let done = try journal.doneRuns(withParameter: "program_sha256")
  #expect(done.map(\.run) == [old[0]] && done[0].isAttached && !done[0].finishedAt.isEmpty)
  #expect(try journal.doneRuns(withParameter: "dataset_sha256").isEmpty)

  let new = runs("bb")
  try journal.recordKept([old[0].key: new[0].key])
  #expect(try journal.keptRunKeys() == [old[0].key: new[0].key])
  #expect(try journal.keptRuns() == [KeptRun(run: old[0], insteadOf: new[0].key)])
  // Prepared without the kept run, it is no longer listed; recording nothing clears the table.
  _ = try journal.prepare(sweepName: "s", experiment: "command", specHash: "h", specText: "t", runs: new)
  #expect(try journal.keptRuns().isEmpty)
  #expect(try !journal.doneRuns(withParameter: "program_sha256")[0].isAttached)
  try journal.recordKept([:])
  #expect(try journal.keptRunKeys().isEmpty)
}

@Test func aJournalFromBeforeLogsAndKeptRuns_readOnly_readsAsHavingNone_andMigratesWhenWritten() throws {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("old-\(UUID().uuidString).sqlite")
    .path
  let runs = makeRuns(variants: ["a"], seeds: [0])
  do {
    let journal = try Journal(path: path)
    _ = try prepare(journal, runs)
    try journal.recordLease(attempt: 1, key: runs[0].key, worker: "w", at: t0)
    try journal.recordAttemptLog(attempt: 1, log: [65])
  }
  // As a build before v8 left it.
  let queue = try DatabaseQueue(path: path)
  try queue.write { db in
    try db.execute(sql: "DROP TABLE kept_runs; DROP TABLE attempt_logs")
    try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier IN ('v8-attempt-logs', 'v9-kept-runs')")
  }
  try queue.close()
  let old = try Journal(path: path, readOnly: true)
  #expect(try old.keptRuns().isEmpty && old.keptRunKeys().isEmpty)
  #expect(try old.attemptHistory(of: runs[0].key).map(\.log) == [nil])
  let migrated = try Journal(path: path)
  try migrated.recordAttemptLog(attempt: 1, log: [66])
  #expect(try migrated.attemptHistory(of: runs[0].key).map(\.log) == ["B"])
}

@Test func recordFailure_retriesUntilLimit_thenMarksRunFailedWithError() throws {
  let journal = try Journal.temporary()
  let runs = makeRuns(variants: ["a", "b"], seeds: [0])
  _ = try prepare(journal, runs)
  let key = runs[0].key
  var dispositions: [RunFailureDisposition] = []
  for attempt in UInt64(1)...3 {
    try journal.recordLease(attempt: attempt, key: key, worker: "w", at: t0)
    dispositions.append(
      try journal.recordFailure(
        attempt: attempt, key: key, message: "NaN in step \(attempt)", retryLimit: 3, at: t0))
  }
  #expect(dispositions == [.retry, .retry, .failed])
  let failed = try journal.failedRuns()
  #expect(failed.count == 1)
  #expect(failed[0].run == runs[0])
  #expect(failed[0].error == "NaN in step 3")
  #expect(failed[0].failures == 3)
  #expect(try journal.pendingRuns() == [runs[1]])
  #expect(try journal.counts() == JournalCounts(total: 2, done: 0, failed: 1, pending: 1, leased: 0))
  #expect(try journal.attemptState(3) == "failed")

  // A failure reported for a finished run changes nothing but the attempt.
  try journal.recordLease(attempt: 4, key: runs[1].key, worker: "w", at: t0)
  try journal.recordLease(attempt: 5, key: runs[1].key, worker: "w", at: t0)
  #expect(
    try journal.recordOutcome(
      attempt: 4, key: runs[1].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0))
  #expect(
    try journal.recordFailure(attempt: 5, key: runs[1].key, message: "x", retryLimit: 1, at: t0)
      == .alreadyDone)
  #expect(try journal.counts().done == 1)
}

@Test func recordLease_refusesReusedAttemptIDAndUnknownRun() throws {
  let journal = try Journal.temporary()
  let runs = makeRuns(variants: ["a"], seeds: [0, 1])
  _ = try prepare(journal, runs)
  try journal.recordLease(attempt: 1, key: runs[0].key, worker: "w", at: t0)
  #expect(throws: JournalError.self) {
    try journal.recordLease(attempt: 1, key: runs[1].key, worker: "w", at: t0)
  }
  #expect(throws: JournalError.self) {
    try journal.recordLease(
      attempt: 2, key: RunKey(hex: String(repeating: "0", count: 64)), worker: "w", at: t0)
  }
  // An outcome reported against the wrong run is refused.
  #expect(throws: JournalError.self) {
    try journal.recordOutcome(
      attempt: 1, key: runs[1].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0)
  }
}

@Test func coordinatorBugs_areRefusedWithTheirOwnErrors_andLeaveTheJournalAsItWas() throws {
  let journal = try Journal(path: makeTemporaryFolder() + "/journal.sqlite")
  let runs = makeRuns(variants: ["backprop"], seeds: [0, 1])
  _ = try prepare(journal, runs)
  func code(_ body: () throws -> Void) -> JournalError.Code? {
    do { try body() } catch let error as JournalError { return error.code } catch { return nil }
    return nil
  }
  let stranger = RunKey(hex: String(repeating: "f", count: 64))
  #expect(code { try journal.recordLease(attempt: 1, key: stranger, worker: "w", at: t0) } == .unknownRun)
  try journal.recordLease(attempt: 1, key: runs[0].key, worker: "w", at: t0)
  #expect(
    code { try journal.recordLease(attempt: 1, key: runs[1].key, worker: "w", at: t0) } == .unknownAttempt)
  #expect(
    code {
      _ = try journal.recordOutcome(
        attempt: 9, key: runs[0].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0)
    }
      == .unknownAttempt)
  #expect(
    code {
      _ = try journal.recordOutcome(
        attempt: 1, key: runs[1].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0)
    }
      == .attemptMismatch)
  #expect(try journal.attemptState(1) == "leased")
  #expect(try journal.finishedRuns().isEmpty)
  // The same result twice: recorded once, the repeat changes nothing.
  #expect(
    try journal.recordOutcome(
      attempt: 1, key: runs[0].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0))
  #expect(
    try !journal.recordOutcome(
      attempt: 1, key: runs[0].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0))
  #expect(try journal.attemptState(1) == "succeeded")
  #expect(try journal.counts() == JournalCounts(total: 2, done: 1, failed: 0, pending: 1, leased: 0))
}

@Test func pendingRuns_inKeyOrder_areTheSameRuns_sortedByRunKey() throws {
  let journal = try Journal(path: makeTemporaryFolder() + "/journal.sqlite")
  let runs = makeRuns(variants: ["adam", "backprop", "crossprop"], seeds: [0, 1, 2, 3])
  _ = try prepare(journal, runs)
  let byOrdinal = try journal.pendingRuns()
  let byKey = try journal.pendingRuns(inKeyOrder: true)
  #expect(byOrdinal.map(\.ordinal) == Array(0..<12))
  #expect(byKey.map(\.key.hex) == runs.map(\.key.hex).sorted())
  #expect(byKey.map(\.ordinal) != byOrdinal.map(\.ordinal))
}

@Test func outcomesOfABatch_markRunsAndAttempts_beforeAnyOtherRecordOrReadSeesThem() throws {
  let journal = try Journal.temporary()
  // 50 runs: one statement marks 32 of the first 40, the other 8 are marked a row at a time.
  let runs = makeRuns(variants: ["a", "b"], seeds: Array(0..<25))
  _ = try prepare(journal, runs)
  let (t1, t2) = (t0.addingTimeInterval(1), t0.addingTimeInterval(2))
  try journal.batch {
    for (i, run) in runs.enumerated() {
      try journal.recordLease(attempt: UInt64(i + 1), key: run.key, worker: "w", at: t0)
    }
  }
  var lateFailure: RunFailureDisposition?
  try journal.batch {
    for (i, run) in runs.enumerated().prefix(40) {
      #expect(
        try journal.recordOutcome(
          attempt: UInt64(i + 1), key: run.key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t1))
    }
    #expect(try journal.counts().done == 40)
    // A failure of a run whose outcome came earlier in the same batch finds it done.
    lateFailure = try journal.recordFailure(
      attempt: 1, key: runs[0].key, message: "late", retryLimit: 1, at: t1)
    for (i, run) in runs.enumerated().dropFirst(40) {
      #expect(
        try journal.recordOutcome(
          attempt: UInt64(i + 1), key: run.key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t2))
    }
  }
  #expect(lateFailure == .alreadyDone)
  #expect(try journal.counts() == JournalCounts(total: 50, done: 50, failed: 0, pending: 0, leased: 0))
  let reader = try DatabaseQueue(path: journal.path)
  let ended = try reader.read { db in
    try Row.fetchAll(
      db,
      sql: "SELECT state, ended_at, count(*) AS n FROM attempts GROUP BY state, ended_at ORDER BY ended_at")
  }
  #expect(
    ended.map { [$0["state"], $0["ended_at"], $0["n"]] as [DatabaseValue] } == [
      ["succeeded".databaseValue, t1.databaseValue, 40.databaseValue],
      ["succeeded".databaseValue, t2.databaseValue, 10.databaseValue],
    ])
}

@Test func aBatchThatThrows_leavesNoMarkOfItsOutcomesBehind() throws {
  struct Stop: Error {}
  let journal = try Journal.temporary()
  let runs = makeRuns(variants: ["a"], seeds: Array(0..<40))
  _ = try prepare(journal, runs)
  for (i, run) in runs.enumerated() {
    try journal.recordLease(attempt: UInt64(i + 1), key: run.key, worker: "w", at: t0)
  }
  #expect(throws: JournalError.self) {  // the journal names itself around the error
    try journal.batch {
      for (i, run) in runs.enumerated().prefix(39) {
        _ = try journal.recordOutcome(
          attempt: UInt64(i + 1), key: run.key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0)
      }
      throw Stop()
    }
  }
  #expect(try journal.counts().done == 0)
  try journal.batch {
    _ = try journal.recordOutcome(
      attempt: 40, key: runs[39].key, worker: "w", outcome: sampleOutcome, seconds: 1, at: t0)
  }
  #expect(try journal.counts() == JournalCounts(total: 40, done: 1, failed: 0, pending: 0, leased: 39))
  #expect(try journal.attemptState(1) == "leased")
  #expect(try journal.attemptState(40) == "succeeded")
}

@Test func leasesOfABatch_areInsertedTogether_yetABadOneIsNamed_andAnOutcomeFindsItsLease() throws {
  func code(_ body: () throws -> Void) -> JournalError.Code? {
    do { try body() } catch let error as JournalError { return error.code } catch { return nil }
    return nil
  }
  let journal = try Journal.temporary()
  let runs = makeRuns(variants: ["a"], seeds: Array(0..<40))
  _ = try prepare(journal, runs)
  // An outcome of a lease made earlier in the same batch (its lease is written first).
  try journal.batch {
    try journal.recordLease(attempt: 1, key: runs[0].key, worker: "w", at: t0)
    #expect(
      try journal.recordOutcome(
        attempt: 1, key: runs[0].key, worker: "w", outcome: sampleOutcome, seconds: 0, at: t0))
  }
  #expect(try journal.attemptState(1) == "succeeded")
  // One unknown run among 32 leases of a statement: named, and the batch leaves nothing behind.
  let stranger = RunKey(hex: String(repeating: "f", count: 64))
  let unknownRun = code {
    try journal.batch {
      for i in 1..<32 {
        try journal.recordLease(attempt: UInt64(i + 1), key: runs[i].key, worker: "w", at: t0)
      }
      try journal.recordLease(attempt: 33, key: stranger, worker: "w", at: t0)
    }
  }
  #expect(unknownRun == .unknownRun)
  #expect(try journal.maxAttemptID() == 1)
  // An attempt id used before, among 32: named as such.
  let reused = code {
    try journal.batch {
      try journal.recordLease(attempt: 1, key: runs[1].key, worker: "w", at: t0)
      for i in 2..<33 {
        try journal.recordLease(attempt: UInt64(i), key: runs[i].key, worker: "w", at: t0)
      }
    }
  }
  #expect(reused == .unknownAttempt)
  #expect(try journal.counts() == JournalCounts(total: 40, done: 1, failed: 0, pending: 39, leased: 0))
}
