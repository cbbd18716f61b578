import Foundation
import GRDB
import SweepModel

// Attempts: leases, outcomes, failures, expiries, and the batched writes of the hot path.
extension Journal {
  /// The largest attempt id ever recorded (0 when none), so a restarted coordinator continues after it.
  public func maxAttemptID() throws -> UInt64 {
    try read("attempt ids") { db in
      UInt64(bitPattern: try Int64.fetchOne(db, sql: "SELECT max(id) FROM attempts") ?? 0)
    }
  }

  /// Records that attempt `attempt` of run `key` was leased to `worker`, the process `holder`
  /// names (a digest the coordinator makes; nil when unknown).
  ///
  /// Throws `.unknownRun` for a key the journal does not know and `.unknownAttempt` for an id that was
  /// already used (attempt ids are unique forever).
  public func recordLease(
    attempt: UInt64, key: RunKey, worker: String, holder: String? = nil, at time: Date
  ) throws {
    try write("record lease \(attempt)", lettingRowsWait: true) { db in
      uninserted.append((attempt, key, worker, holder, stamp(time)))
      uninsertedIDs.insert(attempt)
      // In a batch the lease waits for more (see `write(_:lettingRowsWait:_:)`).
      if batchDatabase == nil { try insertLeases(db) }
    }
  }

