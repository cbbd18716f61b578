import CZeroMQ

/// One event of a socket's connections, as libzmq's socket monitor reports it.
public struct SocketEvent: Sendable, Equatable {
  /// What happened.
  public enum Kind: Sendable, Equatable {
    /// A connection was made (value: its file descriptor).
    case connected
    /// A connection was lost (value: its file descriptor).
    case disconnected
    /// The security handshake of a connection succeeded.
    case handshakeSucceeded
    /// The handshake failed before any protocol or authentication error (value: errno).
    case handshakeFailedWithoutDetail
    /// The handshake broke the protocol (value: a `ZMQ_PROTOCOL_ERROR_*` code), for instance
    /// because one side uses CURVE and the other plaintext.
    case handshakeFailedProtocol
    /// The peer's authenticator refused us (value: the ZAP status code, e.g. 400).
    case handshakeFailedAuthentication
    /// Any other event, by its libzmq number.
    case other(UInt16)
  }

  public var kind: Kind
  /// The event's number: see ``Kind`` for what it means per kind.
  public var value: UInt32
  /// The endpoint the event concerns.
  public var endpoint: String

  public init(kind: Kind, value: UInt32, endpoint: String) {
    self.kind = kind
    self.value = value
    self.endpoint = endpoint
  }

  /// Whether a handshake failed because the two sides disagree on the security mechanism.
  public var isMechanismMismatch: Bool {
    kind == .handshakeFailedProtocol && value == UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
  }

  /// The event in the two frames libzmq's monitor sends (a 6-byte event number and value, then
  /// the endpoint), or nil when they are not one.
  public init?(frames: [[UInt8]]) {
    guard frames.count == 2, frames[0].count == 6 else { return nil }
    let head = frames[0]
    let number = UInt16(head[0]) | UInt16(head[1]) << 8
    value = UInt32(head[2]) | UInt32(head[3]) << 8 | UInt32(head[4]) << 16 | UInt32(head[5]) << 24
    endpoint = String(decoding: frames[1], as: UTF8.self)
    switch Int32(number) {
    case ZMQ_EVENT_CONNECTED: kind = .connected
    case ZMQ_EVENT_DISCONNECTED: kind = .disconnected
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: kind = .handshakeSucceeded
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: kind = .handshakeFailedWithoutDetail
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: kind = .handshakeFailedProtocol
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: kind = .handshakeFailedAuthentication
    default: kind = .other(number)
    }
  }
}

extension Socket {
  /// The events ``monitor()`` reports: connections made and lost, and every handshake outcome.
  static let monitoredEvents =
    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
    | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH

  /// Starts libzmq's monitor of this socket and returns the socket its events arrive on: poll it
  /// on this socket's thread, and read each event with ``SocketEvent/init(frames:)``.
  ///
  /// A client learns this way what libzmq otherwise keeps to itself: that the server refused its
  /// CURVE key, or that one side speaks CURVE and the other plaintext (its sends would just wait).
  public func monitor() throws(ZMQError) -> Socket {
    let endpoint = "inproc://metasweep-monitor-\(UInt(bitPattern: handle))"
    guard zmq_socket_monitor(handle, endpoint, Self.monitoredEvents) == 0 else {
      throw ZMQError.last("monitor a \(kind) socket")
    }
    let events = try Socket(.pair, context: context)
    try events.connect(endpoint)
    return events
  }

  /// A metadata property of the last message received (``receiveMultipart(maxFrames:maxBytes:wait:)``),
  /// such as `"Peer-Address"` or `"User-Id"` (the name a ZAP handler gave the sender), or nil when
  /// the connection has none. Valid until the next receive.
  public func lastMessageProperty(_ name: String) -> String? {
    zmq_msg_gets(message, name).map { String(cString: $0) }
  }
}
