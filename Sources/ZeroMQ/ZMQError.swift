import CZeroMQ

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed libzmq call: what went wrong, in words that say what to do, and the `errno` behind it.
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The kind of failure, from the `errno` libzmq reported.
  public enum Code: Sendable, Hashable {
    /// `EADDRINUSE`: another socket or process already listens on the address.
    case addressInUse
    /// `EADDRNOTAVAIL`: the address is not one of this host's interfaces.
    case addressNotAvailable
    /// `EINVAL` on bind/connect, `EPROTONOSUPPORT`, `ENOCOMPATPROTO`: the endpoint text is wrong.
    case invalidEndpoint
    /// `ENOENT` on unbind/disconnect: the socket is not bound or connected to that endpoint.
    case endpointNotFound
    /// `EINTR`: a signal arrived during a blocking call; check your stop flag and call again.
    case interrupted
    /// `EAGAIN`: the operation would block (non-blocking call, timeout or high-water mark).
    case again
    /// `ETERM`: the context was shut down; the owning loop should close its sockets and return.
    case terminated
    /// `EHOSTUNREACH`: a ROUTER with `routerMandatory` has no peer with that routing id.
    case hostUnreachable
    /// `EINVAL` elsewhere: an option value or argument libzmq does not accept.
    case invalidArgument
    /// `EMFILE`: the process or context ran out of sockets or file descriptors.
    case tooManySockets
    /// Any other `errno`.
    case other(Int32)

    /// The code for an `errno` value from libzmq.
    public init(errno value: Int32) {
      switch value {
      case EADDRINUSE: self = .addressInUse
      case EADDRNOTAVAIL: self = .addressNotAvailable
      case EPROTONOSUPPORT, ENOCOMPATPROTO: self = .invalidEndpoint
      case ENOENT: self = .endpointNotFound
      case EINTR: self = .interrupted
      case EAGAIN: self = .again
      case ETERM: self = .terminated
      case EHOSTUNREACH: self = .hostUnreachable
      case EINVAL: self = .invalidArgument
      case EMFILE: self = .tooManySockets
      default: self = .other(value)
      }
    }
  }

  public var code: Code
  /// One readable sentence or two: what failed and what to do about it.
  public var message: String
  /// The `errno` libzmq reported (0 when the error did not come from libzmq).
  public var errno: Int32

  public init(code: Code, message: String, errno: Int32 = 0) {
    self.code = code
    self.message = message
    self.errno = errno
  }

  public var description: String { message }

  /// The error for the current `zmq_errno()` after a failed call described by `operation`
  /// (`"bind tcp://*:5555"`), with a hint for the common cases.
  static func last(_ operation: String) -> ZMQError {
    make(errno: zmq_errno(), operation)
  }

  static func make(errno value: Int32, _ operation: String) -> ZMQError {
    var code = Code(errno: value)
    let reason = String(cString: zmq_strerror(value))
    let hint: String
    switch code {
    case .addressInUse:
      hint = "address in use. Is another coordinator running? Pass --port, or port 0 for any free port."
    case .addressNotAvailable:
      hint = "\(reason). The address is not an interface of this host; use 127.0.0.1, * or this host's IP."
    case .invalidEndpoint:
      hint = "\(reason). Write endpoints as tcp://HOST:PORT, ipc:///path or inproc://name."
    case .invalidArgument where operation.hasPrefix("bind ") || operation.hasPrefix("connect "):
      code = .invalidEndpoint
      hint = "invalid endpoint. Write endpoints as tcp://HOST:PORT, ipc:///path or inproc://name."
    case .endpointNotFound:
      hint = "\(reason). The socket is not bound or connected to that endpoint."
    case .interrupted:
      hint = "interrupted by a signal. Check the stop flag and call again."
    case .terminated:
      hint = "the ZeroMQ context was shut down. Close the socket and leave the loop."
    case .hostUnreachable:
      hint = "no connected peer has that routing id (it left or never said hello)."
    case .tooManySockets:
      hint = "\(reason). Raise the file limit (ulimit -n) or close unused sockets."
    case .again:
      hint = "\(reason) (the call would block: timeout or high-water mark reached)."
    case .invalidArgument, .other:
      hint = "\(reason)."
    }
    return ZMQError(code: code, message: "Cannot \(operation): \(hint)", errno: value)
  }
}
