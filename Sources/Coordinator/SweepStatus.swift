import Foundation
import Journal
import SweepProtocol

/// The text of `metasweep status`: counts, live workers and rate when a coordinator is serving,
/// and a variant x seed grid (# done, > running, x failed, . pending).
public enum SweepStatus {
  /// The status of a sweep; `live` is what only a running coordinator knows.
  public static func render(
    name: String, counts: JournalCounts, states: [RunState],
    live: (progress: Dispatcher.Progress, workers: [Dispatcher.WorkerSummary], elapsed: Duration)? = nil
  ) -> String {
    var lines = [
      "\(name): \(counts.done)/\(counts.total) done, \(counts.leased) running, \(counts.failed) failed, \(counts.pending) pending"
    ]
    if let live {
      let rate = live.progress.rate(over: live.elapsed)
      lines.append(
        "rate \(String(format: "%.2f", rate)) runs/s, ETA \(live.progress.eta(over: live.elapsed)); \(live.workers.count) workers, "
          + "\(live.workers.map(\.slots).reduce(0, +)) slots; \(live.progress.expired) leases expired, "
          + "\(live.progress.failedAttempts) attempts failed")
      for worker in live.workers {
        lines.append("  worker \(worker.name): \(worker.slots) slots, \(worker.leases) leased")
      }
    }
    lines.append(grid(states))
    return lines.joined(separator: "\n")
  }

  /// One line per variant (in sweep order), one character per seed.
  public static func grid(_ states: [RunState]) -> String {
    var variants: [String] = []
    var rows: [String: String] = [:]
    for run in states {
      if rows[run.variant] == nil { variants.append(run.variant) }
      let mark: Character =
        switch run.state {
        case .done: "#"
        case .running: ">"
        case .failed: "x"
        case .pending: "."
        }
      rows[run.variant, default: ""].append(mark)
    }
    let width = variants.map(\.count).max() ?? 0
    return variants.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + rows[$0]! }
      .joined(separator: "\n")
  }
}
