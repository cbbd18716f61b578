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
