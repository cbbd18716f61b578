import SweepProtocol

extension Dispatcher.Progress {
  /// `120/240 done, 0 failed, 2 running, 2 queued, 116 pending` (with `1 in rounds` before pending
  /// while runs are in rounds): counts that add up to the sweep's runs.
  var counts: String {
    "\(done)/\(total) done, \(failed) failed, \(running) running, \(queued) queued, "
      + (inRounds > 0 ? "\(inRounds) in rounds, " : "") + "\(pending) pending"
  }

  /// Runs completed by this process per second over `elapsed`.
  public func rate(over elapsed: Duration) -> Double {
    let seconds = elapsed.inSeconds
    return seconds > 0 ? Double(completedHere) / seconds : 0
  }

  /// Time to finish at the rate of work over `elapsed`: `0s`, `7s`, `3m12s`, `2h5m`, or `?` before
  /// any work is done. Work is counted in runs, a chained run's segments as the share of its steps
  /// they did (``Dispatcher/Progress/workDoneHere``), so a sweep of long chains does not look
  /// stalled between completions; what is left is the runs not ended less their checkpoints' shares.
  public func eta(over elapsed: Duration) -> String {
    if isComplete { return "0s" }
    let seconds = elapsed.inSeconds
    guard seconds > 0, workDoneHere > 0 else { return "?" }
    let left = max(Double(total - done - failed) - workInProgress, 0)
    let s = Int((left / (workDoneHere / seconds)).rounded(.up))
    return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
  }
}
