import Foundation
import Journal
import Testing
import ZeroMQ

/// The real `metasweep` binary, run as a child process.
struct Binary {
  /// `$METASWEEP_BIN`, or the debug build next to this package.
  static var path: String {
    if let path = ProcessInfo.processInfo.environment["METASWEEP_BIN"] { return path }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/metasweep").path
  }

  /// What a finished command printed and returned.
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// A started command.
  final class Running: @unchecked Sendable {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    /// Starts `metasweep arguments...` (or another `executable`'s) in `directory`, with
    /// `environment` added to this process's.
    init(
      _ arguments: [String], directory: URL, environment: [String: String] = [:],
      executable: String = Binary.path
    ) throws {
      stdoutPath = directory.appendingPathComponent("stdout-\(UUID().uuidString).txt").path
      stderrPath = directory.appendingPathComponent("stderr-\(UUID().uuidString).txt").path
      _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
      _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
      process.executableURL = URL(fileURLWithPath: executable)
      process.arguments = arguments
      process.currentDirectoryURL = directory
      if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
      }
      process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
      process.standardError = FileHandle(forWritingAtPath: stderrPath)
      process.standardInput = FileHandle.nullDevice
      try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits for exit (killing the process after `timeout` seconds) and collects its output.
    func wait(timeout: Double = 300) -> Result {
      let deadline = Date().addingTimeInterval(timeout)
      while process.isRunning && Date() < deadline { usleep(20_000) }
      if process.isRunning { kill(pid, SIGKILL) }
      process.waitUntilExit()
      return Result(
        status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
    }
  }

  /// Runs `metasweep arguments...` in `directory` to completion.
  static func run(
    _ arguments: [String], in directory: URL, environment: [String: String] = [:], timeout: Double = 300
  ) throws -> Result {
    try Running(arguments, directory: directory, environment: environment).wait(timeout: timeout)
  }

  /// Runs another program (`/usr/bin/python3`) in `directory` to completion.
  static func runTool(_ executable: String, _ arguments: [String], in directory: URL) throws -> Result {
    try Running(arguments, directory: directory, executable: executable).wait(timeout: 300)
  }
}

/// A fresh temporary folder for one test.
func makeScratchDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent(
    "metasweep-e2e-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Child processes of `pid` (from /proc).
func childProcesses(of pid: Int32) -> [Int32] {
  guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
  return entries.compactMap { Int32($0) }.filter { child in
    guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return false }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 1 && Int32(fields[1]) == pid
  }
}

/// The steps done by the latest journaled checkpoint of each pending run of the results folder
/// `directory` (empty before the first checkpoint, or while no journal can be read).
func checkpointedSteps(_ directory: URL) -> [UInt64] {
  let path = directory.appendingPathComponent("journal.sqlite").path
  guard FileManager.default.fileExists(atPath: path),
    let latest = try? Journal(path: path, readOnly: true).latestCheckpoints()
  else { return [] }
  return latest.values.map(\.stepsDone)
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
func waitUntil(timeout: Double = 120, _ condition: () throws -> Bool) rethrows -> Bool {
  let deadline = Date().addingTimeInterval(timeout)
  while Date() < deadline {
    if try condition() { return true }
    usleep(20_000)
  }
  return false
}

/// A free loopback port: bind to port 0, read what the kernel chose, let it go.
func freeLoopbackPort() throws -> Int {
  let context = try ZMQContext()
  let socket = try Socket(.router, context: context)
  let endpoint = try socket.bind("tcp://127.0.0.1:0")
  return Int(endpoint.split(separator: ":").last!)!
}
