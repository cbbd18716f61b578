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
  let dbQueue: DatabaseQueue
  /// The database of the enclosing ``batch(_:)``, whose one transaction every write joins.
  var batchDatabase: Database?
  /// The last time stamp converted for the database: a batch stamps every record with one time.
  var lastStamp: (time: Date, text: String)?
  /// Whether the checkpoints table may hold rows (nil: not looked yet). Outcomes of sweeps without
  /// chained runs then skip deleting checkpoints that cannot exist.
  var checkpointsMayExist: Bool?
  /// The hot path's statements by SQL, prepared on first use (see ``RawStatement``).
  var hotStatements: [String: RawStatement] = [:]
  /// Leases of the enclosing batch still to be inserted (``insertLeases(_:)``), and their ids (so
  /// an outcome finds out in one lookup whether its own lease still waits).
  /// Artifacts (SHA-256 to size) whose files the last scan of finished runs (``readFinishedRuns()``,
  /// ``quarantineDamaged(at:)``) found intact: a coordinator serves them without hashing them again.
  public internal(set) var verifiedArtifacts: [String: Int] = [:]
  var uninserted: [WaitingLease] = []
  var uninsertedIDs: Set<UInt64> = []
  /// Outcomes of the enclosing batch whose run is still to be marked done and attempt succeeded
  /// (``markOutcomes(_:)``), all stamped with `unmarkedStamp`.
  var unmarked: [(key: String, attempt: Int64)] = []
  var unmarkedStamp = ""

  typealias WaitingLease = (attempt: UInt64, key: RunKey, worker: String, holder: String?, stamp: String)

  /// The statements every run goes through, bound without GRDB's argument boxing.
  enum HotSQL: String {
    case insertLease =
      "INSERT INTO attempts (id, run_key, worker, holder, started_at, state) VALUES (?, ?, ?, ?, ?, 'leased')"
    case insertOutcome = """
      INSERT INTO outcomes (run_key, attempt_id, worker, seconds, finished_at, metrics, series, checksum)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_key) DO NOTHING
      """
    case markRunDone = "UPDATE runs SET status = 'done', error = NULL WHERE key = ?"
    case upsertRun = """
      INSERT INTO runs (key, ordinal, experiment, variant, parameters_json, seed) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET ordinal = excluded.ordinal, variant = excluded.variant,
        experiment = excluded.experiment, parameters_json = excluded.parameters_json, seed = excluded.seed
      """
    case markAttemptSucceeded =
      "UPDATE attempts SET state = 'succeeded', ended_at = ?, message = NULL WHERE id = ?"

    /// Leases inserted and runs and attempts marked per statement by ``Journal/insertLeases(_:)``
    /// and ``Journal/markOutcomes(_:)``; the rest of a batch goes a row at a time.
    static let rowsPerStatement = 32
    static let insertLeases =
      "INSERT INTO attempts (id, run_key, worker, holder, started_at, state) VALUES "
      + Array(repeating: "(?, ?, ?, ?, ?, 'leased')", count: rowsPerStatement).joined(separator: ", ")
    static let markRunsDone =
      "UPDATE runs SET status = 'done', error = NULL WHERE key IN (\(placeholders))"
    static let markAttemptsSucceeded =
      "UPDATE attempts SET state = 'succeeded', ended_at = ?, message = NULL WHERE id IN (\(placeholders))"
    static let placeholders = Array(repeating: "?", count: rowsPerStatement).joined(separator: ", ")
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
        let folder = (path as NSString).deletingLastPathComponent
        let hint =
          access(folder.isEmpty ? "." : folder, W_OK) == 0
          ? "Is this a sweep's output folder?"
          : "\(folder) is read-only, and SQLite must create journal.sqlite-shm beside a journal to read it: "
            + "copy the folder somewhere writable."
        throw JournalError(.cannotOpen, "Cannot open the journal \(path) for reading. \(hint)", cause: error)
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
    } catch let error as DatabaseError
      where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB
    {
      throw Self.damagedFile(path, cannot: "open it", cause: error)
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

  // MARK: - Transactions

  /// Runs `body` in one write transaction, turning SQLite errors into a ``JournalError``.
  static func write<T>(
    _ dbQueue: DatabaseQueue, path: String, _ what: @autoclosure () -> String, _ body: (Database) throws -> T
  ) throws -> T {
    do {
      return try dbQueue.write(body)
    } catch let error as JournalError {
      throw error
    } catch let error as DatabaseError
      where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB
    {
      throw damagedFile(path, cannot: what(), cause: error)
    } catch {
      throw JournalError(
        .database,
        "Cannot \(what()) in the journal \(path). If the disk is full or the file is locked by another "
          + "coordinator, fix that and run `metasweep resume`.", cause: error)
    }
  }

  /// The error for a journal file SQLite finds damaged in its own structure (not just in a record,
  /// which the checksums catch): nothing can mend that here.
  static func damagedFile(_ path: String, cannot what: String, cause: any Error) -> JournalError {
    JournalError(
      .corruptData,
      "The journal \(path) is damaged where SQLite keeps its tables, so MetaSweep cannot \(what). `metasweep "
        + "verify` says how much; restore the file from a backup, or rerun the sweep in a new folder.",
      cause: cause)
  }

  /// `what` names the write in an error message; it is only built for one.
  ///
  /// In a batch, leases and outcome marks wait to be written many rows a statement; any other
  /// record writes them first, so it sees them. Leases and outcomes (`lettingRowsWait`) let them
  /// wait, since the coordinator interleaves the two: a lease touches no row a waiting mark
  /// changes, and an outcome whose own lease waits writes the leases first.
  func write<T>(
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

  func read<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
    if let db = batchDatabase {
      try writeWaiting(db)
      return try body(db)
    }
    do {
      return try dbQueue.read(body)
    } catch let error as JournalError {
      throw error
    } catch let error as DatabaseError
      where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB
    {
      throw Self.damagedFile(path, cannot: "read \(what)", cause: error)
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

  // MARK: - Attempts

  /// `time` as the text GRDB stores a date as, converted once per distinct time (formatting a date
  /// is not free, and a batch stamps every record with one time).
  func stamp(_ time: Date) -> String {
    if let lastStamp, lastStamp.time == time { return lastStamp.text }
    let text = String.fromDatabaseValue(time.databaseValue) ?? ""
    lastStamp = (time, text)
    return text
  }

  /// The prepared hot statement `sql` of this journal's connection.
  func hot(_ db: Database, _ sql: HotSQL) throws -> RawStatement { try hot(db, sql: sql.rawValue) }

  func hot(_ db: Database, sql: String) throws -> RawStatement {
    if let statement = hotStatements[sql] { return statement }
    let statement = try RawStatement(db, sql: sql)
    hotStatements[sql] = statement
    return statement
  }

  func requireRun(_ db: Database, _ key: RunKey) throws {
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

  func requireAttempt(_ db: Database, _ attempt: UInt64, of key: RunKey) throws {
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

  func unknownAttempt(_ attempt: UInt64) -> JournalError {
    JournalError(
      .unknownAttempt,
      "Attempt \(attempt) is not in the journal \(path). Record its lease first (a coordinator bug if you see this)."
    )
  }
}
