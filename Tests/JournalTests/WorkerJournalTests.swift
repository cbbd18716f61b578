import Foundation
import SweepModel
import Testing

@testable import Journal

@Test func machineTypes_nameTheMachinesOfEachDoneRunsSegmentsAndOutcome_only() throws {
  let journal = try Journal(path: makeTemporaryFolder() + "/journal.sqlite")
  let runs = makeRuns(variants: ["backprop"], seeds: [0, 1, 2])
  _ = try prepare(journal, runs)
  try journal.recordWorker(holder: "h-amd", name: "a:1", machine: "x86_64, AMD EPYC, OpenBLAS Zen", at: t0)
  try journal.recordWorker(holder: "h-intel", name: "b:2", machine: "x86_64, Xeon, OpenBLAS SkylakeX", at: t0)
  // The same process greeting a restarted coordinator keeps its first row.
  try journal.recordWorker(holder: "h-amd", name: "a:1", machine: "changed", at: t0)
  // Run 0: a segment on the AMD host, then the rest on the Intel host.
  try journal.recordLease(attempt: 1, key: runs[0].key, worker: "a:1", holder: "h-amd", at: t0)
  #expect(try journal.recordCheckpoint(attempt: 1, key: runs[0].key, data: [1], stepsDone: 5, at: t0))
  try journal.recordLease(attempt: 2, key: runs[0].key, worker: "b:2", holder: "h-intel", at: t0)
  _ = try journal.recordOutcome(
    attempt: 2, key: runs[0].key, worker: "b:2", outcome: sampleOutcome, seconds: 1, at: t0)
  // Run 1: an attempt on the Intel host that expired without a checkpoint, then the AMD host.
  try journal.recordLease(attempt: 3, key: runs[1].key, worker: "b:2", holder: "h-intel", at: t0)
  try journal.recordExpired(attempt: 3, at: t0)
  try journal.recordLease(attempt: 4, key: runs[1].key, worker: "a:1", holder: "h-amd", at: t0)
  _ = try journal.recordOutcome(
    attempt: 4, key: runs[1].key, worker: "a:1", outcome: sampleOutcome, seconds: 1, at: t0)
  // Run 2: leased, not done.
  try journal.recordLease(attempt: 5, key: runs[2].key, worker: "a:1", holder: "h-amd", at: t0)

  let types = try journal.machineTypes()
  #expect(
    types == [
      runs[0].key: ["x86_64, AMD EPYC, OpenBLAS Zen", "x86_64, Xeon, OpenBLAS SkylakeX"],
      runs[1].key: ["x86_64, AMD EPYC, OpenBLAS Zen"],
    ])
}
