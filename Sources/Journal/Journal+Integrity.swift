import Foundation
import GRDB
import SweepModel

/// A record of the journal whose bytes no longer match what was written: never tabulated, and its
/// run is redone by the next `resume`.
public struct DamagedRecord: Sendable, Equatable, CustomStringConvertible {
  /// Which kind of record.
  public enum Kind: String, Sendable, Equatable {
    /// A run's outcome (its metrics and series).
    case outcome
    /// A chained run's checkpoint.
    case checkpoint
    /// A run's row (experiment, parameters, seed) no longer hashes to its key.
    case run
    /// An artifact of a run's outcome: its row, or its file in the store, missing or damaged.
    case artifact
  }

  public var kind: Kind
  public var key: RunKey
  public var variant: String
  public var seed: UInt64
  /// The attempt that wrote the record (outcomes and checkpoints).
  public var attempt: UInt64?
  /// What is wrong: `checksum mismatch`, or why the bytes do not decode.
  public var problem: String

  /// `outcome of run 1a2b3c4d5e6f (adam, seed 3), attempt 17: checksum mismatch`.
  public var description: String {
    let attemptText = attempt.map { ", attempt \($0)" } ?? ""
    return "\(kind.rawValue) of run \(key.short) (\(variant), seed \(seed))\(attemptText): \(problem)"
  }
}

/// What ``Journal/verify()`` found.
public struct JournalVerification: Sendable, Equatable {
  /// What SQLite's `PRAGMA integrity_check` reported, empty when it said ok.
  public var sqliteProblems: [String]
  /// Records whose checksum or key does not match.
  public var damaged: [DamagedRecord]
  /// Whether the stored copy of the sweep file no longer matches its hash.
  public var isSweepFileDamaged = false
  public var runs = 0
  public var outcomes = 0
  public var checkpoints = 0
  /// Artifacts of the outcomes, each checked against its row and its file in the store.
  public var artifacts = 0

  /// Whether nothing is wrong.
  public var isIntact: Bool { sqliteProblems.isEmpty && damaged.isEmpty && !isSweepFileDamaged }
}

/// Checksums of the journal's blobs: SHA-256 over a tag, the record's identity and its bytes, so a
/// damaged blob, or an intact blob moved to another row, is caught on every read.
enum RecordChecksum {
  /// The checksum of run `key`'s outcome written by attempt `attempt`, covering its artifacts'
  /// names, hashes and sizes too (in name order; none leaves the checksum as it was before
  /// artifacts existed), so an artifact row that goes missing is caught.
  static func outcome(
    key: String, attempt: Int64, metrics: Data, series: Data, artifacts: [StoredArtifact] = []
  ) -> [UInt8] {
    var state = SHA256.State()
    state.update(outcomeTag)
    state.update(key.utf8)
    update(&state, UInt64(bitPattern: attempt))
    update(&state, UInt64(metrics.count))
    state.update(metrics)
    state.update(series)
    for artifact in artifacts.sorted(by: { $0.name < $1.name }) {
      state.update(Array(artifact.name.utf8) + [0])
      state.update(artifact.reference.sha256.utf8)
      update(&state, UInt64(artifact.reference.size))
    }
    return state.finalize()
  }

  /// The checksum of run `key`'s checkpoint after `stepsDone` steps.
  static func checkpoint(key: String, stepsDone: Int64, data: Data) -> [UInt8] {
    var state = SHA256.State()
    state.update(checkpointTag)
    state.update(key.utf8)
    update(&state, UInt64(bitPattern: stepsDone))
    state.update(data)
    return state.finalize()
  }

  private static let outcomeTag = Array("metasweep-outcome-v1\0".utf8)
  private static let checkpointTag = Array("metasweep-checkpoint-v1\0".utf8)

  private static func update(_ state: inout SHA256.State, _ value: UInt64) {
    withUnsafeBytes(of: value.littleEndian) { state.update($0) }
  }
}

