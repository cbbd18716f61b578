import SweepProtocol

extension Dispatcher.Progress {
  /// Runs completed by this process per second over `elapsed`.
  public func rate(over elapsed: Duration) -> Double {
    let seconds = elapsed.inSeconds
    return seconds > 0 ? Double(completedHere) / seconds : 0
  }

  /// Time to finish at the rate over `elapsed`: `0s`, `7s`, `3m12s`, `2h5m`, or `?` before any run ends.
  public func eta(over elapsed: Duration) -> String {
    if isComplete { return "0s" }
    let rate = rate(over: elapsed)
    guard rate > 0 else { return "?" }
    let s = Int((Double(total - done - failed) / rate).rounded(.up))
    return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
  }
}
