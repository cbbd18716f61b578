import Foundation
import Journal
import SweepModel
import Testing

/// Six noop runs, each making a 100 kB artifact of seeded bytes.
private let artifactSweep = """
  name: artifacts
  experiment: noop
  seeds: 0..<3
  fixed:
    artifact_bytes: 100000
  variants:
    first: {value: 1}
    second: {value: 2}
  metrics: [value]
  """

/// Issue 13.1: outcomes carry artifacts from real workers into the results folder's store; a
/// damaged one is caught and its run redone, never handed on.
@Suite struct ArtifactEndToEndTests {
  @Test func artifacts_reachTheStoreFromWorkers_andAFlippedByteIsCaught_andItsRunRedone() throws {
    let dir = try makeScratchDirectory()
    let spec = dir.appendingPathComponent("sweep.yaml").path
    try artifactSweep.write(toFile: spec, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("out")
    let run = try Binary.run(["run", spec, "--workers", "2", "--out", "out"], in: dir)
    #expect(run.status == 0, "\(run.stderr)")
    let path = out.appendingPathComponent("journal.sqlite").path
    let finished = try Journal(path: path, readOnly: true).finishedRuns()
    #expect(finished.count == 6 && finished.allSatisfy { $0.artifacts.map(\.name) == ["data"] })
    // The same seed makes the same bytes whatever the variant: three files for six artifacts.
    #expect(Set(finished.map { $0.artifacts[0].reference }).count == 3)
    #expect(finished.allSatisfy { $0.artifacts[0].reference.size == 100_000 })
    let verify = try Binary.run(["verify", out.path], in: dir)
    #expect(verify.status == 0 && verify.stdout.contains("6 artifacts"), "\(verify.stdout)")

    // One byte flipped in seed 1's file: both runs that made it are named, then redone.
    let victim = try #require(finished.first { $0.run.seed == 1 }).artifacts[0].reference
    let file = ArtifactStore(journalPath: path).path(of: victim.sha256)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    bytes[12345] ^= 0x80
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    let damaged = try Binary.run(["verify", out.path], in: dir)
    #expect(damaged.status == 3 && damaged.stdout.contains(file), "\(damaged.stdout)")
    let report = try Binary.run(["report", out.path], in: dir)
    #expect(report.status == 3 && report.stdout.contains("does not match its SHA-256"), "\(report.stdout)")

    let resumed = try Binary.run(["resume", out.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0 && resumed.stderr.contains("2 to run"), "\(resumed.stderr)")
    #expect(try Binary.run(["verify", out.path], in: dir).status == 0)
    let again = try Journal(path: path, readOnly: true).finishedRuns()
    #expect(again.map(\.artifacts) == finished.map(\.artifacts))
    #expect(ArtifactStore(journalPath: path).problem(with: victim) == nil)
    // Audit re-runs every run on another worker and compares the artifacts' hashes too.
    let audit = try Binary.run(["audit", out.path, "--sample", "6"], in: dir)
    #expect(audit.status == 0 && audit.stdout.contains("6 bit-identical"), "\(audit.stdout)")
  }
}
