import CZeroMQ

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A libzmq context: the I/O threads behind every socket made from it.
///
/// Make one per process and share it; sockets keep their context alive, so the context is
/// terminated only after its last socket has closed.
// @unchecked Sendable: libzmq contexts are thread-safe (zmq_ctx_* and zmq_socket may be called
// from any thread), and `handle` is immutable after init.
public final class ZMQContext: @unchecked Sendable {
  let handle: UnsafeMutableRawPointer

  /// A new context with `ioThreads` background I/O threads (1 is plenty below ~1 GB/s).
  ///
  /// The context is made non-blocky: sockets start with linger 0, so closing never hangs on
  /// undeliverable messages. Set ``SocketOption/linger(milliseconds:)`` where a flush matters.
  public init(ioThreads: Int32 = 1) throws(ZMQError) {
    guard let handle = zmq_ctx_new() else { throw ZMQError.last("create a ZeroMQ context") }
    self.handle = handle
    if zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) != 0 {
      let error = ZMQError.last("set \(ioThreads) ZeroMQ I/O threads")
      zmq_ctx_term(handle)
      throw error
    }
    zmq_ctx_set(handle, ZMQ_BLOCKY, 0)
  }

  /// Makes every blocking call on this context's sockets, on any thread, fail with
  /// ``ZMQError/Code/terminated``; poll loops use that to leave. Safe to call from any thread.
  public func shutdown() {
    zmq_ctx_shutdown(handle)
  }

  deinit {
    // Every socket holds a strong reference to its context, so all sockets are closed here and
    // zmq_ctx_term cannot block on them; it can still be interrupted by a signal.
    while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
  }
}
