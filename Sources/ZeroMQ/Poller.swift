import CZeroMQ

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Readiness a poll waits for or reports.
public struct PollEvents: OptionSet, Sendable, Hashable {
  public let rawValue: Int16
  public init(rawValue: Int16) { self.rawValue = rawValue }

  /// A whole message can be received without blocking.
  public static let readable = PollEvents(rawValue: Int16(ZMQ_POLLIN))
  /// A message can be sent without blocking.
  public static let writable = PollEvents(rawValue: Int16(ZMQ_POLLOUT))
  /// An error condition on a plain file descriptor.
  public static let error = PollEvents(rawValue: Int16(ZMQ_POLLERR))
}

/// Waits on several sockets (and plain file descriptors) at once, for one poll-loop thread.
///
/// Not `Sendable`: it holds sockets, which belong to the thread that polls them.
///
/// ```swift
/// let poller = Poller()
/// let control = poller.register(router)
/// while running {
///   guard try poller.poll(timeout: .milliseconds(250)) > 0 else { continue }
///   if poller.isReadable(control) { while let frames = try router.receiveMultipart(wait: false) { … } }
/// }
/// ```
public final class Poller {
  private var sockets: [Socket?] = []
  private var items: [zmq_pollitem_t] = []

  public init() {}

  /// Adds `socket`, returns its index for ``events(at:)``.
  @discardableResult
  public func register(_ socket: Socket, for events: PollEvents = .readable) -> Int {
    sockets.append(socket)
    items.append(zmq_pollitem_t(socket: socket.handle, fd: 0, events: events.rawValue, revents: 0))
    return items.count - 1
  }

  /// Adds a plain file descriptor (a pipe or eventfd that wakes the loop), returns its index.
  @discardableResult
  public func register(fileDescriptor: Int32, for events: PollEvents = .readable) -> Int {
    sockets.append(nil)
    items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: events.rawValue, revents: 0))
    return items.count - 1
  }

  /// The number of registered sockets and descriptors.
  public var count: Int { items.count }

  /// Waits until at least one registered item is ready or `timeout` passes (`nil`: forever), and
  /// returns how many items are ready (0 on timeout).
  ///
  /// Throws ``ZMQError/Code/interrupted`` when a signal arrives, so the loop can check its stop flag
  /// and poll again, and ``ZMQError/Code/terminated`` after ``ZMQContext/shutdown()``.
  public func poll(timeout: Duration?) throws(ZMQError) -> Int {
    for index in items.indices { items[index].revents = 0 }
    let milliseconds = Self.milliseconds(timeout)
    let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), milliseconds) }
    guard rc >= 0 else { throw ZMQError.last("poll \(items.count) sockets") }
    return Int(rc)
  }

  /// What item `index` was ready for in the last ``poll(timeout:)``.
  public func events(at index: Int) -> PollEvents {
    guard items.indices.contains(index) else { return [] }
    return PollEvents(rawValue: items[index].revents)
  }

  /// Whether item `index` had a message to receive in the last ``poll(timeout:)``.
  public func isReadable(_ index: Int) -> Bool { events(at: index).contains(.readable) }

  /// `timeout` in whole milliseconds, rounded up so a short timeout never becomes a busy poll;
  /// -1 for forever.
  static func milliseconds(_ timeout: Duration?) -> Int {
    guard let timeout else { return -1 }
    let (seconds, attoseconds) = timeout.components
    if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
    let cap = Int64(Int32.max)
    if seconds >= cap / 1000 { return Int(cap) }
    let rest = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int(seconds * 1000 + rest)
  }
}

/// A poller holds sockets, so it stays on their thread too.
@available(*, unavailable)
extension Poller: Sendable {}
