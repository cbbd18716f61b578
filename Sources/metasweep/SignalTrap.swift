import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT and SIGTERM into a flag a poll loop checks, instead of killing the process:
/// a stop then drains (journal flushed, workers told) rather than dies.
final class SignalTrap: Sendable {
  private let flag = Atomic<Bool>(false)
  private let sources: Mutex<[any DispatchSourceSignal]> = Mutex([])

  init(signals: [Int32] = [SIGINT, SIGTERM]) {
    signal(SIGPIPE, SIG_IGN)
    for number in signals {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { [flag] in flag.store(true, ordering: .relaxed) }
      source.resume()
      sources.withLock { $0.append(source) }
    }
  }

  /// Whether a stop signal has arrived.
  var isTriggered: Bool { flag.load(ordering: .relaxed) }
}
