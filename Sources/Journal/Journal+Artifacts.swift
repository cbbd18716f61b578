import Foundation
import GRDB
import SweepModel

/// An artifact a finished run made, as the journal records it: its name and where the store keeps
/// its bytes.
public struct StoredArtifact: Sendable, Hashable {
  public var name: String
  public var reference: ArtifactStore.Reference

  public init(name: String, reference: ArtifactStore.Reference) {
    self.name = name
    self.reference = reference
  }
}

// Artifacts: the files an outcome carries live in the results folder's ``ArtifactStore``; the
// journal records, with the outcome and in its transaction, each one's name, hash and size and the
// run that made it. A missing or damaged file, or a damaged row, makes the run's outcome damaged:
// never tabulated or handed on, and run again by `resume`.
extension Journal {
  /// v7: one row per artifact of a finished run.
  static let schemaArtifacts = """
    CREATE TABLE artifacts (
      run_key TEXT NOT NULL REFERENCES runs(key),
      name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
      sha256 TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
      size INTEGER NOT NULL CHECK (size >= 0),
      checksum BLOB NOT NULL,
      PRIMARY KEY (run_key, name)
    ) STRICT;
    CREATE INDEX artifacts_by_hash ON artifacts(sha256);
    """

  /// The store beside this journal (`<results>/artifacts`).
  public var artifactStore: ArtifactStore { ArtifactStore(journalPath: path) }

  /// Writes `artifacts` into the store, before their outcome's transaction: a crash in between
  /// leaves only files no row names.
  func storeArtifacts(_ artifacts: [Artifact]) throws -> [StoredArtifact] {
    guard !artifacts.isEmpty else { return [] }
    if let problem = Artifact.problem(with: artifacts) {
      throw JournalError(.invalidArgument, "Cannot record the outcome: \(problem).")
    }
    let store = artifactStore
    do {
      return try artifacts.map { StoredArtifact(name: $0.name, reference: try store.store($0.bytes)) }
    } catch let error as ArtifactStoreError {
      throw JournalError(.cannotOpen, error.message, cause: error)
    }
  }

  /// Records the rows of run `key`'s artifacts, in the transaction that records its outcome.
  func insertArtifactRows(_ db: Database, key: RunKey, _ artifacts: [StoredArtifact]) throws {
    for artifact in artifacts {
      try db.execute(
        sql: "INSERT INTO artifacts (run_key, name, sha256, size, checksum) VALUES (?, ?, ?, ?, ?)",
        arguments: [
          key.hex, artifact.name, artifact.reference.sha256, Int64(artifact.reference.size),
          Data(
            RecordChecksum.artifact(
              key: key.hex, name: artifact.name, sha256: artifact.reference.sha256,
              size: Int64(artifact.reference.size))),
        ])
    }
  }

  /// The artifacts finished run `key` made, in name order, each checked (its row and its file).
  /// Throws `.corruptData` naming what is damaged; `resume` runs such a run again.
  public func artifacts(of key: RunKey) throws -> [StoredArtifact] {
    let (artifacts, problem) = try read("artifacts of run \(key.short)") { db in
      try Self.checkedArtifacts(db, keys: [key.hex])[key.hex] ?? ([], nil)
    }
    if let problem {
      throw JournalError(
        .corruptData,
        "Run \(key.short)'s artifacts are damaged (\(problem)): `metasweep resume` runs it again.")
    }
    return artifacts
  }

  /// The bytes of the artifact `name` of finished run `key`, checked against the journal's record.
  public func artifactBytes(of key: RunKey, named name: String) throws -> [UInt8] {
    guard let artifact = try artifacts(of: key).first(where: { $0.name == name }) else {
      throw JournalError(.unknownRun, "Run \(key.short) made no artifact named '\(name)'.")
    }
    do {
      return try artifactStore.read(artifact.reference)
    } catch let error as ArtifactStoreError {
      throw JournalError(.corruptData, error.message, cause: error)
    }
  }

