/// A message that cannot be decoded; it is dropped and counted, never a crash.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Code: Sendable, Equatable {
    /// Frame 0 does not start with "MSWP": not a MetaSweep peer.
    case badMagic
    /// The peer speaks another wire protocol version; the message says which.
    case unsupportedVersion
    /// The header names a message kind this build does not know.
    case unknownKind
    /// A frame ends before a field it announces, or a frame is missing.
    case truncated
    /// A count or length is over its cap in ``WireLimits``.
    case oversized
    /// Anything else that is not a well-formed message: bytes left over, extra frames, invalid
    /// UTF-8, an unknown type tag, unsorted or duplicate parameter names.
    case malformed
  }
  public var code: Code
  public var message: String
  public init(code: Code, message: String) {
    self.code = code
    self.message = message
  }
  public var description: String { message }
}
