import Foundation
import SweepModel

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a user's program once, for ``CommandExperiment``: in a fresh working folder (removed
/// afterwards), in a session of its own so that a time-out kills every process it started, with
/// its input on standard input, reading its results from standard output (``ProgramOutput``) and
/// keeping the rest of both streams in bounded logs. Synchronous: experiments run on worker
/// threads (``SpawnedProgram`` says why not swift-subprocess).
enum CommandRunner {
  /// What to run and how.
  struct Settings: Sendable {
    /// The program and its arguments. A first word without `/` is looked up on PATH; a relative
    /// path is taken from `directory`, and so is every later word that names a file there.
    var words: [String]
    /// The folder the program's relative paths refer to.
    var directory: String
    /// The bytes its standard input gets.
    var input: [UInt8] = []
    /// Variables added to this process's environment.
    var environment: [String: String] = [:]
    /// How long the attempt may take before its process group gets SIGTERM, then SIGKILL 2 s later.
    var timeout: Duration = .seconds(3600)
    /// Bytes kept of each stream's other lines: the first and last halves. Default 64 KiB.
    var logLimit = 64 * 1024
    /// Lines longer than this are cut (the rest is dropped). Default 1 MiB.
    var lineLimit = 1 << 20
  }

  /// How an attempt ended, whatever it printed.
  struct Report: Sendable {
    var status: SpawnedProgram.Status
    var timedOut: Bool
    var output: ProgramOutput
    var standardError: BoundedLog

    /// What `metasweep logs` shows of the attempt: each stream's lines that are not results, under
    /// a heading, a stream that printed nothing left out.
    var logText: String {
      var text = ""
      for (name, log) in [("standard output", output.log), ("standard error", standardError)]
      where !log.isEmpty {
        text += "--- \(name) ---\n" + log.text
      }
      return text
    }
  }

  /// Runs the program and returns its outcome, or throws ``ExperimentError`` saying why the attempt
  /// failed (exit status, signal, time-out, a malformed result line, no `done` line) with the last
  /// lines of its standard error. Blocks the calling thread.
  static func run(_ settings: Settings) throws -> Outcome {
    let report = try execute(settings)
    let output = report.output
    AttemptLog.current?.record(report.logText)
    var reason: String?
    if report.timedOut {
      reason = "timed out after \(settings.timeout.inSeconds) s; its process group was killed"
    } else if let problem = output.problem {
      reason = "printed a malformed result line: \(problem)"
    } else if case .signaled(let signal) = report.status {
      reason = "was killed by signal \(signal)"
    } else if case .exited(let code) = report.status, code != 0 {
      reason = "exited with status \(code)"
    } else if !output.isDone {
      reason = "ended without printing `\(ProgramOutput.marker){\"done\": true}`"
    }
    if let reason {
      let tail = report.standardError.lastLines(20)
      throw ExperimentError(
        message: "command `\(settings.words.joined(separator: " "))` \(reason)"
          + (tail.isEmpty ? "" : "; the end of its standard error:\n" + tail.joined(separator: "\n")))
    }
    return try output.outcome()
  }

  /// Runs the program to its end (or its time-out) and reports what happened.
  static func execute(_ settings: Settings) throws -> Report {
    guard let first = settings.words.first else { throw ExperimentError(message: "command: nothing to run") }
    // A program that exits without reading its input must not take this process with it.
    signal(SIGPIPE, SIG_IGN)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "metasweep-command-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }

    let program = first.contains("/") ? absolute(first, in: settings.directory) : first
    let arguments =
      [program]
      + settings.words.dropFirst().map { word -> String in
        let path = absolute(word, in: settings.directory)
        return !word.hasPrefix("/") && !word.hasPrefix("-") && FileManager.default.fileExists(atPath: path)
          ? path : word
      }
    var environment = ProcessInfo.processInfo.environment
    // The worker's own secrets (the CURVE key `metasweep run` hands its local workers) are not the
    // program's business.
    for name in environment.keys where name.hasPrefix("METASWEEP_") { environment[name] = nil }
    environment.merge(settings.environment) { _, new in new }
    environment["METASWEEP_PROGRAM_DIR"] = settings.directory
    environment["METASWEEP_WORK_DIR"] = folder.path

    let child = try SpawnedProgram(
      program: program, arguments: arguments, environment: environment, directory: folder.path)
    var output = ProgramOutput(logLimit: settings.logLimit)
    var errors = BoundedLog(limit: settings.logLimit)
    var outLines = LineSplitter(limit: settings.lineLimit)
    var errLines = LineSplitter(limit: settings.lineLimit)
    let deadline = ContinuousClock.now + settings.timeout
    var timedOut = false
    var killAt: ContinuousClock.Instant?
    child.communicate(
      input: settings.input,
      stdout: { outLines.feed($0) { output.consume(line: $0) } },
      stderr: { errLines.feed($0) { errors.append($0) } },
      tick: {
        let now = ContinuousClock.now
        if !timedOut && now >= deadline {
          // The whole session: the program and everything it started.
          timedOut = true
          child.signalGroup(SIGTERM)
          killAt = now + .seconds(2)
        } else if let at = killAt, now >= at {
          child.signalGroup(SIGKILL)
          killAt = nil
        }
      })
    outLines.finish { output.consume(line: $0) }
    errLines.finish { errors.append($0) }
    return Report(status: child.status, timedOut: timedOut, output: output, standardError: errors)
  }

  /// `word` as an absolute path: itself when it starts with `/`, else under `directory`.
  static func absolute(_ word: String, in directory: String) -> String {
    word.hasPrefix("/") || directory.isEmpty ? word : directory + "/" + word
  }
}
