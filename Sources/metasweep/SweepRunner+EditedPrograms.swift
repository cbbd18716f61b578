import Journal
import SweepModel

/// The runs of a sweep whose program was edited since they ran: the same experiment, variant,
/// seed and parameters, but another `program_sha256`. The edit gives them new keys, so they run
/// again; `--keep-results` keeps the old outcomes in their place instead.
struct EditedPrograms: Equatable {
  /// Done runs of the previous version of the sweep that the edit makes run again.
  var invalidated: [RunKey: RunKey] = [:]
  /// Done runs kept in place of a run of the edited program (kept key → the new key).
  var kept: [RunKey: RunKey] = [:]
  /// The program hashes involved, old → new, for the message.
  var hashes: Set<String> = []

  static let hashParameter = "program_sha256"

  /// A run's identity without its program's hash.
  struct Identity: Hashable {
    var experiment: String
    var variant: String
    var seed: UInt64
    var parameters: String

    init(_ run: RunSpec) {
      experiment = run.experiment
      variant = run.variant
      seed = run.seed
      var parameters = run.parameters
      parameters[EditedPrograms.hashParameter] = nil
      self.parameters = CanonicalJSON.parameters(parameters)
    }
  }

  /// Matches `runs` (the sweep about to be prepared) with the journal's `done` runs. A run whose key
  /// is done needs nothing. Otherwise the done run with its identity and another program hash (the
  /// one of the sweep as last prepared, else the latest to finish) is kept in its place when
  /// `keep` says so, or when the sweep kept it for that very run before (`keptBefore`); else it
  /// counts as invalidated if it belonged to the sweep as last prepared. Kept runs replace their
  /// run in `runs`, at its ordinal.
  static func reconcile(
    _ runs: inout [RunSpec], done: [DoneRun], keptBefore: [RunKey: RunKey], keep: Bool
  ) -> EditedPrograms {
    var result = EditedPrograms()
    guard !done.isEmpty else { return result }
    let doneKeys = Set(done.map(\.run.key))
    var candidates: [Identity: DoneRun] = [:]
    for entry in done {
      let identity = Identity(entry.run)
      if let other = candidates[identity],
        other.isAttached && !entry.isAttached
          || (other.isAttached == entry.isAttached && other.finishedAt >= entry.finishedAt)
      {
        continue
      }
      candidates[identity] = entry
    }
    for index in runs.indices {
      let run = runs[index]
      guard run.parameters[hashParameter] != nil, !doneKeys.contains(run.key),
        let old = candidates[Identity(run)],
        old.run.parameters[hashParameter] != run.parameters[hashParameter]
      else { continue }
      if keep || keptBefore[old.run.key] == run.key {
        result.kept[old.run.key] = run.key
        var kept = old.run
        kept.ordinal = run.ordinal
        kept.inputs = run.inputs
        runs[index] = kept
      } else if old.isAttached {
        result.invalidated[old.run.key] = run.key
      } else {
        continue
      }
      if case .string(let before) = old.run.parameters[hashParameter],
        case .string(let after) = run.parameters[hashParameter]
      {
        result.hashes.insert("\(before.prefix(12)) → \(after.prefix(12))")
      }
    }
    return result
  }
}

extension SweepRunner {
  /// Finds the runs an edit of their program invalidated, keeps them (``EditedPrograms``) when
  /// asked, says which, and records what is kept for `report` and later resumes.
  func reconcileEditedPrograms(_ runs: inout [RunSpec], journal: Journal) throws {
    let keptBefore = try journal.keptRunKeys()
    // Sweeps of built-in experiments have no program to edit: no scan of the journal's runs.
    guard runs.contains(where: { $0.parameters[EditedPrograms.hashParameter] != nil }) else {
      if !keptBefore.isEmpty { try journal.recordKept([:]) }
      return
    }
    let done = try journal.doneRuns(withParameter: EditedPrograms.hashParameter)
    guard !done.isEmpty || !keptBefore.isEmpty else { return }
    let edits = EditedPrograms.reconcile(&runs, done: done, keptBefore: keptBefore, keep: serve.keepResults)
    let change = edits.hashes.sorted().joined(separator: ", ")
    if !edits.invalidated.isEmpty {
      let message =
        "The program changed (program_sha256 \(change)): \(edits.invalidated.count) runs done with the previous "
        + "version run again. --keep-results keeps their outcomes instead."
      logger.notice("\(message)")
    }
    if !edits.kept.isEmpty {
      let message =
        "Keeping \(edits.kept.count) runs done with an earlier version of the program (program_sha256 \(change)) "
        + "in place of running the current one; MANIFEST.json lists them."
      logger.notice("\(message)")
    }
    if edits.kept != keptBefore { try journal.recordKept(edits.kept) }
  }
}
