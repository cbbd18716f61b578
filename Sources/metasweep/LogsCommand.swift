import ArgumentParser
import Foundation
import Journal
import SweepModel

struct LogsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "logs",
    abstract: "Show what a run's attempts printed: each attempt's worker, end and error, and its output.",
    discussion: """
      A run is named by the start of its key (`metasweep status` prints the keys of failed runs), or
      by its variant and seed. Each attempt shows the lines of its program's standard output that
      are not results and its standard error, as the worker kept them (the first and last 32 KiB of
      each). Built-in experiments print nothing. Reads only: safe while the sweep runs.
        metasweep logs results/python-sgd 3f9a1c
        metasweep logs results/python-sgd lr=0.1 4
      """)

  @Argument(help: "The sweep's output folder (holding journal.sqlite).")
  var directory: String

  @Argument(
    help: ArgumentHelp(
      "The start of the run's key (4 hex digits or more), or its variant (then give SEED).", valueName: "run")
  )
  var which: String

  @Argument(help: "The run's seed, when RUN is a variant.")
  var seed: UInt64?

  @Option(help: "Show only this attempt (its number as listed).")
  var attempt: UInt64?

  func run() throws {
    try withErrorFunnel {
      let journal = try Journal(path: try SweepRunner.existingJournalPath(directory), readOnly: true)
      let matches: [RunSpec]
      if let seed {
        matches = try journal.runs(variant: which, seed: seed)
        guard !matches.isEmpty else {
          throw LogsError(message: "\(directory) has no run of variant '\(which)' with seed \(seed)")
        }
      } else {
        let prefix = which.lowercased()
        guard prefix.utf8.count >= 4, prefix.utf8.count <= 64, prefix.allSatisfy(\.isHexDigit) else {
          throw LogsError(
            message:
              "'\(which)' is not the start of a run key (4 to 64 hex digits); for a variant, give its seed too"
          )
        }
        matches = try journal.runs(withKeyPrefix: prefix)
        guard !matches.isEmpty else {
          throw LogsError(message: "\(directory) has no run whose key starts with \(prefix)")
        }
        guard matches.count == 1 else {
          throw LogsError(
            message:
              "\(matches.count) runs' keys start with \(prefix) (\(matches.prefix(5).map(\.key.short).joined(separator: ", "))): give more digits"
          )
        }
      }
      for spec in matches {
        var history = try journal.attemptHistory(of: spec.key)
        if let attempt {
          history = history.filter { $0.attempt == attempt }
          guard !history.isEmpty else {
            throw LogsError(message: "run \(spec.key.short) has no attempt \(attempt)")
          }
        }
        print(Self.render(spec, history), terminator: "")
      }
    }
  }

  /// A run's attempts as text: a heading per attempt, its error, then its log.
  static func render(_ spec: RunSpec, _ history: [AttemptHistory]) -> String {
    var out =
      "run \(spec.key.short) (variant \(spec.variant), seed \(spec.seed)): "
      + (history.count == 1 ? "1 attempt" : "\(history.count) attempts") + "\n"
    for entry in history {
      let ended = entry.endedAt.map { " to \($0)" } ?? ""
      out += "\n== attempt \(entry.attempt) on \(entry.worker): \(entry.state), \(entry.startedAt)\(ended)\n"
      if let message = entry.message, entry.state != "succeeded" { out += message + "\n" }
      if let log = entry.log {
        out += log.hasSuffix("\n") ? log : log + "\n"
      } else if entry.state != "leased" {
        out += "(no output kept)\n"
      }
    }
    return out
  }
}

/// A run that `metasweep logs` cannot find.
struct LogsError: Error, UserFacingError {
  var message: String
  var userMessage: String { message }
  var exitCode: Int32 { 2 }
}
