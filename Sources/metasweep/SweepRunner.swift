import Coordinator
import Foundation
import Journal
import Logging
import SweepModel
import SweepProtocol
import ZeroMQ

/// Reading sweep files for the commands.
enum SweepFile {
  /// The text of the sweep file at `path`.
  static func read(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw SpecError(file: path, location: nil, field: "", message: "cannot read the sweep file (does it exist?)")
    }
    return String(decoding: data, as: UTF8.self)
  }

  static func parse(_ text: String, file: String) throws -> SweepSpec {
    try SweepSpec.parse(yaml: text, file: file)
  }
}

/// One sweep served to completion: journal, coordinator, local workers, report.
struct SweepRunner {
  var directory: String
  var serve: ServeOptions
  var logger: Logger
  /// Local worker processes: this same binary started as `metasweep worker`, restarted when one
/// dies (a crash or a kill -9 costs only its run in flight), killed when the sweep stops.
final class LocalWorkerPool {
  private var processes: [Process] = []
  private let endpoint: String
  private let logDirectory: String
  private var restarts = 0
  /// Restarts allowed before the pool gives up (a worker that crashes on start would loop).
  private let restartLimit: Int

  init(count: Int, endpoint: String, logDirectory: String) throws {
    self.endpoint = endpoint
    self.logDirectory = logDirectory
    self.restartLimit = 5 * count
    guard count > 0 else { return }
    try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
    for index in 0..<count { processes.append(try start(index)) }
  }

  private func start(_ index: Int) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: BuildInfo.executablePath)
    process.arguments = [
      "worker", "--connect", endpoint, "--slots", "1", "--name", "local-\(index)", "--parent-pid", "\(getpid())",
    ]
    let logPath = "\(logDirectory)/worker-\(index).log"
    if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
    let log = FileHandle(forWritingAtPath: logPath)
    _ = try? log?.seekToEnd()
    process.standardOutput = log
    process.standardError = log
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return process
  }

  /// Starts a new worker in place of each one that exited, within the restart limit.
  func restartExited() {
    for index in processes.indices where !processes[index].isRunning && restarts < restartLimit {
      restarts += 1
      if let process = try? start(index) { processes[index] = process }
    }
  }

  /// Whether every worker has exited and no restart is left.
  var hasGivenUp: Bool {
    !processes.isEmpty && restarts >= restartLimit && processes.allSatisfy { !$0.isRunning }
  }

  /// Waits up to `seconds` for the workers to leave by themselves.
  func waitForExit(seconds: Double) {
    let deadline = Date().addingTimeInterval(seconds)
    while processes.contains(where: \.isRunning) && Date() < deadline { usleep(10_000) }
  }

  /// Kills workers still running and reaps them.
  func stop() {
    for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    for process in processes { process.waitUntilExit() }
  }
}
