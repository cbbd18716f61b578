import ArgumentParser
import Foundation
import Journal
import SweepModel

struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show a sweep's progress from its journal: counts, failures, and a variant x seed grid.",
    discussion: "Grid: # done, > running, x failed, . pending. Safe while the sweep runs (read-only).")

  @Argument(help: "The sweep's output folder (holding journal.sqlite).")
  var directory: String

  func run() throws {
    try withErrorFunnel {
      let path = SweepRunner.journalPath(directory)
      guard FileManager.default.fileExists(atPath: path) else {
        throw SpecError(file: path, location: nil, field: "", message: "no journal here: is \(directory) a sweep's output folder?")
      }
      let journal = try Journal(path: path, readOnly: true)
      let counts = try journal.counts()
      let name = try journal.sweepInfo()?.name ?? directory
      print("\(name): \(counts.done)/\(counts.total) done, \(counts.leased) running, \(counts.failed) failed, \(counts.pending) pending")
      print(Self.grid(try journal.runStates()))
      for failed in try journal.failedRuns() {
        print("failed: \(failed.run.variant) seed \(failed.run.seed) after \(failed.failures) attempts: \(failed.error)")
      }
    }
  }

  /// One line per variant (in sweep order), one character per seed.
  static func grid(_ states: [RunState]) -> String {
    var variants: [String] = []
    var rows: [String: String] = [:]
    for run in states {
      if rows[run.variant] == nil { variants.append(run.variant) }
      let mark: Character =
        switch run.state {
        case .done: "#"
        case .running: ">"
        case .failed: "x"
        case .pending: "."
        }
      rows[run.variant, default: ""].append(mark)
    }
    let width = variants.map(\.count).max() ?? 0
    return variants.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + rows[$0]! }
      .joined(separator: "\n")
  }
}
