import SweepModel

/// Encodes and decodes ``WireMessage`` to and from ZeroMQ frames (placeholder).
public enum WireCodec {
  /// Bumped on every incompatible change of the wire format (see CHANGELOG.md).
  public static let protocolVersion: UInt16 = 1

  public static func encode(_ message: WireMessage) -> [[UInt8]] { fatalError("not implemented") }

  public static func decode(_ frames: [[UInt8]]) throws(WireError) -> WireMessage {
    throw WireError(code: .malformed, message: "not implemented")
  }
}

/// A message that cannot be decoded; it is dropped and counted, never a crash.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Code: Sendable, Equatable {
    case badMagic, unsupportedVersion, unknownKind, truncated, oversized, malformed
  }
  public var code: Code
  public var message: String
  public init(code: Code, message: String) {
    self.code = code
    self.message = message
  }
  public var description: String { message }
}
