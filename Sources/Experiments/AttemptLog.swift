import Synchronization

/// The text an attempt printed that is not a result (a user's program's standard output and
/// standard error), which the worker sends with the attempt's report and the coordinator journals
/// for `metasweep logs`. A worker binds one to ``current`` around each attempt; an experiment with
/// something to say records it there. Built-in experiments print nothing.
public final class AttemptLog: Sendable {
  /// The log of the attempt this thread is running, if its caller keeps one.
  @TaskLocal public static var current: AttemptLog?

  /// The most bytes a log keeps (what is recorded beyond it is cut, saying so).
  public static let maxBytes = 256 * 1024

  private let storage = Mutex<[UInt8]>([])

  public init() {}

  /// Adds `text`, cut at ``maxBytes`` in all.
  public func record(_ text: String) {
    storage.withLock { bytes in
      let room = Self.maxBytes - bytes.count
      guard room > 0 else { return }
      let utf8 = Array(text.utf8)
      if utf8.count <= room {
        bytes += utf8
      } else {
        let note = Array("\n[... log cut at \(Self.maxBytes) bytes ...]\n".utf8)
        bytes += utf8.prefix(max(room - note.count, 0)) + note
      }
    }
  }

  /// What was recorded, as UTF-8.
  public var bytes: [UInt8] { storage.withLock { $0 } }
}
