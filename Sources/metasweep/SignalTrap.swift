import Foundation
import Synchronization

/// The stop signal that arrived (0: none); set from the handler, and an atomic store is async-signal-safe.
private let stopSignal = Atomic<Int32>(0)

/// Turns SIGINT, SIGTERM and SIGHUP (an ssh session hanging up) into a flag the poll loops check, instead of killing the process:
/// a stop then drains (journal flushed, workers told) rather than dies.
enum SignalTrap {
  /// Installs the handlers (and ignores SIGPIPE, so a vanished peer is an error, not a death).
  static func install() {
    signal(SIGPIPE, SIG_IGN)
    var set = sigset_t()
    sigemptyset(&set)
    for number in [SIGINT, SIGTERM, SIGHUP] {
      signal(number) { stopSignal.store($0, ordering: .relaxed) }
      sigaddset(&set, number)
    }
    // A parent that spawned us from a thread with these signals blocked (a dispatch worker
    // thread, say) passes the mask on; without this, Ctrl-C and SIGTERM would never arrive.
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  /// Whether a stop signal has arrived.
  static var isTriggered: Bool { received != nil }

  /// The stop signal that arrived, if any.
  static var received: Int32? {
    let number = stopSignal.load(ordering: .relaxed)
    return number == 0 ? nil : number
  }
}
