import Foundation
import GRDB
import SweepModel

// The journal's tables, their named migrations, and recovery on open.
extension Journal {
  /// The journal's migrations, in order. Append new ones; never change one that has shipped.
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(sql: Self.schemaV1)
    }
    migrator.registerMigration("v2") { db in
      try db.execute(sql: Self.schemaV2)
    }
    migrator.registerMigration("v3-checkpoint-build") { db in
      // The build that wrote a checkpoint: continuing it with another build would not be
      // bit-identical to an uninterrupted run, so resuming refuses unless told otherwise.
      try db.execute(sql: "ALTER TABLE checkpoints ADD COLUMN build_id TEXT NOT NULL DEFAULT ''")
    }
    migrator.registerMigration("v4-no-leased-index") { db in
      // Every lease inserted into it and every outcome deleted from it, for queries that are rare
      // (status, recovery at open) and fast enough as scans.
      try db.execute(sql: "DROP INDEX attempts_leased")
    }
    migrator.registerMigration("v5-attempt-holder") { db in
      // The worker process an attempt was leased to (a digest of its session and CURVE name): a
      // restarted coordinator credits a late report of the attempt to that process only.
      try db.execute(sql: "ALTER TABLE attempts ADD COLUMN holder TEXT")
    }
    migrator.registerMigration("v6-checksums") { db in
      // A SHA-256 of every outcome and checkpoint with its identity (``RecordChecksum``), verified
      // on every read. Rows already here get one from their present bytes: damage done before this
      // migration cannot be told apart, damage after it can.
      try db.execute(sql: "ALTER TABLE outcomes ADD COLUMN checksum BLOB")
      try db.execute(sql: "ALTER TABLE checkpoints ADD COLUMN checksum BLOB")
      let outcomes = try Row.fetchAll(
        db, sql: "SELECT rowid, run_key, attempt_id, metrics, series FROM outcomes")
      for row in outcomes {
        let checksum = RecordChecksum.outcome(key: row[1], attempt: row[2], metrics: row[3], series: row[4])
        try db.execute(
          sql: "UPDATE outcomes SET checksum = ? WHERE rowid = ?",
          arguments: [Data(checksum), row[0] as Int64])
      }
      let checkpoints = try Row.fetchAll(db, sql: "SELECT rowid, run_key, steps_done, data FROM checkpoints")
      for row in checkpoints {
        let checksum = RecordChecksum.checkpoint(key: row[1], stepsDone: row[2], data: row[3])
        try db.execute(
          sql: "UPDATE checkpoints SET checksum = ? WHERE rowid = ?",
          arguments: [Data(checksum), row[0] as Int64])
      }
    }
    migrator.registerMigration("v7-artifacts") { db in
      // The artifacts outcomes carry: their bytes live in the store beside the journal.
      try db.execute(sql: Self.schemaArtifacts)
    }
    migrator.registerMigration("v8-attempt-logs") { db in
      // What an attempt printed besides its results (a user's program's output), for `metasweep logs`.
      try db.execute(sql: Self.schemaAttemptLogs)
    }
    migrator.registerMigration("v9-kept-runs") { db in
      // Runs whose outcomes a sweep keeps in place of runs of an edited program (`--keep-results`).
      try db.execute(sql: Self.schemaKeptRuns)
    }
    migrator.registerMigration("v10-workers") { db in
      // Each worker process with its host's machine type (CPU model and OpenBLAS kernel): what
      // decides a run's last bits besides the binary.
      try db.execute(sql: Self.schemaWorkers)
    }
    return migrator
  }

  static let schemaV1 = """
    CREATE TABLE sweep (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      name TEXT NOT NULL CHECK (length(name) > 0),
      experiment TEXT NOT NULL CHECK (length(experiment) > 0),
      spec_hash TEXT NOT NULL,
      spec_text TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE runs (
      key TEXT PRIMARY KEY NOT NULL
        CHECK (length(key) = 64 AND key NOT GLOB '*[^0-9a-f]*'),
      ordinal INTEGER UNIQUE CHECK (ordinal IS NULL OR ordinal >= 0),
      experiment TEXT NOT NULL,
      variant TEXT NOT NULL,
      parameters_json TEXT NOT NULL CHECK (parameters_json GLOB '{*}'),
      seed INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
      error TEXT,
      failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
      CHECK ((status = 'failed') = (error IS NOT NULL))
    ) STRICT;

    CREATE TABLE attempts (
      id INTEGER PRIMARY KEY CHECK (id <> 0),
      run_key TEXT NOT NULL REFERENCES runs(key),
      worker TEXT NOT NULL,
      started_at TEXT NOT NULL,
      ended_at TEXT,
      state TEXT NOT NULL
        CHECK (state IN ('leased', 'succeeded', 'failed', 'expired', 'discarded')),
      message TEXT,
      CHECK ((state = 'leased') = (ended_at IS NULL))
    ) STRICT;
    CREATE INDEX attempts_by_run ON attempts(run_key);
    CREATE UNIQUE INDEX attempts_id_run ON attempts(id, run_key);
    CREATE INDEX attempts_leased ON attempts(state) WHERE state = 'leased';

    CREATE TABLE outcomes (
      run_key TEXT PRIMARY KEY NOT NULL REFERENCES runs(key),
      attempt_id INTEGER NOT NULL UNIQUE,
      worker TEXT NOT NULL,
      seconds REAL NOT NULL,
      finished_at TEXT NOT NULL,
      metrics BLOB NOT NULL,
      series BLOB NOT NULL,
      FOREIGN KEY (attempt_id, run_key) REFERENCES attempts(id, run_key)
    ) STRICT;
    """

  /// v2: checkpoints of chained runs. Only the latest of each unfinished run is kept (older ones are
  /// deleted as a newer one commits, all of them when the run gets its outcome).
  static let schemaV2 = """
    CREATE TABLE checkpoints (
      run_key TEXT NOT NULL REFERENCES runs(key),
      attempt_id INTEGER NOT NULL,
      steps_done INTEGER NOT NULL CHECK (steps_done > 0),
      data BLOB NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (run_key, steps_done),
      FOREIGN KEY (attempt_id, run_key) REFERENCES attempts(id, run_key)
    ) STRICT;
    """

  // MARK: - Recovery

  static func expireLeases(in dbQueue: DatabaseQueue, path: String, now: Date) throws -> Int {
    try write(dbQueue, path: path, "expire leases left by a stopped coordinator") { db in
      try db.execute(
        sql: """
          UPDATE attempts SET state = 'expired', ended_at = ?,
            message = 'the coordinator stopped while the attempt was leased'
          WHERE state = 'leased'
          """, arguments: [now])
      return db.changesCount
    }
  }
}
