/// A worker's routing identity on the coordinator's ROUTER socket.
public struct WorkerID: Sendable, Hashable, CustomStringConvertible {
  /// The identity bytes libzmq delivers as the first frame of every message from this worker.
  public var bytes: [UInt8]
  public init(_ bytes: [UInt8]) { self.bytes = bytes }
  public var description: String {
    bytes.allSatisfy { $0 >= 0x21 && $0 < 0x7f }
      ? String(decoding: bytes, as: UTF8.self) : "0x" + bytes.map { String($0, radix: 16) }.joined()
  }
}

/// Something a state machine wants logged; the shell maps it to swift-log.
public struct LogEvent: Sendable, Equatable {
  /// How loud the event is.
  /// Spelled as swift-log spells its levels, so a shell converts with `Logger.Level(rawValue:)`.
  public enum Level: String, Sendable, Equatable { case debug, info, notice, warning, error }
  public var level: Level
  public var message: String
  /// Ordered key-value pairs (`run`, `attempt`, `worker`).
  public var metadata: [(String, String)]

  public init(_ level: Level, _ message: String, _ metadata: [(String, String)] = []) {
    self.level = level
    self.message = message
    self.metadata = metadata
  }

  public static func == (a: LogEvent, b: LogEvent) -> Bool {
    a.level == b.level && a.message == b.message && a.metadata.elementsEqual(b.metadata) { $0 == $1 }
  }
}
