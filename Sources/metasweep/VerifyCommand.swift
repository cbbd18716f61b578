import ArgumentParser
import Foundation
import Journal

struct VerifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check a sweep's journal: SQLite's integrity check, and every run, outcome and checkpoint.",
    discussion: """
      Exit 0 when everything is intact; 3 when records are damaged (`metasweep resume` runs their
      runs again; `report` leaves them out of the tables); 2 when the journal cannot be opened.
      Reads only: safe while the sweep runs.
      """)

  @Argument(help: "The sweep's output folder (holding journal.sqlite).")
  var directory: String

  func run() throws {
    let code = try withErrorFunnel { () throws -> Int32 in
      let path = SweepRunner.journalPath(directory)
      guard FileManager.default.fileExists(atPath: path) else {
        throw JournalError(.cannotOpen, "No journal at \(path): is \(directory) a sweep's output folder?")
      }
      let result: JournalVerification
      do {
        result = try Journal(path: path, readOnly: true).verify()
      } catch let error as JournalError where error.code == .corruptData {
        // So damaged that SQLite cannot even start reading: that is the finding.
        print("\(path): \(error)")
        return 3
      }
      if result.sqliteProblems.isEmpty {
        print("\(path): SQLite's integrity check: ok")
      } else {
        print("\(path): SQLite's integrity check found \(result.sqliteProblems.count) problems:")
        for problem in result.sqliteProblems.prefix(20) { print("  \(problem)") }
        print("  The file itself is damaged: restore it from a backup, or rerun the sweep in a new folder.")
      }
      if result.isSweepFileDamaged {
        print(
          "The stored copy of the sweep file is damaged: `metasweep run SWEEP.yaml --out \(directory)` with the "
            + "original file stores it again.")
      }
      var counted = "\(result.runs) runs, \(result.outcomes) outcomes, \(result.checkpoints) checkpoints"
      if result.artifacts > 0 { counted += ", \(result.artifacts) artifacts" }
      if result.damaged.isEmpty {
        print("\(counted): every checksum and run key matches")
      } else {
        print(
          "\(counted): \(result.damaged.count) damaged (`metasweep resume \(directory)` runs them again):")
        for record in result.damaged { print("  \(record)") }
      }
      return result.isIntact ? 0 : 3
    }
    if code != 0 { throw ExitCode(code) }
  }
}