  /// The artifacts of the runs in `keys` (all runs when nil), by run key, each with the first
  /// problem found with its rows or files (nil when every one is intact).
  static func checkedArtifacts(_ db: Database, keys: Set<String>?) throws -> [String: (
    [StoredArtifact], String?
  )] {
    var out: [String: ([StoredArtifact], String?)] = [:]
    // A journal no coordinator has migrated to v7 yet, read by `report` or `verify`: no artifacts.
    guard try db.tableExists("artifacts") else { return out }
    let rows = try Row.fetchCursor(
      db, sql: "SELECT run_key, name, sha256, size, checksum FROM artifacts ORDER BY run_key, name")
    while let row = try rows.next() {
      guard let key = try? row.decode(String.self, atIndex: 0), keys?.contains(key) ?? true else { continue }
      var entry = out[key] ?? ([], nil)
      let name = try? row.decode(String.self, atIndex: 1)
      let sha256 = try? row.decode(String.self, atIndex: 2)
      let size = try? row.decode(Int64.self, atIndex: 3)
      let checksum = try? row.decode(Data.self, atIndex: 4)
      if let name, let sha256, let size, let checksum,
        [UInt8](checksum) == RecordChecksum.artifact(key: key, name: name, sha256: sha256, size: size)
      {
        entry.0.append(StoredArtifact(name: name, reference: .init(sha256: sha256, size: Int(size))))
      } else if entry.1 == nil {
        entry.1 = "the row of artifact '\(name ?? "?")': checksum mismatch"
      }
      out[key] = entry
    }
    return out
  }

  /// The first problem with the files of `artifacts` in `store`, or nil.
  static func fileProblem(_ artifacts: [StoredArtifact], in store: ArtifactStore) -> String? {
    for artifact in artifacts {
      if let problem = store.problem(with: artifact.reference) {
        return "artifact '\(artifact.name)' at \(store.path(of: artifact.reference.sha256)) \(problem)"
      }
    }
    return nil
  }

  /// Every run of the journal, of any version of the sweep, with an outcome (and the artifacts it
  /// made, by name to SHA-256) or failed for good: what a sweep graph's runs are resolved against,
  /// so an unchanged upstream stage is reused whatever the journal's current spec.
  public func outcomeArtifacts() throws -> (done: [RunKey: [String: String]], failed: Set<RunKey>) {
    try read("finished runs' artifacts") { db in
      var done: [RunKey: [String: String]] = [:]
      let rows = try Row.fetchCursor(
        db,
        sql: """
          SELECT runs.key, artifacts.name, artifacts.sha256 FROM runs
          JOIN outcomes ON outcomes.run_key = runs.key
          LEFT JOIN artifacts ON artifacts.run_key = runs.key
          WHERE runs.status = 'done'
          """)
      while let row = try rows.next() {
        guard let key = try? row.decode(String.self, atIndex: 0), Self.isRunKeyText(key) else { continue }
        var made = done[RunKey(hex: key), default: [:]]
        if let name = try? row.decode(String.self, atIndex: 1),
          let hash = try? row.decode(String.self, atIndex: 2)
        {
          made[name] = hash
        }
        done[RunKey(hex: key)] = made
      }
      let failed = try String.fetchAll(db, sql: "SELECT key FROM runs WHERE status = 'failed'")
        .filter(Self.isRunKeyText).map(RunKey.init(hex:))
      return (done, Set(failed))
    }
  }
}

extension RecordChecksum {
  /// The checksum of the row of run `key`'s artifact `name`.
  static func artifact(key: String, name: String, sha256: String, size: Int64) -> [UInt8] {
    var state = SHA256.State()
    state.update(Array("metasweep-artifact-v1\0".utf8))
    state.update(key.utf8)
    state.update(Array(name.utf8) + [0])
    state.update(sha256.utf8)
    withUnsafeBytes(of: UInt64(bitPattern: size).littleEndian) { state.update($0) }
    return state.finalize()
  }
}
