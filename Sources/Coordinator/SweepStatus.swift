import Foundation
import Journal
import SweepProtocol

/// The text of `metasweep status`: counts that add up to the sweep's runs, live workers and rate
/// when a coordinator answers, and a variant x seed grid (# done, > leased, x failed, . pending).
public enum SweepStatus {
  /// Who serves the sweep, as far as the caller can tell.
  public enum Coordinator {
    /// The coordinator itself answers (`status --connect`): it knows what runs and what waits.
    case live(
      progress: Dispatcher.Progress, workers: [Dispatcher.WorkerSummary], elapsed: Duration,
      artifactBytesSent: Int = 0, rounds: [Dispatcher.RoundSummary] = [])
    /// A coordinator holds the results folder (`status DIR`); `holder` says which.
    case running(holder: String)
    /// No coordinator holds the folder: leases the journal still shows belong to a stopped one, and
    /// their runs are pending.
    case stopped
  }

  /// The status of a sweep.
  public static func render(
    name: String, counts: JournalCounts, states: [RunState], coordinator: Coordinator
  ) -> String {
    var lines: [String] = []
    var states = states
    switch coordinator {
    case .live(let p, let workers, let elapsed, let artifactBytes, let rounds):
      lines.append("\(name): \(p.counts)")
      lines.append(
        "rate \(String(format: "%.2f", p.rate(over: elapsed))) runs/s, ETA \(p.eta(over: elapsed)); "
          + "\(workers.count) workers, \(workers.map(\.slots).reduce(0, +)) slots; \(p.expired) leases expired, "
          + "\(p.failedAttempts) attempts failed, \(p.refusedLeases) refused")
      for worker in workers {
        lines.append(
          "  worker \(worker.name): \(worker.slots) slots, \(worker.leases) leased; \(worker.machine)")
      }
      lines += roundLines(rounds, progress: p)
      if artifactBytes > 0 {
        lines.append(
          "artifacts: \(String(format: "%.1f", Double(artifactBytes) / 1e6)) MB sent to workers that lacked a run's inputs"
        )
      }
    case .running(let holder):
      lines.append(
        "\(name): \(counts.done)/\(counts.total) done, \(counts.failed) failed, \(counts.leased) leased (running "
          + "or queued on workers), \(counts.pending) pending")
      lines.append("coordinator: \(holder) (status --connect ENDPOINT shows its workers and rate)")
    case .stopped:
      lines.append(
        "\(name): \(counts.done)/\(counts.total) done, \(counts.failed) failed, "
          + "\(counts.pending + counts.leased) pending; no coordinator is running")
      for index in states.indices where states[index].state == .running { states[index].state = .pending }
    }
    lines.append(grid(states))
    return lines.joined(separator: "\n")
  }

  /// Per-round progress of the runs spread over workers in rounds, and what their rounds moved.
  static func roundLines(_ rounds: [Dispatcher.RoundSummary], progress p: Dispatcher.Progress) -> [String] {
    guard !rounds.isEmpty || p.roundsDone > 0 else { return [] }
    var lines = [
      "runs in rounds: \(rounds.count); \(p.roundsDone) rounds done here, \(p.shardsDone) shards computed, "
        + "\(p.staleShards) stale reports ignored, \(p.replicaResends) replicas sent again; "
        + String(
          format: "%.1f MB of replicas out, %.1f MB of gradients in", Double(p.replicaBytesSent) / 1e6,
          Double(p.gradientBytesReceived) / 1e6)
    ]
    for run in rounds {
      let rate = run.roundsPerSecond.map { String(format: "%.1f rounds/s", $0) } ?? "no round done yet"
      var slowest = ""
      if let worker = run.slowestWorker, let seconds = run.slowestSeconds {
        let unit = run.exchange == .peers ? "of compute a round" : "a shard"
        slowest = ", slowest worker \(worker) (" + String(format: "%.3f", seconds) + " s \(unit))"
      }
      let progress =
        switch (run.exchange, run.epoch) {
        case (.coordinator, _): "\(run.shardsDone)/\(run.shards) shards in, "
        case (.peers, nil): "between epochs, "
        case (.peers, let epoch?):
          "epoch to round \(epoch.toStep) on \(epoch.members) worker\(epoch.members == 1 ? "" : "s") "
            + "(\(epoch.reported) done), "
        }
      lines.append(
        "  run \(run.key.short): round \(run.step + 1) of \(run.steps), " + progress + rate + slowest)
    }
    return lines
  }

  /// One line per variant (in sweep order), one character per seed; a sweep graph's variants
  /// (`stage/variant`) under a line per stage.
  public static func grid(_ states: [RunState]) -> String {
    guard states.contains(where: { $0.variant.contains("/") }) else { return plainGrid(states) }
    return stages(states).map { stage, runs in
      "stage \(stage):\n" + plainGrid(runs).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
    }.joined(separator: "\n")
  }

  /// The runs by stage, in order of first appearance, each named by its variant within the stage
  /// (`pretrain/small` is `small` of stage `pretrain`); a plain sweep is one stage named "".
  public static func stages(_ states: [RunState]) -> [(stage: String, runs: [RunState])] {
    var stages: [String] = []
    var byStage: [String: [RunState]] = [:]
    for run in states {
      let parts = run.variant.split(separator: "/", maxSplits: 1).map(String.init)
      let stage = parts.count == 2 ? parts[0] : ""
      if byStage[stage] == nil { stages.append(stage) }
      var local = run
      local.variant = parts.last ?? run.variant
      byStage[stage, default: []].append(local)
    }
    return stages.map { ($0, byStage[$0]!) }
  }

  /// One line per variant (in sweep order), one character per seed.
  static func plainGrid(_ states: [RunState]) -> String {
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
