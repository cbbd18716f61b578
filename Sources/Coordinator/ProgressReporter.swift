import Foundation
import SweepProtocol

/// Shows a sweep's progress: one redrawn line on a terminal, plain lines otherwise.
public final class ProgressReporter {
  private let isTerminal: Bool
  private let start = ContinuousClock.now
  private var lastLine = ContinuousClock.now
  private var lastShown: Dispatcher.Progress?
  private let sweepName: String

  /// A reporter writing to standard error.
  public init(sweepName: String, isTerminal: Bool = isatty(STDERR_FILENO) == 1) {
    self.sweepName = sweepName
    self.isTerminal = isTerminal
  }

  /// Shows `progress` (redraws on a terminal; a plain line every 5 s otherwise).
  public func update(_ progress: Dispatcher.Progress) {
    let now = ContinuousClock.now
    if isTerminal {
      write("\r\u{1B}[K" + line(progress, now: now))
    } else if now - lastLine >= .seconds(5) && progress != lastShown {
      lastLine = now
      lastShown = progress
      write(line(progress, now: now) + "\n")
    }
  }

  /// Ends the progress display with a final line.
  public func finish(_ progress: Dispatcher.Progress) {
    write((isTerminal ? "\r\u{1B}[K" : "") + line(progress, now: .now) + "\n")
  }

  /// `crossprop-geoff: 120/240 done, 0 failed, 2 running, 2 queued, 116 pending | 16.2 runs/s |
  /// ETA 7s | 2 workers (2 slots)`: the five counts (six with runs in rounds) add up to the
  /// sweep's runs. Runs in rounds add `| 5120 rounds (812.4/s)`: their progress between outcomes.
  func line(_ p: Dispatcher.Progress, now: ContinuousClock.Instant) -> String {
    let elapsed = now - start
    var text = "\(sweepName): \(p.counts)"
    text += " | \(String(format: "%.1f", p.rate(over: elapsed))) runs/s | ETA \(p.eta(over: elapsed))"
    if p.roundsDone > 0 {
      let perSecond = Double(p.roundsDone) / max(elapsed.inSeconds, 1e-9)
      text += " | \(p.roundsDone) rounds (\(String(format: "%.1f", perSecond))/s)"
    }
    text += " | \(p.workers) workers (\(p.slots) slots)"
    if p.failedAttempts > 0 { text += " | \(p.failedAttempts) attempts failed" }
    if p.expired > 0 { text += " | \(p.expired) leases expired" }
    if p.refusedLeases > 0 { text += " | \(p.refusedLeases) leases refused (a worker's data differs)" }
    return text
  }

  private func write(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
  }
}
