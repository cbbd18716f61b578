import Foundation
import GRDB
import SweepModel

/// A finished run of any version of the sweep, for matching runs across an edit of their program.
public struct DoneRun: Sendable, Equatable {
  public var run: RunSpec
  /// Whether the run belonged to the sweep as last prepared.
  public var isAttached: Bool
  /// When its outcome was recorded (the journal's text stamp, which sorts in time order).
  public var finishedAt: String
}

/// A run the sweep keeps in place of another: its outcome, made by an earlier version of the
/// program, stands for the run the current program would make.
public struct KeptRun: Sendable, Equatable {
  /// The kept run (attached to the sweep, done).
  public var run: RunSpec
  /// The key of the run of the current program it stands in for.
  public var insteadOf: RunKey

  public init(run: RunSpec, insteadOf: RunKey) {
    self.run = run
    self.insteadOf = insteadOf
  }
}

// Kept runs: `--keep-results` keeps the outcomes of runs whose program was edited since they ran,
// in place of the runs the edited program would make. The table holds what the sweep as last
// prepared keeps, and is rewritten by every prepare.
extension Journal {
  /// v9: one row per kept run.
  static let schemaKeptRuns = """
    CREATE TABLE kept_runs (
      run_key TEXT PRIMARY KEY NOT NULL REFERENCES runs(key),
      instead_of TEXT NOT NULL CHECK (length(instead_of) = 64 AND instead_of NOT GLOB '*[^0-9a-f]*'),
      kept_at TEXT NOT NULL
    ) STRICT;
    """

  /// Every done run whose parameters hold `parameter`, attached or not, with when it finished.
  public func doneRuns(withParameter parameter: String) throws -> [DoneRun] {
    try read("done runs with \(parameter)") { db in
      var parsed: [String: Parameters] = [:]
      return try Row.fetchAll(
        db,
        sql: """
          SELECT \(Self.runColumns), o.finished_at FROM runs JOIN outcomes o ON o.run_key = runs.key
          WHERE runs.status = 'done' AND instr(runs.parameters_json, ?) > 0
          """, arguments: [CanonicalJSON.quote(parameter) + ":"]
      ).map { row in
        DoneRun(run: try runSpec(row, parsed: &parsed), isAttached: row[1] as Int? != nil, finishedAt: row[6])
      }
    }
  }

  /// What the sweep kept when it was last prepared: kept run key → the key it stands in for.
  public func keptRunKeys() throws -> [RunKey: RunKey] {
    try read("kept runs") { db in
      var kept: [RunKey: RunKey] = [:]
      // A journal written before v9, opened read-only (unmigrated), kept nothing.
      guard try db.tableExists("kept_runs") else { return kept }
      for row in try Row.fetchAll(db, sql: "SELECT run_key, instead_of FROM kept_runs") {
        kept[RunKey(hex: row[0])] = RunKey(hex: row[1])
      }
      return kept
    }
  }

  /// Replaces the kept runs with `kept` (kept run key → the key it stands in for).
  public func recordKept(_ kept: [RunKey: RunKey], at time: Date = Date()) throws {
    try write("record the kept runs") { db in
      try db.execute(sql: "DELETE FROM kept_runs")
      for (run, insteadOf) in kept.sorted(by: { $0.key.hex < $1.key.hex }) {
        try db.execute(
          sql: "INSERT INTO kept_runs (run_key, instead_of, kept_at) VALUES (?, ?, ?)",
          arguments: [run.hex, insteadOf.hex, time])
      }
    }
  }

  /// The kept runs of the sweep as prepared (attached), in ordinal order.
  public func keptRuns() throws -> [KeptRun] {
    try read("kept runs") { db in
      var parsed: [String: Parameters] = [:]
      guard try db.tableExists("kept_runs") else { return [] }
      return try Row.fetchAll(
        db,
        sql: """
          SELECT \(Self.runColumns), k.instead_of FROM runs JOIN kept_runs k ON k.run_key = runs.key
          WHERE runs.ordinal IS NOT NULL ORDER BY runs.ordinal
          """
      ).map { row in KeptRun(run: try runSpec(row, parsed: &parsed), insteadOf: RunKey(hex: row[6])) }
    }
  }
}
