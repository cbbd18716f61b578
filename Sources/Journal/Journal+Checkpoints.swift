import Foundation
import GRDB
import SweepModel

// Checkpoints of chained runs: only the latest of each unfinished run is kept.
extension Journal {
  /// How the message of an attempt whose segment ended in a checkpoint starts.
  static let segmentEndedPrefix = "segment ended: "

  /// Records the checkpoint attempt `attempt` of chained run `key` ended its segment with, after
  /// `stepsDone` steps of the run, and closes the attempt (its lease is over; the run stays pending
  /// and continues from this checkpoint). Older checkpoints of the run are deleted.
  ///
  /// Returns false, recording nothing, when the run already has an outcome or a checkpoint at least
  /// as far: a checkpoint never goes backwards. Throws `.unknownAttempt` / `.attemptMismatch` for
  /// an attempt that was not leased for `key`, and `.invalidArgument` for `stepsDone` 0.
  @discardableResult
  public func recordCheckpoint(
    attempt: UInt64, key: RunKey, data: [UInt8], stepsDone: UInt64, buildID: String = "", at time: Date
  ) throws -> Bool {
    guard stepsDone > 0, stepsDone <= UInt64(Int64.max) else {
      throw JournalError(
        .invalidArgument, "A checkpoint must be after at least one step and at most 2^63-1, got \(stepsDone)."
      )
    }
    return try write("record the checkpoint of attempt \(attempt)") { db in
      let id = Int64(bitPattern: attempt)
      try requireAttempt(db, attempt, of: key)
      let status = try String.fetchOne(db, sql: "SELECT status FROM runs WHERE key = ?", arguments: [key.hex])
      guard status == "pending" else { return false }
      let latest =
        try Int64.fetchOne(
          db, sql: "SELECT max(steps_done) FROM checkpoints WHERE run_key = ?", arguments: [key.hex])
        ?? 0
      guard Int64(stepsDone) > latest else { return false }
      checkpointsMayExist = true
      try db.execute(
        sql: """
          INSERT INTO checkpoints (run_key, attempt_id, steps_done, data, created_at, build_id, checksum)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          key.hex, id, Int64(stepsDone), Data(data), time, buildID,
          Data(RecordChecksum.checkpoint(key: key.hex, stepsDone: Int64(stepsDone), data: Data(data))),
        ])
      try db.execute(
        sql: "DELETE FROM checkpoints WHERE run_key = ? AND steps_done < ?",
        arguments: [key.hex, Int64(stepsDone)])
      try db.execute(
        sql: """
          UPDATE attempts SET state = 'expired', ended_at = ?, message = ?
          WHERE id = ? AND state = 'leased'
          """, arguments: [time, "\(Self.segmentEndedPrefix)checkpoint at step \(stepsDone)", id])
      return true
    }
  }

  /// The latest checkpoint of each pending chained run of the current spec, so a resumed
  /// coordinator continues every chain where it stopped.
  public func latestCheckpoints() throws -> [RunKey: JournalCheckpoint] {
    try read("checkpoints") { db in
      var out: [RunKey: JournalCheckpoint] = [:]
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT c.run_key, c.attempt_id, c.steps_done, c.data, c.checksum
          FROM checkpoints c JOIN runs r ON r.key = c.run_key
          WHERE r.status = 'pending' AND r.ordinal IS NOT NULL
            AND c.steps_done = (SELECT max(steps_done) FROM checkpoints WHERE run_key = c.run_key)
          """)
      for row in rows {
        let steps: Int64 = row["steps_done"]
        let attempt: Int64 = row["attempt_id"]
        let data: Data = row["data"]
        // A damaged checkpoint is never continued from (``quarantineDamaged(at:)`` removes it).
        let checksum = row["checksum"] as Data?
        guard
          checksum.map({ [UInt8]($0) })
            == RecordChecksum.checkpoint(key: row["run_key"], stepsDone: steps, data: data)
        else { continue }
        out[RunKey(hex: row["run_key"])] = JournalCheckpoint(
          attempt: UInt64(bitPattern: attempt), stepsDone: UInt64(steps), data: [UInt8](data))
      }
      return out
    }
  }

  /// How many checkpoints the journal holds (for status displays and tests).
  public func checkpointCount() throws -> Int {
    try read("checkpoints") { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM checkpoints") ?? 0 }
  }

  /// The builds that wrote the latest checkpoints of pending runs, sorted ("" for unknown).
  public func checkpointBuilds() throws -> [String] {
    try read("checkpoint builds") { db in
      try String.fetchAll(
        db,
        sql: """
          SELECT DISTINCT c.build_id FROM checkpoints c JOIN runs r ON r.key = c.run_key
          WHERE r.status = 'pending' AND r.ordinal IS NOT NULL ORDER BY c.build_id
          """)
    }
  }

  /// Whether the checkpoints table may hold rows: looked up once, then kept by `recordCheckpoint`.
  func mayHaveCheckpoints(_ db: Database) throws -> Bool {
    if let checkpointsMayExist { return checkpointsMayExist }
    let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM checkpoints)") ?? true
    checkpointsMayExist = exists
    return exists
  }
}
