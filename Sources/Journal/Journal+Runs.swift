import Foundation
import GRDB
import SweepModel

// The sweep and its runs: preparing a spec's runs, and reading them back by state.
extension Journal {
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
      // A stored row whose experiment, parameters or seed differ from what its key stands for was
      // damaged on disk: it is rewritten from the spec (its leases would carry the damage).
      var attached:
        [String: (ordinal: Int, variant: String, experiment: String, parameters: String, seed: Int64)] =
          [:]
      var unkeyed: [Int64] = []
      let rows = try Row.fetchCursor(
        db,
        sql: """
          SELECT key, ordinal, variant, experiment, parameters_json, seed, rowid FROM runs WHERE ordinal IS NOT NULL
          """)
      while let row = try rows.next() {
        guard let key = try? row.decode(String.self, atIndex: 0), Self.isRunKeyText(key) else {
          unkeyed.append(try row.decode(atIndex: 6))
          continue
        }
        // A row with another column unreadable is left out: its run is rewritten from the spec.
        guard let ordinal = try? row.decode(Int.self, atIndex: 1),
          let variant = try? row.decode(String.self, atIndex: 2),
          let experiment = try? row.decode(String.self, atIndex: 3),
          let parameters = try? row.decode(String.self, atIndex: 4),
          let seed = try? row.decode(Int64.self, atIndex: 5)
        else { continue }
        attached[key] = (ordinal, variant, experiment, parameters, seed)
      }
      try Self.mendRunRows(db, deleting: unkeyed)
      var changed: [Int] = []
      for (index, run) in runs.enumerated() {
        let stored = attached.removeValue(forKey: keys[index].hex)
        if stored?.ordinal != run.ordinal || stored?.variant != run.variant
          || stored?.experiment != run.experiment || stored?.parameters != texts[index]
          || stored?.seed != Int64(bitPattern: run.seed)
        {
          changed.append(index)
        }
      }
      // Ordinals are unique: every row that leaves its ordinal gives it up before any is taken.
      let detach = try db.makeStatement(sql: "UPDATE runs SET ordinal = NULL WHERE key = ?")
      for key in attached.keys { try detach.execute(arguments: [key]) }
      for index in changed { try detach.execute(arguments: [keys[index].hex]) }
      // Stored in key order, the order they are leased in (see `pendingRuns(inKeyOrder:)`).
      let upsert = try hot(db, .upsertRun)
      for index in changed.sorted(by: { keys[$0].hex < keys[$1].hex }) {
        try Self.upsert(runs[index], key: keys[index], parametersJSON: texts[index], with: upsert)
      }
      // A run inserted again in place of a damaged row may have its outcome already.
      try db.execute(
        sql: """
          UPDATE runs SET status = 'done', error = NULL
          WHERE ordinal IS NOT NULL AND status <> 'done' AND EXISTS (SELECT 1 FROM outcomes WHERE run_key = runs.key)
          """)
      let counts = try Self.counts(db)
      return PrepareSummary(
        total: counts.total, alreadyDone: counts.done, failed: counts.failed, pending: counts.pending)
    }
  }

  /// Attaches runs to the current spec while it is served (a sweep graph's runs whose inputs now
  /// exist), at their ordinals: a run already in the journal keeps its status and outcome, a new
  /// one is added as pending. Nothing else changes (unlike ``prepare(sweepName:experiment:specHash:specText:runs:now:)``,
  /// no run is detached).
  public func attach(runs: [RunSpec]) throws {
    guard !runs.isEmpty else { return }
    try write("attach \(runs.count) runs") { db in
      let upsert = try hot(db, .upsertRun)
      let detach = try db.makeStatement(sql: "UPDATE runs SET ordinal = NULL WHERE ordinal = ? AND key <> ?")
      for run in runs {
        // A run of an earlier resolution of the slot (its inputs have changed since) gives it up.
        let key = run.key
        try detach.execute(arguments: [run.ordinal, key.hex])
        try Self.upsert(run, key: key, parametersJSON: CanonicalJSON.parameters(run.parameters), with: upsert)
      }
    }
  }

  /// Inserts `run` (or updates the row of its key to it) with the prepared ``HotSQL/upsertRun``.
  private static func upsert(_ run: RunSpec, key: RunKey, parametersJSON: String, with upsert: RawStatement)
    throws
  {
    upsert.bind(1, key.hex)
    upsert.bind(2, Int64(run.ordinal))
    upsert.bind(3, run.experiment)
    upsert.bind(4, run.variant)
    upsert.bind(5, parametersJSON)
    upsert.bind(6, Int64(bitPattern: run.seed))
    try upsert.execute()
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

  /// Finished runs of the current spec with their intact outcome, in ordinal order (damaged ones
  /// are left out: ``readFinishedRuns()`` names them).
  public func finishedRuns() throws -> [FinishedRun] { try readFinishedRuns().finished }

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

  static func counts(_ db: Database) throws -> JournalCounts {
    let row = try Row.fetchOne(
      db,
      sql: """
        SELECT count(*) AS total,
          coalesce(sum(status = 'done'), 0) AS done,
          coalesce(sum(status = 'failed'), 0) AS failed,
          coalesce(sum(status = 'pending' AND NOT leased), 0) AS pending,
          coalesce(sum(status = 'pending' AND leased), 0) AS leased
        FROM (
          SELECT status, status = 'pending' AND EXISTS (
            SELECT 1 FROM attempts WHERE attempts.run_key = runs.key AND attempts.state = 'leased') AS leased
          FROM runs WHERE ordinal IS NOT NULL)
        """)!
    return JournalCounts(
      total: row["total"], done: row["done"], failed: row["failed"], pending: row["pending"],
      leased: row["leased"])
  }

  /// The run of a row whose first six columns are ``runColumns``, in that order.
  ///
  /// The variants of a sweep share their parameters across seeds, so each distinct parameters
  /// text is parsed once (`parsed` keeps them across the rows of one read).
  func runSpec(_ row: Row, parsed: inout [String: Parameters]) throws -> RunSpec {
    // Decoded with `try`: a column damaged on disk (a NULL where none may be) is an error, not a trap.
    let seed: Int64 = try row.decode(atIndex: 5)
    let ordinal: Int? = try row.decode(atIndex: 1)
    let json: String = try row.decode(atIndex: 4)
    let parameters: Parameters
    if let known = parsed[json] {
      parameters = known
    } else {
      parameters = try ParametersJSON.decode(json)
      parsed[json] = parameters
    }
    return RunSpec(
      ordinal: ordinal ?? -1, experiment: try row.decode(atIndex: 2), variant: try row.decode(atIndex: 3),
      parameters: parameters, seed: UInt64(bitPattern: seed),
      storedKey: RunKey(hex: try row.decode(atIndex: 0)))
  }

  /// Whether `text` is 64 lower-case hex digits, as the schema requires of a run key.
  static func isRunKeyText(_ text: String) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
      bytes.count == 64 && bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
  }

  /// Mends run rows damaged on disk before a coordinator writes the journal (the schema's checks
  /// refuse any update of a row that breaks one): a row of the spec whose key or a column cannot be
  /// read (`unkeyed`, by rowid) is deleted (no attempt or outcome can name a damaged key; the
  /// spec's run is inserted again), other broken columns are
  /// reset for `prepare` to rewrite from the spec, and every run's status is set from its outcome
  /// where the two disagree (the outcome's own checksum is checked next, on resume).
  static func mendRunRows(_ db: Database, deleting unkeyed: [Int64]) throws {
    // Found by the caller, which reads every key anyway (SQLite's GLOB over 60k keys took 0.16 s).
    for rowid in unkeyed {
      try db.execute(sql: "DELETE FROM runs WHERE rowid = ?", arguments: [rowid])
    }
    try db.execute(
      sql: """
        UPDATE runs SET
          ordinal = CASE WHEN ordinal >= 0 THEN ordinal END,
          parameters_json = CASE WHEN parameters_json GLOB '{*}' THEN parameters_json ELSE '{}' END,
          experiment = coalesce(experiment, ''), variant = coalesce(variant, ''), seed = coalesce(seed, 0),
          failures = CASE WHEN failures >= 0 THEN failures ELSE 0 END,
          status = CASE WHEN EXISTS (SELECT 1 FROM outcomes WHERE run_key = runs.key) THEN 'done' ELSE 'pending' END,
          error = NULL
        WHERE NOT coalesce(
            status IN ('pending', 'done', 'failed') AND (ordinal IS NULL OR ordinal >= 0)
            AND parameters_json GLOB '{*}' AND failures >= 0 AND (status = 'failed') = (error IS NOT NULL)
            AND experiment IS NOT NULL AND variant IS NOT NULL AND seed IS NOT NULL, 0)
          OR (status = 'done') <> EXISTS (SELECT 1 FROM outcomes WHERE run_key = runs.key)
        """)
  }

  /// The columns of a run that ``runSpec(_:parsed:)`` reads, in its order.
  static let runColumns = "key, ordinal, experiment, variant, parameters_json, seed"

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
}