  /// Inserts the batch's leases, many rows a statement. A statement the schema refuses is retried
  /// a row at a time, to name the attempt or run it refused.
  func insertLeases(_ db: Database) throws {
    guard !uninserted.isEmpty else { return }
    let leases = uninserted
    uninserted.removeAll(keepingCapacity: true)
    uninsertedIDs.removeAll(keepingCapacity: true)
    let width = HotSQL.rowsPerStatement
    let whole = leases.count - leases.count % width
    for start in stride(from: 0, to: whole, by: width) {
      let insert = try hot(db, sql: HotSQL.insertLeases)
      for (offset, lease) in leases[start..<start + width].enumerated() {
        let column = Int32(5 * offset)
        insert.bind(column + 1, Int64(bitPattern: lease.attempt))
        insert.bind(column + 2, lease.key.hex)
        insert.bind(column + 3, lease.worker)
        insert.bind(column + 4, lease.holder)
        insert.bind(column + 5, lease.stamp)
      }
      do {
        try insert.execute()
      } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
        // SQLite undid the whole statement: the rows again, one at a time.
        for lease in leases[start..<start + width] { try insertLease(db, lease) }
      }
    }
    for lease in leases[whole...] { try insertLease(db, lease) }
  }

  func insertLease(_ db: Database, _ lease: WaitingLease) throws {
    // The schema checks both (the run's foreign key, the attempt's primary key); the coordinator's
    // hot path pays for one statement, and only a refused insert is diagnosed.
    do {
      let insert = try hot(db, .insertLease)
      insert.bind(1, Int64(bitPattern: lease.attempt))
      insert.bind(2, lease.key.hex)
      insert.bind(3, lease.worker)
      insert.bind(4, lease.holder)
      insert.bind(5, lease.stamp)
      try insert.execute()
    } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
      try requireRun(db, lease.key)
      // Anything else the schema refused (a CHECK) is reported as SQLite said it.
      guard
        try Int.fetchOne(
          db, sql: "SELECT 1 FROM attempts WHERE id = ?", arguments: [Int64(bitPattern: lease.attempt)])
          != nil
      else { throw error }
      throw JournalError(
        .unknownAttempt,
        "Attempt \(lease.attempt) is already in the journal \(path); attempt ids are never reused. "
          + "This is a coordinator bug: report it with the journal file.")
    }
  }

  /// Records the outcome of attempt `attempt`: inserts it, marks the run done and the attempt
  /// succeeded, in one transaction. Returns false, and marks the attempt `discarded`, when the run
  /// already has an outcome (exactly one outcome per run; a late or duplicate result loses).
  ///
  /// A result of an attempt that had expired is still accepted when its run has no outcome, and it
  /// also rescues a run that had been marked failed.
  public func recordOutcome(
    attempt: UInt64, key: RunKey, worker: String, outcome: Outcome, seconds: Double, at time: Date
  ) throws -> Bool {
    let metrics = OutcomeBlob.encode(metrics: outcome.metrics)
    let series = OutcomeBlob.encode(series: outcome.series)
    let artifacts = try storeArtifacts(outcome.artifacts)
    return try write("record the outcome of attempt \(attempt)", lettingRowsWait: true) { db in
      if uninsertedIDs.contains(attempt) { try insertLeases(db) }
      let id = Int64(bitPattern: attempt)
      // One statement on the hot path: the outcome's foreign key checks that the attempt was leased
      // for this run, and its primary key that the run has no outcome yet.
      let inserted: Bool
      do {
        let insert = try hot(db, .insertOutcome)
        insert.bind(1, key.hex)
        insert.bind(2, id)
        insert.bind(3, worker)
        insert.bind(4, seconds)
        insert.bind(5, stamp(time))
        insert.bind(6, metrics)
        insert.bind(7, series)
        insert.bind(
          8,
          Data(
            RecordChecksum.outcome(
              key: key.hex, attempt: id, metrics: metrics, series: series, artifacts: artifacts)))
        inserted = try insert.execute() == 1
      } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
        try requireAttempt(db, attempt, of: key)
        throw error
      }
      guard inserted else {
        let winner = try Int64.fetchOne(
          db.cachedStatement(sql: "SELECT attempt_id FROM outcomes WHERE run_key = ?"), arguments: [key.hex])
        if let winner, winner != id {
          try requireAttempt(db, attempt, of: key)
          try db.execute(
            sql:
              "UPDATE attempts SET state = 'discarded', ended_at = coalesce(ended_at, ?), message = ? WHERE id = ?",
            arguments: [time, "run already has the outcome of attempt \(UInt64(bitPattern: winner))", id])
        }
        return false
      }
      if !artifacts.isEmpty {
        try db.execute(sql: "DELETE FROM artifacts WHERE run_key = ?", arguments: [key.hex])
        try insertArtifactRows(db, key: key, artifacts)
      }
      // A finished chain needs no checkpoint any more.
      if try mayHaveCheckpoints(db) {
        try db.cachedStatement(sql: "DELETE FROM checkpoints WHERE run_key = ?").execute(arguments: [key.hex])
      }
      let text = stamp(time)
      if text != unmarkedStamp { try markOutcomes(db) }
      unmarkedStamp = text
      unmarked.append((key.hex, id))
      // In a batch the marks wait for more outcomes (see `write(_:lettingRowsWait:_:)`).
      if batchDatabase == nil { try markOutcomes(db) }
      return true
    }
  }

  /// Records that attempt `attempt` of run `key` failed with `message`.
  ///
  /// Increments the run's failure count; when it reaches `retryLimit` (≥ 1) the run is marked failed
  /// with `message` as its error and `.failed` is returned, otherwise `.retry` (the run stays pending).
  /// A failure of a run that already has an outcome only closes the attempt (`.alreadyDone`).
  public func recordFailure(
    attempt: UInt64, key: RunKey, message: String, retryLimit: Int, at time: Date
  ) throws -> RunFailureDisposition {
    guard retryLimit >= 1 else {
      throw JournalError(
        .invalidArgument, "The retry limit must be at least 1, got \(retryLimit). Pass --retries 1 or more.")
    }
    return try write("record the failure of attempt \(attempt)") { db in
      let id = Int64(bitPattern: attempt)
      try requireAttempt(db, attempt, of: key)
      try db.execute(
        sql:
          "UPDATE attempts SET state = 'failed', ended_at = ?, message = ? WHERE id = ? AND state <> 'succeeded'",
        arguments: [time, message, id])
      let status = try String.fetchOne(db, sql: "SELECT status FROM runs WHERE key = ?", arguments: [key.hex])
      if status == "done" { return .alreadyDone }
      try db.execute(
        sql: """
          UPDATE runs SET failures = failures + 1,
            status = CASE WHEN failures + 1 >= ? THEN 'failed' ELSE status END,
            error = CASE WHEN failures + 1 >= ? THEN ? ELSE error END
          WHERE key = ?
          """, arguments: [retryLimit, retryLimit, message, key.hex])
      let newStatus = try String.fetchOne(
        db, sql: "SELECT status FROM runs WHERE key = ?", arguments: [key.hex])
      return newStatus == "failed" ? .failed : .retry
    }
  }

  /// Records that attempt `attempt` delivered a result that was ignored because its run already had
  /// an outcome (or is not part of this sweep). An unknown attempt (from another journal) is skipped.
  public func recordDiscarded(attempt: UInt64, at time: Date) throws {
    try write("record the discarded result of attempt \(attempt)") { db in
      try db.execute(
        sql: """
          UPDATE attempts SET state = 'discarded', ended_at = coalesce(ended_at, ?),
            message = 'result ignored: the run already had an outcome'
          WHERE id = ? AND state <> 'succeeded'
          """, arguments: [time, Int64(bitPattern: attempt)])
    }
  }

  /// The attempts of runs still pending in the current spec, so a restarted coordinator can tell
  /// a late result of its previous life from a forged one.
  public func attemptsOfPendingRuns() throws -> [UInt64: JournalAttempt] {
    try read("attempts of pending runs") { db in
      var attempts: [UInt64: JournalAttempt] = [:]
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT a.id, a.run_key, a.holder FROM attempts a JOIN runs r ON r.key = a.run_key
          WHERE r.status = 'pending' AND r.ordinal IS NOT NULL
          """)
      for row in rows {
        attempts[UInt64(bitPattern: row[0])] = JournalAttempt(key: RunKey(hex: row[1]), holder: row[2])
      }
      return attempts
    }
  }

  /// How many failed attempts each pending run of the current spec has had, so a resumed
  /// coordinator keeps counting towards the retry limit instead of starting again at zero.
  public func failureCounts() throws -> [RunKey: Int] {
    try read("failure counts") { db in
      var counts: [RunKey: Int] = [:]
      let rows = try Row.fetchAll(
        db,
        sql:
          "SELECT key, failures FROM runs WHERE status = 'pending' AND ordinal IS NOT NULL AND failures > 0")
      for row in rows { counts[RunKey(hex: row["key"])] = row["failures"] }
      return counts
    }
  }

  /// Records that attempt `attempt`'s lease expired (its worker went silent or was lost); the run
  /// stays pending. An attempt that already ended is left as it is.
  public func recordExpired(attempt: UInt64, at time: Date) throws {
    try write("record the expiry of attempt \(attempt)") { db in
      let id = Int64(bitPattern: attempt)
      guard try Int.fetchOne(db, sql: "SELECT 1 FROM attempts WHERE id = ?", arguments: [id]) != nil else {
        throw unknownAttempt(attempt)
      }
      try db.execute(
        sql: """
          UPDATE attempts SET state = 'expired', ended_at = ?, message = 'lease expired'
          WHERE id = ? AND state = 'leased'
          """, arguments: [time, id])
    }
  }

  /// The state of attempt `attempt` (`leased`, `succeeded`, `failed`, `expired`, `discarded`), or nil.
  public func attemptState(_ attempt: UInt64) throws -> String? {
    try read("attempt \(attempt)") { db in
      try String.fetchOne(
        db, sql: "SELECT state FROM attempts WHERE id = ?", arguments: [Int64(bitPattern: attempt)])
    }
  }

  /// Writes the batch's waiting leases and marks.
  func writeWaiting(_ db: Database) throws {
    try insertLeases(db)
    try markOutcomes(db)
  }

  /// Marks the runs of the batch's outcomes done and their attempts succeeded, many rows a
  /// statement: one statement a row cost about as much as inserting the outcome.
  func markOutcomes(_ db: Database) throws {
    guard !unmarked.isEmpty else { return }
    let marks = unmarked
    unmarked.removeAll(keepingCapacity: true)
    let width = HotSQL.rowsPerStatement
    let whole = marks.count - marks.count % width
    if whole > 0 {
      let runs = try hot(db, sql: HotSQL.markRunsDone)
      let attempts = try hot(db, sql: HotSQL.markAttemptsSucceeded)
      for start in stride(from: 0, to: whole, by: width) {
        attempts.bind(1, unmarkedStamp)
        for (offset, mark) in marks[start..<start + width].enumerated() {
          runs.bind(Int32(offset + 1), mark.key)
          attempts.bind(Int32(offset + 2), mark.attempt)
        }
        try runs.execute()
        try attempts.execute()
      }
    }
    for mark in marks[whole...] {
      let markDone = try hot(db, .markRunDone)
      markDone.bind(1, mark.key)
      try markDone.execute()
      let markSucceeded = try hot(db, .markAttemptSucceeded)
      markSucceeded.bind(1, unmarkedStamp)
      markSucceeded.bind(2, mark.attempt)
      try markSucceeded.execute()
    }
  }
}
