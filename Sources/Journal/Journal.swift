import Foundation
import GRDB
import SweepModel

/// The coordinator's durable record of a sweep: its runs, every attempt, and one outcome per run.
///
/// One SQLite file (`results/<name>/journal.sqlite`) in WAL mode, opened only by the coordinator
/// (or by `metasweep report` after it has stopped). Every state change is one transaction, and the
/// schema itself holds the invariants (CHECK, UNIQUE, foreign keys), so a bug in the caller fails
/// loudly instead of corrupting results. Migrations are named and append-only (see
/// ``Journal/migrator``); never edit a shipped migration, add a new one.
///
/// **Recovery on open.** Opening the journal marks every attempt still `leased` as `expired`: those
/// leases belonged to a coordinator that died, and no worker will ever report to it again. The runs
/// stay pending and are leased afresh; a late result from an old attempt would still be accepted if
/// its run has no outcome (``recordOutcome(attempt:key:worker:outcome:seconds:at:)``).
/// ``expiredOnOpen`` tells how many attempts this recovered.
///
/// Seeds and attempt ids are `UInt64`; SQLite stores them as the `Int64` with the same bits.
public final class Journal {
  /// The file as given to ``init(path:)``, used in messages.
  public let path: String
  /// How many attempts were left `leased` by a previous coordinator and marked `expired` on open.
  public let expiredOnOpen: Int
  private let dbQueue: DatabaseQueue
  /// The database of the enclosing ``batch(_:)``, whose one transaction every write joins.
  private var batchDatabase: Database?
  /// The last time stamp converted for the database: a batch stamps every record with one time.
  private var lastStamp: (time: Date, text: String)?
  /// Whether the checkpoints table may hold rows (nil: not looked yet). Outcomes of sweeps without
  /// chained runs then skip deleting checkpoints that cannot exist.
  private var checkpointsMayExist: Bool?
  /// The hot path's statements by SQL, prepared on first use (see ``RawStatement``).
  private var hotStatements: [String: RawStatement] = [:]
  /// Leases of the enclosing batch still to be inserted (``insertLeases(_:)``), and their ids (so
  /// an outcome finds out in one lookup whether its own lease still waits).
  private var uninserted: [WaitingLease] = []
  private var uninsertedIDs: Set<UInt64> = []
  /// Outcomes of the enclosing batch whose run is still to be marked done and attempt succeeded
  /// (``markOutcomes(_:)``), all stamped with `unmarkedStamp`.
  private var unmarked: [(key: String, attempt: Int64)] = []
  private var unmarkedStamp = ""

  private typealias WaitingLease = (attempt: UInt64, key: RunKey, worker: String, stamp: String)

  /// The statements every run goes through, bound without GRDB's argument boxing.
  private enum HotSQL: String {
    case insertLease =
      "INSERT INTO attempts (id, run_key, worker, started_at, state) VALUES (?, ?, ?, ?, 'leased')"
    case insertOutcome = """
      INSERT INTO outcomes (run_key, attempt_id, worker, seconds, finished_at, metrics, series)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_key) DO NOTHING
      """
    case markRunDone = "UPDATE runs SET status = 'done', error = NULL WHERE key = ?"
    case upsertRun = """
      INSERT INTO runs (key, ordinal, experiment, variant, parameters_json, seed) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET ordinal = excluded.ordinal, variant = excluded.variant
      """
    case markAttemptSucceeded =
      "UPDATE attempts SET state = 'succeeded', ended_at = ?, message = NULL WHERE id = ?"

    /// Leases inserted and runs and attempts marked per statement by ``Journal/insertLeases(_:)``
    /// and ``Journal/markOutcomes(_:)``; the rest of a batch goes a row at a time.
    static let rowsPerStatement = 32
    static let insertLeases =
      "INSERT INTO attempts (id, run_key, worker, started_at, state) VALUES "
      + Array(repeating: "(?, ?, ?, ?, 'leased')", count: rowsPerStatement).joined(separator: ", ")
    static let markRunsDone =
      "UPDATE runs SET status = 'done', error = NULL WHERE key IN (\(placeholders))"
    static let markAttemptsSucceeded =
      "UPDATE attempts SET state = 'succeeded', ended_at = ?, message = NULL WHERE id IN (\(placeholders))"
    private static let placeholders = Array(repeating: "?", count: rowsPerStatement).joined(separator: ", ")
  }

