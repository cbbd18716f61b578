import Foundation
import SweepModel

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a user's program once, for ``CommandExperiment``: in the working folder it is given, in a
/// session of its own so that a time-out kills every process it started, with its input on
/// standard input, reading its results from standard output (``ProgramOutput``) and keeping the
/// rest of both streams in bounded logs. Synchronous: experiments run on worker threads
/// (``SpawnedProgram`` says why not swift-subprocess).
enum CommandRunner {
  /// What to run and how.
  struct Settings: Sendable {
    /// The attempt's fresh working folder (``makeFolder()``), the program's current directory.
    var folder: String
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
    /// Where a resumed run stands: its results so far are kept, and it continues after their step.
    var resumingFrom: CommandCheckpoint?
    /// The program's step at which the segment should end (`stop_at_step`): a program that exits
    /// right after a checkpoint at or past it ends the segment there. nil: run to the end.
    var stopAtStep: Int?
  }

  /// How an attempt ended, whatever it printed.
  struct Report: Sendable {
    var status: SpawnedProgram.Status
    var timedOut: Bool
    var output: ProgramOutput
    var standardError: BoundedLog
    /// The checkpoint the segment ended at (the program exited right after announcing it).
    var segmentEnd: CommandCheckpoint?
    /// Why the checkpoint the segment was to end at cannot be kept.
    var checkpointProblem: String?

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

  /// A fresh, empty working folder for one attempt; the caller removes it.
  static func makeFolder() throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "metasweep-command-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder.path
  }

  /// Runs the program and returns its outcome, or the checkpoint its segment ended at, or throws
  /// ``ExperimentError`` saying why the attempt failed (exit status, signal, time-out, a malformed
  /// result line, no `done` line) with the last lines of its standard error. Blocks the calling
  /// thread.
  static func run(_ settings: Settings) throws -> SegmentOutcome {
    let report = try execute(settings)
    let output = report.output
    AttemptLog.current?.record(report.logText)
    var reason: String?
    if let end = report.segmentEnd {
      return .checkpoint(bytes: end.encoded, stepsDone: end.step, totalSteps: end.total)
    } else if let problem = report.checkpointProblem {
      reason = "ended its segment at a checkpoint that cannot be kept, \(problem)"
    } else if report.timedOut {
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
    do {
      return .finished(try output.outcome(folder: settings.folder))
    } catch let error as ExperimentError {
      throw ExperimentError(message: "command `\(settings.words.joined(separator: " "))`: \(error.message)")
    }
  }

  /// Runs the program to its end (or its time-out) and reports what happened.
  static func execute(_ settings: Settings) throws -> Report {
    guard let first = settings.words.first else { throw ExperimentError(message: "command: nothing to run") }
    // A program that exits without reading its input must not take this process with it.
    signal(SIGPIPE, SIG_IGN)
    let folder = settings.folder

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
    environment["METASWEEP_WORK_DIR"] = folder

    let child = try SpawnedProgram(
      program: program, arguments: arguments, environment: environment, directory: folder)
    var output =
      settings.resumingFrom.map { ProgramOutput(logLimit: settings.logLimit, resumingFrom: $0) }
      ?? ProgramOutput(logLimit: settings.logLimit)
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
    // A segment ends when the program exits cleanly right after a checkpoint at or past the step
    // it was told to stop at: the file is read once the program is gone, so it is the one announced.
    var segmentEnd: CommandCheckpoint?
    var checkpointProblem: String?
    if let stop = settings.stopAtStep, !timedOut, !output.isDone, output.problem == nil,
      child.status == .exited(0), output.endsAtCheckpoint, let mark = output.checkpoint, mark.step >= stop
    {
      do throws(ExperimentError) {
        segmentEnd = output.checkpointed(
          file: try readKeptFile(absolute(mark.path, in: folder), limit: maxCheckpointFileBytes))
      } catch {
        checkpointProblem = "at step \(mark.step): \(error.message)"
      }
    }
    return Report(
      status: child.status, timedOut: timedOut, output: output, standardError: errors, segmentEnd: segmentEnd,
      checkpointProblem: checkpointProblem)
  }

  /// The largest checkpoint file a segment carries (a checkpoint travels in one message).
  static let maxCheckpointFileBytes = 200 << 20

  /// The bytes of the file the program left at `path` (a checkpoint, an artifact), at most `limit`.
  /// - Throws: ``ExperimentError`` naming the path when it is not a readable file or is too large.
  static func readKeptFile(_ path: String, limit: Int) throws(ExperimentError) -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
      let data = FileManager.default.contents(atPath: path)
    else { throw ExperimentError(message: "\(path) is not a readable file") }
    guard data.count <= limit else {
      throw ExperimentError(message: "\(path) has \(data.count) bytes, more than the \(limit) allowed")
    }
    return Array(data)
  }

  /// `word` as an absolute path: itself when it starts with `/`, else under `directory`.
  static func absolute(_ word: String, in directory: String) -> String {
    word.hasPrefix("/") || directory.isEmpty ? word : directory + "/" + word
  }
}