// Integrity: every outcome and checkpoint carries a checksum, verified on every read; damaged
// records are named, never tabulated, and their runs are redone.
extension Journal {
  /// Finished runs of the current spec whose records are intact, in ordinal order, and the runs
  /// whose outcome (or row) is damaged.
  public func readFinishedRuns() throws -> (finished: [FinishedRun], damaged: [DamagedRecord]) {
    try scanFinishedRuns(decoding: true)
  }

  /// ``readFinishedRuns()``, or with `decoding` false only the damaged records (checksums, and runs
  /// whose outcome is lost: what resuming needs, after `prepare` has checked every run row).
  private func scanFinishedRuns(decoding: Bool) throws -> (finished: [FinishedRun], damaged: [DamagedRecord])
  {
    try read("finished runs") { db in
      // Read in storage (key) order, which is sequential on disk, and sorted here: in ordinal
      // order every row is on another page (`metasweep report` of 60k runs made 170k page reads).
      let rows = try Row.fetchCursor(
        db,
        sql: """
          SELECT \(Self.outcomeColumns) FROM runs JOIN outcomes ON outcomes.run_key = runs.key
          WHERE runs.ordinal IS NOT NULL AND runs.status = 'done'
          ORDER BY runs.key
          """)
      var finished: [FinishedRun] = []
      var damaged: [DamagedRecord] = []
      var intact: Set<String> = []
      var parsed: [String: Parameters] = [:]
      let artifacts = try Self.checkedArtifacts(db, keys: nil)
      let store = artifactStore
      while let row = try rows.next() {
        if decoding, let problem = Self.runRowProblem(row) {
          damaged.append(Self.damage(.run, row, attempt: nil, problem))
          continue
        }
        let attempt = try? row.decode(Int64.self, atIndex: 6)
        do {
          let made = artifacts[try row.decode(String.self, atIndex: 0)]
          if let problem = made?.1 {
            damaged.append(Self.damage(.artifact, row, attempt: attempt, problem))
            continue
          }
          guard let (metrics, series) = try Self.checkedOutcomeBlobs(row, artifacts: made?.0 ?? []) else {
            damaged.append(
              Self.damage(.outcome, row, attempt: attempt, "checksum mismatch"))
            continue
          }
          if let made, let problem = Self.fileProblem(made.0, in: store) {
            damaged.append(Self.damage(.artifact, row, attempt: attempt, problem))
            continue
          }
          for artifact in made?.0 ?? [] {
            verifiedArtifacts[artifact.reference.sha256] = artifact.reference.size
          }
          guard decoding else {
            intact.insert(try row.decode(atIndex: 0))
            continue
          }
          finished.append(
            FinishedRun(
              run: try runSpec(row, parsed: &parsed),
              outcome: Outcome(
                metrics: try OutcomeBlob.decodeMetrics(metrics), series: try OutcomeBlob.decodeSeries(series)),
              // Who ran it and when is not checksummed, nor tabulated: damage there costs only the label.
              worker: (try? row.decode(String.self, atIndex: 7)) ?? "?",
              attempt: UInt64(bitPattern: try row.decode(atIndex: 6)),
              seconds: (try? row.decode(Double.self, atIndex: 8)) ?? .nan,
              finishedAt: (try? row.decode(Date.self, atIndex: 9)) ?? Date(timeIntervalSince1970: 0),
              artifacts: made?.0 ?? []))
        } catch {
          damaged.append(Self.damage(.outcome, row, attempt: attempt, Self.undecodable(error)))
        }
      }
      // A run marked done whose outcome the join did not find: SQLite's index over the tables is
      // damaged (a scan of the table finds the run; the lookup of its outcome does not).
      intact.formUnion(finished.map(\.run.key.hex))
      intact.formUnion(damaged.map(\.key.hex))
      let unreadable = try Row.fetchCursor(
        db,
        sql: """
          SELECT \(Self.runColumns) FROM runs NOT INDEXED
          WHERE ordinal IS NOT NULL AND status NOT IN ('pending', 'done', 'failed')
          """)
      while let row = try unreadable.next() {
        damaged.append(Self.damage(.run, row, attempt: nil, "its status is unreadable"))
      }
      let done = try Row.fetchCursor(
        db,
        sql: "SELECT \(Self.runColumns) FROM runs NOT INDEXED WHERE ordinal IS NOT NULL AND status = 'done'")
      while let row = try done.next() {
        guard let key = try? row.decode(String.self, atIndex: 0), !intact.contains(key) else { continue }
        damaged.append(
          Self.damage(
            .outcome, row, attempt: nil,
            "the run is marked done, but its outcome is not found: SQLite's index of the journal is damaged"))
      }
      return (finished.sorted { $0.run.ordinal < $1.run.ordinal }, damaged.sorted { $0.key < $1.key })
    }
  }