  /// Opens (creating the folder and file if needed) and migrates the journal at `path`, turns on WAL
  /// and foreign keys, sets a busy timeout, and expires leases left by a dead coordinator.
  ///
  /// With `readOnly`, the file must exist and nothing is written: no migration, no recovery. That is
  /// the way to look at the journal of a sweep that may still be running (`report`, `status`, tests).
  public init(path: String, readOnly: Bool = false, now: Date = Date()) throws {
    _ = SQLiteTuning.applied
    self.path = path
    if readOnly {
      do {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.label = "MetaSweep.Journal.readOnly"
        dbQueue = try DatabaseQueue(path: path, configuration: configuration)
      } catch {
        throw JournalError(
          .cannotOpen, "Cannot open the journal \(path) for reading. Is this a sweep's output folder?",
          cause: error)
      }
      expiredOnOpen = 0
      return
    }
    do {
      let folder = (path as NSString).deletingLastPathComponent
      if !folder.isEmpty {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      }
      var configuration = Configuration()
      configuration.foreignKeysEnabled = true
      // A second process (a `report` while the sweep runs) waits for the lock instead of failing.
      configuration.busyMode = .timeout(10)
      configuration.label = "MetaSweep.Journal"
      configuration.prepareDatabase { db in
        // WAL with synchronous=NORMAL: a commit survives the process being killed (the WAL is in
        // the OS's cache) without an fsync; only an OS crash or power loss can drop the last
        // commits, and what the journal lacks is simply pending and runs again. Exactly one
        // outcome per run holds either way, because the journal is the only record of outcomes.
        try db.execute(sql: "PRAGMA synchronous = NORMAL")
        // A sweep of 100k runs keeps its indexes in memory (32 MiB), and the WAL is folded back into
        // the database every 16 MiB rather than every 4: fewer reads and checkpoints per run.
        try db.execute(sql: "PRAGMA cache_size = -32768")
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 4000")
      }
      dbQueue = try DatabaseQueue(path: path, configuration: configuration)
      try dbQueue.writeWithoutTransaction { db in
        // journal_mode is persistent in the file; setting it on every open is cheap and idempotent.
        let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
          throw JournalError(
            .cannotOpen,
            "\(path): SQLite refused WAL mode (got \(mode ?? "nothing")). "
              + "Put the results folder on a local disk (not NFS) or pass --out to choose another folder.")
        }
      }
      try Self.migrator.migrate(dbQueue)
    } catch let error as JournalError {
      throw error
    } catch {
      throw JournalError(
        .cannotOpen,
        "Cannot open the journal \(path). Check that the folder is writable and on a local disk, "
          + "or pass --out to choose another folder.", cause: error)
    }
    expiredOnOpen = try Self.expireLeases(in: dbQueue, path: path, now: now)
  }

  deinit {
    // Finalised before GRDB closes the connection, which refuses to close with statements open.
    hotStatements.removeAll()
  }

  /// A journal in a fresh file under the temporary directory, for tests and dry runs.
  public static func temporary() throws -> Journal {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("metasweep-journal-\(UUID().uuidString)")
    return try Journal(path: folder.appendingPathComponent("journal.sqlite").path)
  }

  // MARK: - Schema

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

  private static func expireLeases(in dbQueue: DatabaseQueue, path: String, now: Date) throws -> Int {
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

  // MARK: - Transactions

  /// Runs `body` in one write transaction, turning SQLite errors into a ``JournalError``.
  private static func write<T>(
    _ dbQueue: DatabaseQueue, path: String, _ what: @autoclosure () -> String, _ body: (Database) throws -> T
  ) throws -> T {
    do {
      return try dbQueue.write(body)
    } catch let error as JournalError {
      throw error
    } catch {
      throw JournalError(
        .database,
        "Cannot \(what()) in the journal \(path). If the disk is full or the file is locked by another "
          + "coordinator, fix that and run `metasweep resume`.", cause: error)
    }
  }

  /// `what` names the write in an error message; it is only built for one.
  ///
  /// In a batch, leases and outcome marks wait to be written many rows a statement; any other
  /// record writes them first, so it sees them. Leases and outcomes (`lettingRowsWait`) let them
  /// wait, since the coordinator interleaves the two: a lease touches no row a waiting mark
  /// changes, and an outcome whose own lease waits writes the leases first.
  private func write<T>(
    _ what: @autoclosure () -> String, lettingRowsWait: Bool = false, _ body: (Database) throws -> T
  ) throws -> T {
    if let db = batchDatabase {
      if !lettingRowsWait { try writeWaiting(db) }
      return try body(db)
    }
    return try Self.write(dbQueue, path: path, what(), body)
  }

  /// Runs `body`, whose writes all join one transaction: committed together when `body` returns,
  /// rolled back together when it throws. The coordinator journals everything one loop iteration
  /// decided in one commit (one fsync), before it sends anything that depends on it.
  public func batch<T>(_ body: () throws -> T) throws -> T {
    precondition(batchDatabase == nil, "Journal batches do not nest")
    return try Self.write(dbQueue, path: path, "write a batch of records") { db in
      batchDatabase = db
      defer {
        batchDatabase = nil
        // Rolled back with the batch when it throws.
        uninserted.removeAll()
        uninsertedIDs.removeAll()
        unmarked.removeAll()
      }
      let result = try body()
      try writeWaiting(db)
      return result
    }
  }

  private func read<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
    if let db = batchDatabase {
      try writeWaiting(db)
      return try body(db)
    }
    do {
      return try dbQueue.read(body)
    } catch let error as JournalError {
      throw error
    } catch {
      throw JournalError(
        .database, "Cannot read \(what) from the journal \(path). Is the file damaged or locked?",
        cause: error)
    }
  }

  /// Runs a statement against the journal as is, for tests and repairs (it bypasses every check
  /// the API makes; the schema's constraints still apply).
  public func executeRawSQL(_ sql: String) throws {
    try dbQueue.write { db in try db.execute(sql: sql) }
  }

  /// Whether SQLite took the process-wide settings the first journal applies (memory statistics
  /// off); false when the process had opened a database before.
  public static var sqliteTuned: Bool { SQLiteTuning.applied }

  /// The SQLite journal mode (`wal` once open).
  public func journalMode() throws -> String {
    try dbQueue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
  }

  // MARK: - Sweep and runs

  /// Records the current version of the sweep and its runs.
  ///
  /// The first call creates the sweep. Later calls (resume, a widened grid) must use the same sweep
  /// name; they replace the spec text and hash, detach every run from the spec (ordinal NULL) and then
  /// attach the given runs by key: a run already in the journal keeps its status and outcome (a
  /// finished run is reused), a new one is added as pending. Runs of earlier spec versions that are
  /// not in `runs` stay in the journal, outside the spec.
  public func prepare(
    sweepName: String, experiment: String, specHash: String, specText: String, runs: [RunSpec],
    now: Date = Date()
  ) throws -> PrepareSummary {
    // Each run's key and canonical parameters text. The runs of a variant come one after another
    // with equal parameters, so their text is written once.
    var seen: [RunKey: Int] = [:]
    seen.reserveCapacity(runs.count)
    var keys: [RunKey] = []
    keys.reserveCapacity(runs.count)
    var texts: [String] = []
    texts.reserveCapacity(runs.count)
    for (index, run) in runs.enumerated() {
      let text =
        index > 0 && runs[index - 1].parameters == run.parameters
        ? texts[index - 1] : CanonicalJSON.parameters(run.parameters)
      let key = RunKey(experiment: run.experiment, parametersJSON: text, seed: run.seed)
      if let other = seen[key].map({ runs[$0] }) {
        throw JournalError(
          .duplicateRun,
          "Runs \(other.ordinal) (\(other.variant)) and \(run.ordinal) (\(run.variant)) of sweep '\(sweepName)' "
            + "have the same experiment, parameters and seed. Give the variants different parameters.")
      }
      seen[key] = index
      keys.append(key)
      texts.append(text)
    }
    return try write("prepare sweep '\(sweepName)'") { db in
      if let existing = try String.fetchOne(db, sql: "SELECT name FROM sweep WHERE id = 1") {
        guard existing == sweepName else {
          throw JournalError(
            .sweepMismatch,
            "\(path) belongs to sweep '\(existing)', not '\(sweepName)'. Pass --out to choose another folder."
          )
        }
        try db.execute(
          sql: "UPDATE sweep SET experiment = ?, spec_hash = ?, spec_text = ?, updated_at = ? WHERE id = 1",
          arguments: [experiment, specHash, specText, now])
      } else {
        try db.execute(
          sql: """
            INSERT INTO sweep (id, name, experiment, spec_hash, spec_text, created_at, updated_at)
            VALUES (1, ?, ?, ?, ?, ?, ?)
            """, arguments: [sweepName, experiment, specHash, specText, now, now])
      }
      // Only rows that change are written: resuming a sweep of 100k runs rewrites nothing.
      var attached: [String: (ordinal: Int, variant: String)] = [:]
      let rows = try Row.fetchCursor(
        db, sql: "SELECT key, ordinal, variant FROM runs WHERE ordinal IS NOT NULL")
      while let row = try rows.next() { attached[row[0]] = (row[1], row[2]) }
      var changed: [Int] = []
      for (index, run) in runs.enumerated() {
        let stored = attached.removeValue(forKey: keys[index].hex)
        if stored?.ordinal != run.ordinal || stored?.variant != run.variant { changed.append(index) }
      }
      // Ordinals are unique: every row that leaves its ordinal gives it up before any is taken.
      let detach = try db.makeStatement(sql: "UPDATE runs SET ordinal = NULL WHERE key = ?")
      for key in attached.keys { try detach.execute(arguments: [key]) }
      for index in changed { try detach.execute(arguments: [keys[index].hex]) }
      // Stored in key order, the order they are leased in (see `pendingRuns(inKeyOrder:)`).
      let upsert = try hot(db, .upsertRun)
      for index in changed.sorted(by: { keys[$0].hex < keys[$1].hex }) {
        let run = runs[index]
        upsert.bind(1, keys[index].hex)
        upsert.bind(2, Int64(run.ordinal))
        upsert.bind(3, run.experiment)
        upsert.bind(4, run.variant)
        upsert.bind(5, texts[index])
        upsert.bind(6, Int64(bitPattern: run.seed))
        try upsert.execute()
      }
      let counts = try Self.counts(db)
      return PrepareSummary(
        total: counts.total, alreadyDone: counts.done, failed: counts.failed, pending: counts.pending)
    }
  }

  /// The journal's sweep row, or nil before the first ``prepare(sweepName:experiment:specHash:specText:runs:now:)``.
  public func sweepInfo() throws -> SweepInfo? {
    try read("the sweep") { db in
      try Row.fetchOne(db, sql: "SELECT * FROM sweep WHERE id = 1").map { row in
        SweepInfo(
          name: row["name"], experiment: row["experiment"], specHash: row["spec_hash"],
          specText: row["spec_text"], createdAt: row["created_at"], updatedAt: row["updated_at"])
      }
    }
  }

  /// Pending runs of the current spec, in ordinal order, or with `inKeyOrder` in run-key order:
  /// the order the coordinator leases them in (a deterministic shuffle of the grid, so a stopped
  /// sweep's partial tables cover every variant and seed alike). Runs are also stored in key order,
  /// so journaling them in that order appends to the ends of the tables and their indexes instead
  /// of dirtying a random page per run.
  public func pendingRuns(inKeyOrder: Bool = false) throws -> [RunSpec] {
    try read("pending runs") { db in
      var parsed: [String: Parameters] = [:]
      return try Row.fetchAll(
        db,
        sql: "SELECT \(Self.runColumns) FROM runs WHERE ordinal IS NOT NULL AND status = 'pending' ORDER BY "
          + (inKeyOrder ? "key" : "ordinal")
      ).map { try runSpec($0, parsed: &parsed) }
    }
  }

  /// Finished runs of the current spec with their outcome, in ordinal order.
  public func finishedRuns() throws -> [FinishedRun] {
    try read("finished runs") { db in
      // Read in storage (key) order, which is sequential on disk, and sorted here: in ordinal
      // order every row is on another page (`metasweep report` of 60k runs made 170k page reads).
      let rows = try Row.fetchCursor(
        db,
        sql: """
          SELECT \(Self.runColumns), outcomes.attempt_id, outcomes.worker, outcomes.seconds, outcomes.finished_at,
            outcomes.metrics, outcomes.series
          FROM runs JOIN outcomes ON outcomes.run_key = runs.key
          WHERE runs.ordinal IS NOT NULL AND runs.status = 'done'
          ORDER BY runs.key
          """)
      var finished: [FinishedRun] = []
      var parsed: [String: Parameters] = [:]
      while let row = try rows.next() {
        let attempt: Int64 = row[6]
        finished.append(
          FinishedRun(
            run: try runSpec(row, parsed: &parsed),
            outcome: Outcome(
              metrics: try OutcomeBlob.decodeMetrics(row[10]), series: try OutcomeBlob.decodeSeries(row[11])),
            worker: row[7], attempt: UInt64(bitPattern: attempt), seconds: row[8], finishedAt: row[9]))
      }
      return finished.sorted { $0.run.ordinal < $1.run.ordinal }
    }
  }

  /// Runs of the current spec that exhausted their retries, in ordinal order.
  public func failedRuns() throws -> [FailedRun] {
    try read("failed runs") { db in
      var parsed: [String: Parameters] = [:]
      return try Row.fetchAll(
        db,
        sql:
          "SELECT \(Self.runColumns), error, failures FROM runs WHERE ordinal IS NOT NULL AND status = 'failed' "
          + "ORDER BY ordinal"
      ).map { row in
        FailedRun(run: try runSpec(row, parsed: &parsed), error: row[6], failures: row[7])
      }
    }
  }

  /// How many runs of the current spec are pending, done and failed, and how many attempts are leased.
  public func counts() throws -> JournalCounts {
    try read("counts") { db in try Self.counts(db) }
  }

  private static func counts(_ db: Database) throws -> JournalCounts {
    let row = try Row.fetchOne(
      db,
      sql: """
        SELECT count(*) AS total,
          coalesce(sum(status = 'done'), 0) AS done,
          coalesce(sum(status = 'failed'), 0) AS failed,
          coalesce(sum(status = 'pending'), 0) AS pending,
          (SELECT count(*) FROM attempts WHERE state = 'leased') AS leased
        FROM runs WHERE ordinal IS NOT NULL
        """)!
    return JournalCounts(
      total: row["total"], done: row["done"], failed: row["failed"], pending: row["pending"],
      leased: row["leased"])
  }

  /// The run of a row whose first six columns are ``runColumns``, in that order.
  ///
  /// The variants of a sweep share their parameters across seeds, so each distinct parameters
  /// text is parsed once (`parsed` keeps them across the rows of one read).
  private func runSpec(_ row: Row, parsed: inout [String: Parameters]) throws -> RunSpec {
    let seed: Int64 = row[5]
    let ordinal: Int? = row[1]
    let json: String = row[4]
    let parameters: Parameters
    if let known = parsed[json] {
      parameters = known
    } else {
      parameters = try ParametersJSON.decode(json)
      parsed[json] = parameters
    }
    return RunSpec(
      ordinal: ordinal ?? -1, experiment: row[2], variant: row[3], parameters: parameters,
      seed: UInt64(bitPattern: seed), storedKey: RunKey(hex: row[0]))
  }

  /// The columns of a run that ``runSpec(_:parsed:)`` reads, in its order.
  private static let runColumns = "key, ordinal, experiment, variant, parameters_json, seed"

  // MARK: - Attempts

  /// The largest attempt id ever recorded (0 when none), so a restarted coordinator continues after it.
  public func maxAttemptID() throws -> UInt64 {
    try read("attempt ids") { db in
      UInt64(bitPattern: try Int64.fetchOne(db, sql: "SELECT max(id) FROM attempts") ?? 0)
    }
  }

  /// Records that attempt `attempt` of run `key` was leased to `worker`.
  ///
  /// Throws `.unknownRun` for a key the journal does not know and `.unknownAttempt` for an id that was
  /// already used (attempt ids are unique forever).
  public func recordLease(attempt: UInt64, key: RunKey, worker: String, at time: Date) throws {
    try write("record lease \(attempt)", lettingRowsWait: true) { db in
      uninserted.append((attempt, key, worker, stamp(time)))
      uninsertedIDs.insert(attempt)
      // In a batch the lease waits for more (see `write(_:lettingRowsWait:_:)`).
      if batchDatabase == nil { try insertLeases(db) }
    }
  }

  /// Inserts the batch's leases, many rows a statement. A statement the schema refuses is retried
  /// a row at a time, to name the attempt or run it refused.
  private func insertLeases(_ db: Database) throws {
    guard !uninserted.isEmpty else { return }
    let leases = uninserted
    uninserted.removeAll(keepingCapacity: true)
    uninsertedIDs.removeAll(keepingCapacity: true)
    let width = HotSQL.rowsPerStatement
    let whole = leases.count - leases.count % width
    for start in stride(from: 0, to: whole, by: width) {
      let insert = try hot(db, sql: HotSQL.insertLeases)
      for (offset, lease) in leases[start..<start + width].enumerated() {
        let column = Int32(4 * offset)
        insert.bind(column + 1, Int64(bitPattern: lease.attempt))
        insert.bind(column + 2, lease.key.hex)
        insert.bind(column + 3, lease.worker)
        insert.bind(column + 4, lease.stamp)
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

  private func insertLease(_ db: Database, _ lease: WaitingLease) throws {
    // The schema checks both (the run's foreign key, the attempt's primary key); the coordinator's
    // hot path pays for one statement, and only a refused insert is diagnosed.
    do {
      let insert = try hot(db, .insertLease)
      insert.bind(1, Int64(bitPattern: lease.attempt))
      insert.bind(2, lease.key.hex)
      insert.bind(3, lease.worker)
      insert.bind(4, lease.stamp)
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
          INSERT INTO checkpoints (run_key, attempt_id, steps_done, data, created_at, build_id)
          VALUES (?, ?, ?, ?, ?, ?)
          """, arguments: [key.hex, id, Int64(stepsDone), Data(data), time, buildID])
      try db.execute(
        sql: "DELETE FROM checkpoints WHERE run_key = ? AND steps_done < ?",
        arguments: [key.hex, Int64(stepsDone)])
      try db.execute(
        sql: """
          UPDATE attempts SET state = 'expired', ended_at = ?, message = ?
          WHERE id = ? AND state = 'leased'
          """, arguments: [time, "segment ended: checkpoint at step \(stepsDone)", id])
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
          SELECT c.run_key, c.attempt_id, c.steps_done, c.data FROM checkpoints c JOIN runs r ON r.key = c.run_key
          WHERE r.status = 'pending' AND r.ordinal IS NOT NULL
            AND c.steps_done = (SELECT max(steps_done) FROM checkpoints WHERE run_key = c.run_key)
          """)
      for row in rows {
        let steps: Int64 = row["steps_done"]
        let attempt: Int64 = row["attempt_id"]
        let data: Data = row["data"]
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

  /// Every run of the current spec in ordinal order with its state, for status displays.
  public func runStates() throws -> [RunState] {
    try read("run states") { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT variant, seed, status,
            EXISTS (SELECT 1 FROM attempts a WHERE a.run_key = runs.key AND a.state = 'leased') AS leased
          FROM runs WHERE ordinal IS NOT NULL ORDER BY ordinal
          """
      ).map { row in
        let status: String = row["status"]
        let leased: Bool = row["leased"]
        let state: RunState.State =
          status == "done" ? .done : status == "failed" ? .failed : leased ? .running : .pending
        return RunState(variant: row["variant"], seed: UInt64(bitPattern: row["seed"]), state: state)
      }
    }
  }

  /// The attempts of runs still pending in the current spec, so a restarted coordinator can tell
  /// a late result of its previous life from a forged one.
  public func attemptsOfPendingRuns() throws -> [UInt64: RunKey] {
    try read("attempts of pending runs") { db in
      var attempts: [UInt64: RunKey] = [:]
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT a.id, a.run_key FROM attempts a JOIN runs r ON r.key = a.run_key
          WHERE r.status = 'pending' AND r.ordinal IS NOT NULL
          """)
      for row in rows { attempts[UInt64(bitPattern: row["id"])] = RunKey(hex: row["run_key"]) }
      return attempts
    }
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

  /// Whether the checkpoints table may hold rows: looked up once, then kept by `recordCheckpoint`.
  private func mayHaveCheckpoints(_ db: Database) throws -> Bool {
    if let checkpointsMayExist { return checkpointsMayExist }
    let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM checkpoints)") ?? true
    checkpointsMayExist = exists
    return exists
  }

  /// `time` as the text GRDB stores a date as, converted once per distinct time (formatting a date
  /// is not free, and a batch stamps every record with one time).
  private func stamp(_ time: Date) -> String {
    if let lastStamp, lastStamp.time == time { return lastStamp.text }
    let text = String.fromDatabaseValue(time.databaseValue) ?? ""
    lastStamp = (time, text)
    return text
  }

  /// The prepared hot statement `sql` of this journal's connection.
  private func hot(_ db: Database, _ sql: HotSQL) throws -> RawStatement { try hot(db, sql: sql.rawValue) }

  private func hot(_ db: Database, sql: String) throws -> RawStatement {
    if let statement = hotStatements[sql] { return statement }
    let statement = try RawStatement(db, sql: sql)
    hotStatements[sql] = statement
    return statement
  }

  /// Writes the batch's waiting leases and marks.
  private func writeWaiting(_ db: Database) throws {
    try insertLeases(db)
    try markOutcomes(db)
  }

  /// Marks the runs of the batch's outcomes done and their attempts succeeded, many rows a
  /// statement: one statement a row cost about as much as inserting the outcome.
  private func markOutcomes(_ db: Database) throws {
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

  private func requireRun(_ db: Database, _ key: RunKey) throws {
    guard
      try Int.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM runs WHERE key = ?"), arguments: [key.hex])
        != nil
    else {
      throw JournalError(
        .unknownRun,
        "Run \(key.short) is not in the journal \(path). This is a coordinator bug: report it with the journal file."
      )
    }
  }

  private func requireAttempt(_ db: Database, _ attempt: UInt64, of key: RunKey) throws {
    guard
      let runKey = try String.fetchOne(
        db.cachedStatement(sql: "SELECT run_key FROM attempts WHERE id = ?"),
        arguments: [Int64(bitPattern: attempt)])
    else { throw unknownAttempt(attempt) }
    guard runKey == key.hex else {
      throw JournalError(
        .attemptMismatch,
        "Attempt \(attempt) was leased for run \(String(runKey.prefix(12))), not \(key.short). "
          + "This is a coordinator or worker bug: report it with the journal file.")
    }
  }

  private func unknownAttempt(_ attempt: UInt64) -> JournalError {
    JournalError(
      .unknownAttempt,
      "Attempt \(attempt) is not in the journal \(path). Record its lease first (a coordinator bug if you see this)."
    )
  }
}
