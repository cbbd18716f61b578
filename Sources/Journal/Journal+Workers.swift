import Foundation
import GRDB
import SweepModel

// Workers: each worker process that joined, with its host's machine type. Runs are bit-identical
// across hosts of one machine type (same binary), so a report can say which machine types
// computed its runs, and whether one run's segments crossed two.
extension Journal {
  /// v10: one row per worker process (its holder digest, as attempts record it).
  static let schemaWorkers = """
    CREATE TABLE workers (
      holder TEXT PRIMARY KEY NOT NULL,
      name TEXT NOT NULL,
      machine TEXT NOT NULL,
      joined_at TEXT NOT NULL
    ) STRICT;
    """

  /// Records that the worker process `holder` (``WorkerIdentity/digest``), named `name`, joined
  /// from a host of machine type `machine`. The same process greeting a restarted coordinator
  /// again keeps its first row.
  public func recordWorker(holder: String, name: String, machine: String, at time: Date) throws {
    try write("record worker \(name)") { db in
      try db.execute(
        sql: "INSERT OR IGNORE INTO workers (holder, name, machine, joined_at) VALUES (?, ?, ?, ?)",
        arguments: [holder, name, machine, stamp(time)])
    }
  }

  /// The machine types of the workers that computed each done run (its attempt that succeeded
  /// and, for a chained run, every segment that ended in a checkpoint), sorted. A run computed only by
  /// workers the journal has no machine type for (before v10, or the coordinator's own rounds) is
  /// left out.
  public func machineTypes() throws -> [RunKey: [String]] {
    try read("machine types") { db in
      // A journal written before v10, opened read-only (unmigrated), knows no machine types.
      guard try db.tableExists("workers") else { return [:] }
      var types: [RunKey: [String]] = [:]
      for row in try Row.fetchAll(
        db,
        sql: """
          SELECT DISTINCT a.run_key, w.machine FROM attempts a
          JOIN runs r ON r.key = a.run_key JOIN workers w ON w.holder = a.holder
          WHERE r.status = 'done'
            AND (a.state = 'succeeded' OR (a.state = 'expired' AND substr(a.message, 1, ?) = ?))
          ORDER BY a.run_key, w.machine
          """, arguments: [Self.segmentEndedPrefix.utf8.count, Self.segmentEndedPrefix])
      {
        types[RunKey(hex: row[0]), default: []].append(row[1])
      }
      return types
    }
  }
}
