import Testing

@testable import Coordinator
@testable import SweepProtocol

@Test func progressLine_countsRunsInRoundsApart_soTheCountsAddUp_andShowsTheRoundsDone() {
  var progress = Dispatcher.Progress()
  progress.total = 10
  progress.done = 3
  progress.leased = 2
  progress.running = 1
  progress.queued = 1
  progress.inRounds = 2
  progress.roundsDone = 500
  let line = ProgressReporter(sweepName: "s", isTerminal: false).line(progress, now: .now + .seconds(10))
  #expect(line.contains("s: 3/10 done, 0 failed, 1 running, 1 queued, 2 in rounds, 3 pending"), "\(line)")
  #expect(line.contains("| 500 rounds ("), "\(line)")
  progress.inRounds = 0
  progress.roundsDone = 0
  let plain = ProgressReporter(sweepName: "s", isTerminal: false).line(progress, now: .now)
  #expect(plain.contains("1 queued, 5 pending") && !plain.contains("rounds"), "\(plain)")
}

@Test func eta_countsChainedRunsBySteps_soLongChainsDoNotLookStalled() {
  var progress = Dispatcher.Progress()
  progress.total = 4
  // No run of the 4 has ended, but 100 s gave one run's worth of steps (two chains half way):
  // three runs' worth are left, so 300 s (a count of runs would say "?").
  progress.workDoneHere = 1
  progress.workInProgress = 1
  #expect(progress.eta(over: .seconds(100)) == "5m0s")
  // Plain runs: the rate of completed runs.
  progress.workInProgress = 0
  progress.done = 2
  progress.completedHere = 2
  progress.workDoneHere = 2
  #expect(progress.eta(over: .seconds(10)) == "10s")
  #expect(Dispatcher.Progress().eta(over: .seconds(5)) == "0s")
  progress.workDoneHere = 0
  #expect(progress.eta(over: .seconds(5)) == "?")
}
