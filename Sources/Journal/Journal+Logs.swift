import Foundation
import GRDB
import SweepModel

/// One attempt of a run as `metasweep logs` shows it: where and when it ran, how it ended, and
/// what it printed besides its results.
public struct AttemptHistory: Sendable, Equatable {
  public var attempt: UInt64
  public var worker: String
  public var startedAt: String
  /// nil while the attempt is leased.
  public var endedAt: String?
  /// `leased`, `succeeded`, `failed`, `expired` or `discarded`.
  public var state: String
  /// Why it ended, for an attempt that did not succeed (the error text of a failure).
  public var message: String?
  /// What it printed (nil when its report carried no log: a built-in experiment, or a report not
  /// received yet).
  public var log: String?
}

// Attempt logs: a user's program's standard output (its lines that are not results) and standard
// error, bounded by the worker, journaled with the attempt's report. Logs are not results: no
// checksum, never tabulated; a run's outcome does not depend on them.
extension Journal {
  /// v8: one row per attempt whose report carried a log.
  static let schemaAttemptLogs = """
    CREATE TABLE attempt_logs (
      attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id),
      log BLOB NOT NULL
    ) STRICT;
    """

  /// Records what attempt `attempt` printed (its report's log); a report received again (resent
  /// to a restarted coordinator) replaces it with the same bytes. Does nothing for an empty log.
  public func recordAttemptLog(attempt: UInt64, log: [UInt8]) throws {
    guard !log.isEmpty else { return }
    try write("record the log of attempt \(attempt)") { db in
      if uninsertedIDs.contains(attempt) { try insertLeases(db) }
      try db.execute(
        sql: "INSERT OR REPLACE INTO attempt_logs (attempt_id, log) VALUES (?, ?)",
        arguments: [Int64(bitPattern: attempt), Data(log)])
    }
  }

  /// The runs whose key starts with `prefix` (lower-case hex), in key order.
  public func runs(withKeyPrefix prefix: String) throws -> [RunSpec] {
    try read("runs by key prefix") { db in
      var parsed: [String: Parameters] = [:]
      return try Row.fetchAll(
        db, sql: "SELECT \(Self.runColumns) FROM runs WHERE substr(key, 1, ?) = ? ORDER BY key",
        arguments: [prefix.utf8.count, prefix]
      ).map { try runSpec($0, parsed: &parsed) }
    }
  }

  /// The runs of the current spec with this variant and seed.
  public func runs(variant: String, seed: UInt64) throws -> [RunSpec] {
    try read("runs by variant and seed") { db in
      var parsed: [String: Parameters] = [:]
      return try Row.fetchAll(
        db,
        sql:
          "SELECT \(Self.runColumns) FROM runs WHERE ordinal IS NOT NULL AND variant = ? AND seed = ? ORDER BY key",
        arguments: [variant, Int64(bitPattern: seed)]
      ).map { try runSpec($0, parsed: &parsed) }
    }
  }

  /// Every attempt of run `key`, oldest first, with its log.
  public func attemptHistory(of key: RunKey) throws -> [AttemptHistory] {
    try read("the attempts of run \(key.short)") { db in
      // A journal written before v8, opened read-only (unmigrated), has no logs.
      let logs =
        try db.tableExists("attempt_logs")
        ? "(SELECT log FROM attempt_logs l WHERE l.attempt_id = a.id)" : "NULL"
      return try Row.fetchAll(
        db,
        sql: """
          SELECT a.id, a.worker, a.started_at, a.ended_at, a.state, a.message, \(logs)
          FROM attempts a WHERE a.run_key = ? ORDER BY a.id
          """, arguments: [key.hex]
      ).map { row in
        AttemptHistory(
          attempt: UInt64(bitPattern: row[0]), worker: row[1], startedAt: row[2], endedAt: row[3],
          state: row[4],
          message: row[5], log: (row[6] as Data?).map { String(decoding: $0, as: UTF8.self) })
      }
    }
  }
}
