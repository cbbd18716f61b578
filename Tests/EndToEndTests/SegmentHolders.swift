import Foundation
import GRDB

/// The journal of the results folder `out`, read-only.
func database(_ out: URL) throws -> DatabaseQueue {
  var configuration = Configuration()
  configuration.readonly = true
  return try DatabaseQueue(
    path: out.appendingPathComponent("journal.sqlite").path, configuration: configuration)
}

/// Attempts (leases of whole runs or segments) of `experiment`'s runs so far.
func segmentAttempts(_ out: URL, experiment: String) throws -> Int {
  try database(out).read { db in
    try Int.fetchOne(
      db, sql: "SELECT count(*) FROM attempts a JOIN runs r ON r.key = a.run_key WHERE r.experiment = ?",
      arguments: [experiment]) ?? 0
  }
}

/// The name of the worker holding a run or segment of `experiment` now, if one does.
func segmentHolder(_ out: URL, experiment: String) -> String? {
  try? database(out).read { db in
    try String.fetchOne(
      db,
      sql: """
        SELECT a.worker FROM attempts a JOIN runs r ON r.key = a.run_key
        WHERE r.experiment = ? AND a.ended_at IS NULL ORDER BY a.id DESC LIMIT 1
        """, arguments: [experiment])
  }
}

/// The child of `coordinator` started as `metasweep worker ... --name name`.
func workerProcess(named name: String, of coordinator: Int32) -> Int32? {
  childProcesses(of: coordinator).first { pid in
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
    let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    return zip(arguments, arguments.dropFirst()).contains { $0 == "--name" && $1 == name }
  }
}