  /// Runs SQLite's integrity check before a coordinator writes the journal: an index that lost
  /// track of rows is rebuilt from the tables (returns what was wrong); damage to the tables
  /// themselves throws `.corruptData`, since writing more into them would spread it.
  public func repairIndexes() throws -> [String] {
    let problems = try read("SQLite's integrity check") { db in
      try String.fetchAll(db, sql: "PRAGMA integrity_check")
    }
    guard problems != ["ok"] else { return [] }
    // Damaged run rows are mended by `prepare` (``mendRunRows(_:)``), from the spec.
    let indexOnly = problems.allSatisfy { problem in
      ["missing from index", "wrong # of entries in index", "non-unique entry in index", "in runs"].contains {
        problem.contains($0)
      }
    }
    guard indexOnly else {
      throw JournalError(
        .corruptData,
        "The journal \(path) is damaged beyond its indexes (SQLite: \(problems[0])): `metasweep verify` lists "
          + "the damage; restore the file from a backup, or rerun the sweep in a new folder.")
    }
    // The tables are intact (their records are checksummed): the indexes are rebuilt from them.
    try write("rebuild the journal's indexes") { db in try db.execute(sql: "REINDEX") }
    return problems
  }

  /// Removes the current spec's damaged outcomes and checkpoints, so their runs run again: a damaged
  /// outcome's run goes back to pending (its attempt is marked discarded, saying why), a damaged
  /// checkpoint is deleted (the chain restarts from the beginning). Returns what was removed.
  public func quarantineDamaged(at time: Date = Date()) throws -> [DamagedRecord] {
    var (_, damagedOutcomes) = try scanFinishedRuns(decoding: false)
    if damagedOutcomes.contains(where: { $0.attempt == nil && $0.kind == .outcome }) {
      // The tables are checksummed and intact; an index that lost track of a row is rebuilt from them.
      try write("rebuild the journal's indexes") { db in try db.execute(sql: "REINDEX") }
      damagedOutcomes = try scanFinishedRuns(decoding: false).damaged
    }
    let damagedCheckpoints = try read("checkpoints") { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT \(Self.runColumns), c.attempt_id, c.steps_done, c.data, c.checksum
          FROM checkpoints c JOIN runs ON runs.key = c.run_key
          WHERE runs.status = 'pending' AND runs.ordinal IS NOT NULL
          """
      ).compactMap { row -> DamagedRecord? in
        let attempt = try? row.decode(Int64.self, atIndex: 6)
        guard let problem = Self.checkpointProblem(row) else { return nil }
        return Self.damage(.checkpoint, row, attempt: attempt, problem)
      }
    }
    let damaged = damagedOutcomes + damagedCheckpoints
    guard !damaged.isEmpty else { return [] }
    try write("set damaged records aside") { db in
      for record in damagedOutcomes {
        try db.execute(sql: "DELETE FROM outcomes WHERE run_key = ?", arguments: [record.key.hex])
        try db.execute(sql: "DELETE FROM artifacts WHERE run_key = ?", arguments: [record.key.hex])
        try db.execute(
          sql: "UPDATE runs SET status = 'pending', error = NULL WHERE key = ?", arguments: [record.key.hex])
        if let attempt = record.attempt {
          try db.execute(
            sql: "UPDATE attempts SET state = 'discarded', message = ? WHERE id = ?",
            arguments: [
              "\(record.kind.rawValue) damaged in the journal (\(record.problem)): run again", attempt,
            ])
        }
      }
      for record in damagedCheckpoints {
        try db.execute(
          sql: "DELETE FROM checkpoints WHERE run_key = ? AND attempt_id = ?",
          arguments: [record.key.hex, record.attempt.map { Int64(bitPattern: $0) }])
      }
    }
    return damaged
  }

  /// Checks the whole journal: SQLite's integrity check, then every run row against its key and
  /// every outcome and checkpoint against its checksum (of every spec version, not just the
  /// current one). Reading only.
  public func verify() throws -> JournalVerification {
    try read("the whole journal") { db in
      var result = JournalVerification(sqliteProblems: [], damaged: [])
      /// Runs one part of the check; one SQLite cannot read is a problem of the file, and the
      /// other parts still run.
      func check(_ what: String, _ body: () throws -> Void) {
        do {
          try body()
        } catch let error as DatabaseError {
          result.sqliteProblems.append(
            "\(what) cannot be read to the end: \(error.message ?? "\(error.resultCode)")")
        } catch {
          result.sqliteProblems.append("\(what) cannot be read to the end: \(error)")
        }
      }
      check("SQLite's integrity check") {
        let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check")
        if problems != ["ok"] { result.sqliteProblems += problems }
      }
      check("the sweep table") {
        if let row = try Row.fetchOne(db, sql: "SELECT spec_text, spec_hash FROM sweep WHERE id = 1") {
          let text = try? row.decode(String.self, atIndex: 0)
          result.isSweepFileDamaged = text.map(SHA256.hex) != (try? row.decode(String.self, atIndex: 1))
        }
      }
      check("the runs table") {
        let runs = try Row.fetchCursor(db, sql: "SELECT \(Self.runColumns) FROM runs NOT INDEXED")
        while let row = try runs.next() {
          result.runs += 1
          if let problem = Self.runRowProblem(row) {
            result.damaged.append(Self.damage(.run, row, attempt: nil, problem))
          }
        }
      }
      var artifacts: [String: ([StoredArtifact], String?)] = [:]
      let store = artifactStore
      check("the artifacts table") { artifacts = try Self.checkedArtifacts(db, keys: nil) }
      check("the outcomes table") {
        let outcomes = try Row.fetchCursor(
          db,
          sql: "SELECT \(Self.outcomeColumns) FROM outcomes JOIN runs ON runs.key = outcomes.run_key")
        while let row = try outcomes.next() {
          result.outcomes += 1
          let attempt = try? row.decode(Int64.self, atIndex: 6)
          do {
            let made = artifacts[try row.decode(String.self, atIndex: 0)]
            result.artifacts += made?.0.count ?? 0
            if let problem = made?.1 {
              result.damaged.append(Self.damage(.artifact, row, attempt: attempt, problem))
              continue
            }
            guard let (metrics, series) = try Self.checkedOutcomeBlobs(row, artifacts: made?.0 ?? []) else {
              result.damaged.append(
                Self.damage(.outcome, row, attempt: attempt, "checksum mismatch"))
              continue
            }
            _ = try OutcomeBlob.decodeMetrics(metrics)
            _ = try OutcomeBlob.decodeSeries(series)
            if let made, let problem = Self.fileProblem(made.0, in: store) {
              result.damaged.append(Self.damage(.artifact, row, attempt: attempt, problem))
            }
          } catch {
            result.damaged.append(Self.damage(.outcome, row, attempt: attempt, Self.undecodable(error)))
          }
        }
      }
      check("the checkpoints table") {
        let checkpoints = try Row.fetchCursor(
          db,
          sql: """
            SELECT \(Self.runColumns), c.attempt_id, c.steps_done, c.data, c.checksum
            FROM checkpoints c JOIN runs ON runs.key = c.run_key
            """)
        while let row = try checkpoints.next() {
          result.checkpoints += 1
          if let problem = Self.checkpointProblem(row) {
            result.damaged.append(
              Self.damage(.checkpoint, row, attempt: try? row.decode(atIndex: 6), problem))
          }
        }
      }
      result.damaged.sort { ($0.key, $0.kind.rawValue) < ($1.key, $1.kind.rawValue) }
      return result
    }
  }

  /// A run and its outcome, in the order ``checkedOutcomeBlobs(_:)`` and ``readFinishedRuns()``
  /// read them: ``runColumns``, then attempt, worker, seconds, time, metrics, series, checksum.
  static let outcomeColumns =
    "\(runColumns), outcomes.attempt_id, outcomes.worker, outcomes.seconds, outcomes.finished_at, "
    + "outcomes.metrics, outcomes.series, outcomes.checksum"

  /// The metrics and series blobs of a row of ``outcomeColumns`` when they match its checksum, or
  /// nil; throws when a column the checksum covers cannot be read.
  static func checkedOutcomeBlobs(_ row: Row, artifacts: [StoredArtifact]) throws -> (
    metrics: Data, series: Data
  )? {
    let metrics: Data = try row.decode(atIndex: 10)
    let series: Data = try row.decode(atIndex: 11)
    let checksum: Data? = try row.decode(atIndex: 12)
    let expected = RecordChecksum.outcome(
      key: try row.decode(atIndex: 0), attempt: try row.decode(atIndex: 6), metrics: metrics, series: series,
      artifacts: artifacts)
    return checksum.map({ [UInt8]($0) }) == expected ? (metrics, series) : nil
  }

  /// What is wrong with a record whose checksum matched yet whose bytes do not decode, in a few
  /// words (not the row or the statement, which GRDB's errors spell out).
  static func undecodable(_ error: any Error) -> String {
    if let error = error as? JournalError { return "its bytes do not decode (\(error.message))" }
    return "its bytes do not decode"
  }

  /// Why a row whose first six columns are ``runColumns`` no longer belongs to its key, or nil.
  /// A run key is the SHA-256 of the canonical text of (experiment, parameters, seed), so the row
  /// checks itself.
  static func runRowProblem(_ row: Row) -> String? {
    guard let key = try? row.decode(String.self, atIndex: 0),
      let experiment = try? row.decode(String.self, atIndex: 2),
      let parameters = try? row.decode(String.self, atIndex: 4),
      let seed = try? row.decode(Int64.self, atIndex: 5)
    else { return "a column is unreadable" }
    let recomputed = RunKey(
      experiment: experiment, parametersJSON: parameters, seed: UInt64(bitPattern: seed))
    return recomputed.hex == key ? nil : "its experiment, parameters or seed no longer hash to its key"
  }

  /// Why a row of ``runColumns`` then a checkpoint's attempt, steps, data and checksum does not
  /// match its checksum, or nil.
  static func checkpointProblem(_ row: Row) -> String? {
    guard let key = try? row.decode(String.self, atIndex: 0),
      let steps = try? row.decode(Int64.self, atIndex: 7),
      let data = try? row.decode(Data.self, atIndex: 8)
    else { return "a column is unreadable" }
    // A NULL checksum (or one that does not read as bytes) never matches.
    let checksum = (try? row.decode(Data?.self, atIndex: 9)).flatMap { $0 }.map { [UInt8]($0) }
    let expected = RecordChecksum.checkpoint(key: key, stepsDone: steps, data: data)
    return checksum == expected ? nil : "checksum mismatch (at step \(steps))"
  }

  /// A damaged record described by a row whose first six columns are ``runColumns`` (any of them
  /// may be what is damaged: what cannot be read shows as `?`).
  static func damage(_ kind: DamagedRecord.Kind, _ row: Row, attempt: Int64?, _ problem: String)
    -> DamagedRecord
  {
    let key = (try? row.decode(String.self, atIndex: 0)) ?? "?"
    let seed = (try? row.decode(Int64.self, atIndex: 5)) ?? 0
    return DamagedRecord(
      kind: kind, key: RunKey(hex: key), variant: (try? row.decode(String.self, atIndex: 3)) ?? "?",
      seed: UInt64(bitPattern: seed), attempt: attempt.map { UInt64(bitPattern: $0) }, problem: problem)
  }
}
