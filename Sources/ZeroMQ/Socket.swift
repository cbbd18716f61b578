import CZeroMQ

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// One libzmq socket, closed when the last reference goes away.
///
/// Not `Sendable`, on purpose: libzmq sockets are not thread-safe. Create a socket on the thread
/// that polls it (a coordinator's or worker's poll loop) and use it only there; hand data to other
/// threads, never the socket.
public final class Socket {
  /// The socket patterns MetaSweep uses.
  public enum Kind: Sendable, Hashable {
    /// The coordinator side: prefixes each received message with the sender's routing id, and sends
    /// a message to the peer named by its first frame.
    case router
    /// The worker side: talks to its peers without envelopes, fair-queued.
    case dealer
    /// Sends to pulls, load-balanced.
    case push
    /// Receives from pushes, fair-queued.
    case pull
    /// Exactly one peer (e.g. an inproc wake-up channel between two threads).
    case pair
    /// A strict reply socket (receive, then send).
    case rep

    var rawValue: Int32 {
      switch self {
      case .router: ZMQ_ROUTER
      case .dealer: ZMQ_DEALER
      case .push: ZMQ_PUSH
      case .pull: ZMQ_PULL
      case .pair: ZMQ_PAIR
      case .rep: ZMQ_REP
      }
    }
  }

  /// The context the socket belongs to (kept alive by the socket).
  public let context: ZMQContext
  public let kind: Kind
  /// How many received messages ``receiveMultipart(maxFrames:maxBytes:wait:)`` dropped because
  /// they had too many frames or bytes.
  public private(set) var droppedMessageCount = 0
  let handle: UnsafeMutableRawPointer
  /// The one message buffer every receive reuses. libzmq forbids copying a live `zmq_msg_t` (small
  /// messages point into the struct itself), so it lives at a stable heap address. After a
  /// receive it holds the last frame, whose connection metadata ``lastMessageProperty(_:)`` reads
  /// (a ROUTER's routing-id frame carries none).
  let message: UnsafeMutablePointer<zmq_msg_t>

  /// A new socket of `kind` in `context`.
  public init(_ kind: Kind, context: ZMQContext) throws(ZMQError) {
    guard let handle = zmq_socket(context.handle, kind.rawValue) else {
      throw ZMQError.last("create a \(kind) socket")
    }
    self.context = context
    self.kind = kind
    self.handle = handle
    message = .allocate(capacity: 1)
    zmq_msg_init(message)
  }

  deinit {
    zmq_msg_close(message)
    message.deallocate()
    zmq_close(handle)
  }

  // MARK: Endpoints

  /// Binds to `endpoint` and returns the endpoint actually bound, so `tcp://127.0.0.1:0` and
  /// `tcp://*:*` give the ephemeral port the system chose (`tcp://127.0.0.1:41234`).
  @discardableResult
  public func bind(_ endpoint: String) throws(ZMQError) -> String {
    var rc: Int32
    repeat { rc = zmq_bind(handle, endpoint) } while rc != 0 && zmq_errno() == EINTR
    guard rc == 0 else { throw ZMQError.last("bind \(endpoint)") }
    return try lastEndpoint()
  }

