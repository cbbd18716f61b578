import ArgumentParser
import Foundation
import Logging

/// Options every long-running command shares.
struct LoggingOptions: ParsableArguments {
  @Option(help: "Log level: trace, debug, info, notice, warning, error.")
  var logLevel: String = "notice"

  /// Sets up swift-log on standard error at the chosen level.
  func bootstrap(label: String) -> Logger {
    let level = Logger.Level(rawValue: logLevel) ?? .notice
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    return Logger(label: label)
  }
}

/// Options that shape how a sweep is served.
struct ServeOptions: ParsableArguments {
  @Option(help: "Seconds between heartbeats.")
  var heartbeat: Double = 0.5

  @Option(help: "Seconds of silence after which a worker's runs are leased again.")
  var workerTimeout: Double = 5

  @Option(help: "Failed attempts after which a run is marked failed.")
  var retries: Int = 3

  @Option(
    help: """
      Seconds a worker may hold runs without reporting any before they go to other workers: at least \
      this, and at least 10 times the longest run reported so far.
      """)
  var stallTimeout: Double = 60

  @Flag(
    help:
      "Continue chained runs from checkpoints another build wrote (results differ from an uninterrupted run)."
  )
  var allowOtherBuild = false

  @Flag(
    help: """
      Keep the outcomes of runs whose program (the command experiment's files) was edited since they \
      ran, in place of running them again with the edited program; MANIFEST.json lists them.
      """)
  var keepResults = false

  @Option(
    help: """
      Runs queued on each worker beyond its slots (hides the round trip between short runs); runs \
      shorter than 25 ms are queued deeper, up to 256 per worker, runs of a second or more not at \
      all. 0: no queue at all.
      """)
  var prefetch: Int = 1

  @Option(
    help: """
      Seconds between checkpoints of a run spread over workers in rounds (also after its last round, \
      and on stopping): a killed coordinator resumes from the last one.
      """)
  var roundCheckpointSeconds: Double = 10

  @Option(
    help: """
      How the workers of a run in rounds share their shard gradients: peers (directly, each taking \
      every step itself, in epochs of about a second leased to a group of workers) or coordinator \
      (through the coordinator, which takes each step: for workers that cannot reach each other).
      """)
  var roundExchange: String = "peers"

  @Option(
    help: """
      About how many seconds an epoch of rounds lasts (--round-exchange peers): groups of workers \
      change, and a lost worker's rounds are computed again, only at an epoch's ends.
      """)
  var epochSeconds: Double = 1

  func validate() throws {
    guard epochSeconds > 0 && epochSeconds <= 3600 else {
      throw ValidationError("--epoch-seconds must be in (0, 3600], got \(epochSeconds).")
    }
    guard ["peers", "coordinator"].contains(roundExchange) else {
      throw ValidationError("--round-exchange must be peers or coordinator, got '\(roundExchange)'.")
    }
    guard roundCheckpointSeconds >= 0 else {
      throw ValidationError("--round-checkpoint-seconds must not be negative.")
    }
    guard heartbeat > 0, workerTimeout > heartbeat else {
      throw ValidationError("--worker-timeout must be longer than --heartbeat, and both positive.")
    }
    guard retries >= 1 else { throw ValidationError("--retries must be at least 1.") }
    guard stallTimeout > 0 else { throw ValidationError("--stall-timeout must be positive.") }
    guard (0...1024).contains(prefetch) else { throw ValidationError("--prefetch must be in 0...1024.") }
  }
}

/// Runs `body`, turning our errors into readable lines, each starting `error: `, and an exit code:
/// 2 for bad input (sweep files, parameters), 1 for everything else. Users never see a stack trace.
func withErrorFunnel<T>(_ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch let error as ExitCode {
    throw error
  } catch let error as CleanExit {
    throw error
  } catch let error as any UserFacingError {
    // One line per problem (a sweep file's ``SpecProblems``), each one greppable on its own.
    let lines = error.userMessage.split(separator: "\n", omittingEmptySubsequences: false)
    FileHandle.standardError.write(Data(lines.map { "error: \($0)\n" }.joined().utf8))
    throw ExitCode(error.exitCode)
  } catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    throw ExitCode(1)
  }
}

/// An error with a message for users and an exit code.
protocol UserFacingError: Error {
  var userMessage: String { get }
  var exitCode: Int32 { get }
}