  /// Connects to `endpoint`; libzmq connects (and reconnects) in the background.
  public func connect(_ endpoint: String) throws(ZMQError) {
    guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("connect \(endpoint)") }
  }

  /// Stops listening on `endpoint` (use the endpoint ``bind(_:)`` returned).
  public func unbind(_ endpoint: String) throws(ZMQError) {
    guard zmq_unbind(handle, endpoint) == 0 else { throw ZMQError.last("unbind \(endpoint)") }
  }

  /// Drops the connection to `endpoint`.
  public func disconnect(_ endpoint: String) throws(ZMQError) {
    guard zmq_disconnect(handle, endpoint) == 0 else { throw ZMQError.last("disconnect \(endpoint)") }
  }

  /// The endpoint of the last bind or connect (`ZMQ_LAST_ENDPOINT`).
  public func lastEndpoint() throws(ZMQError) -> String {
    var buffer = [UInt8](repeating: 0, count: 1024)
    var length = buffer.count
    let rc = buffer.withUnsafeMutableBytes {
      zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, $0.baseAddress, &length)
    }
    guard rc == 0 else { throw ZMQError.last("read the socket's last endpoint") }
    let end = buffer.firstIndex(of: 0) ?? min(length, buffer.count)
    return String(decoding: buffer[..<end], as: UTF8.self)
  }

  // MARK: Sending

  /// Sends one multipart message: every frame but the last goes with `ZMQ_SNDMORE`.
  ///
  /// On a ROUTER the first frame is the peer's routing id. Returns `false` when `wait` is false
  /// and the message cannot be queued now (high-water mark reached); nothing was sent then.
  /// Interrupted calls are retried, so a signal never splits a message.
  @discardableResult
  public func send(frames: [[UInt8]], wait: Bool = true) throws(ZMQError) -> Bool {
    guard !frames.isEmpty else {
      throw ZMQError(code: .invalidArgument, message: "Cannot send a message with no frames.")
    }
    let last = frames.count - 1
    for (index, frame) in frames.enumerated() {
      var flags: Int32 = index < last ? ZMQ_SNDMORE : 0
      // Only the first frame may block: once it is queued, libzmq takes the rest of the message.
      if !wait && index == 0 { flags |= ZMQ_DONTWAIT }
      while true {
        let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
        if rc >= 0 { break }
        let error = zmq_errno()
        if error == EINTR { continue }
        if error == EAGAIN && index == 0 && !wait { return false }
        throw ZMQError.make(errno: error, "send frame \(index + 1) of \(frames.count) on a \(kind) socket")
      }
    }
    return true
  }

  // MARK: Receiving

  /// Receives one whole multipart message, or `nil` when none is ready (`wait` false) or the
  /// receive timeout passed.
  ///
  /// A message with more than `maxFrames` frames or more than `maxBytes` bytes in all is read to
  /// its end without keeping its bytes, counted in ``droppedMessageCount``, and skipped; the call
  /// then goes on to the next message. So a hostile or broken peer cannot make us allocate
  /// unbounded memory, and the socket stays usable. On a ROUTER, frame 0 is the sender's routing id.
  public func receiveMultipart(
    maxFrames: Int = 64, maxBytes: Int = 64 << 20, wait: Bool = true
  ) throws(ZMQError) -> [[UInt8]]? {
    while true {
      var frames: [[UInt8]] = []
      var total = 0
      var isOversized = false
      var isFirst = true
      while true {
        let flags: Int32 = isFirst && !wait ? ZMQ_DONTWAIT : 0
        if zmq_msg_recv(message, handle, flags) < 0 {
          let error = zmq_errno()
          if error == EINTR { continue }
          if error == EAGAIN && isFirst { return nil }
          throw ZMQError.make(errno: error, "receive from a \(kind) socket")
        }
        isFirst = false
        let size = zmq_msg_size(message)
        if !isOversized {
          if frames.count >= maxFrames || size > maxBytes - total {
            isOversized = true
            frames = []
          } else {
            total += size
            frames.append(copyFrame(size: size))
          }
        }
        if zmq_msg_more(message) == 0 { break }
      }
      if !isOversized { return frames }
      droppedMessageCount += 1
    }
  }

  private func copyFrame(size: Int) -> [UInt8] {
    guard size > 0, let source = zmq_msg_data(message) else { return [] }
    return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
      if let base = buffer.baseAddress {
        base.update(from: source.assumingMemoryBound(to: UInt8.self), count: size)
      }
      count = size
    }
  }

  // MARK: Polling one socket

  /// Waits up to `timeout` (`nil`: forever) until the socket is ready for any of `events`, and
  /// returns the events that are ready (empty on timeout).
  public func poll(_ events: PollEvents = .readable, timeout: Duration?) throws(ZMQError) -> PollEvents {
    let poller = Poller()
    poller.register(self, for: events)
    _ = try poller.poll(timeout: timeout)
    return poller.events(at: 0)
  }
}

/// Sockets stay on the thread that made them: libzmq sockets are not thread-safe.
@available(*, unavailable)
extension Socket: Sendable {}
