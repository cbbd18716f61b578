import Foundation
import Journal
import SweepModel
import Testing

/// A graph of 24 runs: a pool of six (one held out), each member tuned two ways, a meta run over
/// the pool, probes of one tuning, and a stage that depends on nothing.
private func graphFile(artifactBytes: Int = 200_000, poolValue: Double = 0, seconds: Double = 0.02) -> String
{
  """
  name: graph-e2e
  stages:
    pool:
      experiment: noop
      seeds: 0..<6
      held_out: [5]
      fixed: {artifact_bytes: \(artifactBytes), value: \(poolValue), seconds: \(seconds)}
    tune:
      experiment: noop-digest
      inputs:
        data: {stage: pool, artifact: data, select: each}
      fixed: {seconds: \(seconds)}
      variants: {a: {value: 1}, b: {value: 2}}
    meta:
      experiment: noop-digest
      seeds: [0]
      inputs:
        data: {stage: pool, artifact: data, select: all-but-held-out}
    probe:
      experiment: noop-digest
      seeds: 0..<3
      inputs:
        data: {stage: tune, artifact: data, variant: b, select: same-seed}
    solo:
      experiment: noop
      seeds: 0..<2
      fixed: {value: 3}
  """
}

private let runsInGraph = 6 + 12 + 1 + 3 + 2

/// The report files that must not change between equal runs of the graph (the manifest records
/// dates and hosts).
private func tables(_ out: URL) throws -> [String: String] {
  var files: [String: String] = [
    "summary.md": try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
  ]
  for stage in ["pool", "tune", "meta", "probe", "solo"] {
    let path = out.appendingPathComponent("stages/\(stage)/summary.csv")
    files[stage] = try String(contentsOf: path, encoding: .utf8)
  }
  return files
}

private func write(_ text: String, _ name: String, in dir: URL) throws -> String {
  let path = dir.appendingPathComponent(name).path
  try text.write(toFile: path, atomically: true, encoding: .utf8)
  return path
}

private func journal(_ out: URL) throws -> Journal {
  try Journal(path: out.appendingPathComponent("journal.sqlite").path, readOnly: true)
}

/// Issue 13.2: a sweep graph runs unattended in dependency order, resumes after kill -9 to the
/// same bits, and re-runs exactly what an edit upstream changes.
@Suite(.serialized) struct GraphEndToEndTests {
  @Test func aGraph_runsUnattendedToEveryStagesTable_andAKill9AnywhereResumesToTheSameTables() throws {
    let dir = try makeScratchDirectory()
    // Runs of 0.2 s leave the kill at least 0.6 s after its moment, however busy the machine: at
    // 0.02 s, the last runs once finished between two polls and the kill found the graph done.
    let spec = try write(graphFile(seconds: 0.2), "graph.yaml", in: dir)
    let clean = try Binary.run(["run", spec, "--workers", "2", "--out", "clean"], in: dir)
    #expect(clean.status == 0, "\(clean.stderr)")
    let cleanOut = dir.appendingPathComponent("clean")
    let expected = try tables(cleanOut)
    #expect(try journal(cleanOut).finishedRuns().count == runsInGraph)
    // The held-out member's runs are rows of their own; the meta run read five members' bytes.
    #expect(expected["tune"]!.contains("a (held-out)") && expected["pool"]!.contains("pool (held-out)"))
    #expect(expected["meta"]!.contains("1000000"), "\(expected["meta"]!)")
    // Runs of a stage started before its producing stage had finished (not stage by stage).
    let order = try journal(cleanOut).finishedRuns().sorted { $0.finishedAt < $1.finishedAt }.map(
      \.run.variant)
    let lastPool = order.lastIndex { $0.hasPrefix("pool/") }!
    let firstTune = order.firstIndex { $0.hasPrefix("tune/") }!
    #expect(firstTune < lastPool, "\(order)")

    // Kill -9 the coordinator at a moment drawn at random, once some runs are journaled.
    let moment = Int.random(in: 2...(runsInGraph - 6))
    let out = dir.appendingPathComponent("killed")
    let coordinator = try Binary.Running(["run", spec, "--workers", "2", "--out", "killed"], directory: dir)
    let reached = waitUntil {
      ((try? journal(out).counts().done) ?? 0) >= moment
    }
    kill(coordinator.pid, SIGKILL)
    _ = coordinator.wait()
    #expect(reached, "the graph never reached \(moment) runs")
    let doneAtKill = try journal(out).counts().done
    #expect(doneAtKill < runsInGraph, "the kill at \(moment) came after the graph finished")
    let status = try Binary.run(["status", out.path], in: dir)
    #expect(
      status.stdout.contains("stage pool:") && status.stdout.contains("stage tune:"), "\(status.stdout)")
    let resumed = try Binary.run(["resume", out.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try tables(out) == expected, "killed at \(doneAtKill) runs")
    // The report rebuilt from the journal alone says the same.
    let report = try Binary.run(["report", out.path], in: dir)
    let rebuilt = try tables(out)
    #expect(report.status == 0 && rebuilt == expected)
    // Audit re-runs runs of every stage elsewhere, consumers with their inputs from the store.
    let audit = try Binary.run(["audit", out.path, "--sample", "8"], in: dir)
    #expect(audit.status == 0 && audit.stdout.contains("8 bit-identical"), "\(audit.stdout)\(audit.stderr)")
  }

  @Test func changingAPretrainingParameter_rerunsItAndEverythingDownstream_andNothingElse() throws {
    let dir = try makeScratchDirectory()
    let out = dir.appendingPathComponent("out")
    func run(_ text: String) throws -> (new: Int, stderr: String) {
      let before = (try? journal(out).maxAttemptID()) ?? 0
      let result = try Binary.run(
        ["run", try write(text, "graph.yaml", in: dir), "--workers", "2", "--out", "out"], in: dir)
      #expect(result.status == 0, "\(result.stderr)")
      return (Int(try journal(out).maxAttemptID() - before), result.stderr)
    }
    #expect(try run(graphFile(seconds: 0)).new == runsInGraph)
    #expect(try run(graphFile(seconds: 0)).new == 0)
    // Another artifact size: every pool member makes other bytes, so everything downstream of the
    // pool runs again; the stage that consumes nothing does not.
    let widened = try run(graphFile(artifactBytes: 200_001, seconds: 0))
    #expect(widened.new == runsInGraph - 2, "\(widened.stderr)")
    // Another value: the pool runs again, but makes the same bytes, so its consumers' keys (their
    // inputs' hashes) are unchanged and they are reused.
    #expect(try run(graphFile(artifactBytes: 200_001, poolValue: 1, seconds: 0)).new == 6)
    // Back to the first graph: every run is in the journal already.
    #expect(try run(graphFile(seconds: 0)).new == 0)
    #expect(try journal(out).finishedRuns().count == runsInGraph)
  }

  @Test func aFlippedByteInAPoolMembersArtifact_isCaught_andItsRunRedone_withTheSameTables() throws {
    let dir = try makeScratchDirectory()
    let spec = try write(graphFile(seconds: 0), "graph.yaml", in: dir)
    let out = dir.appendingPathComponent("out")
    #expect(try Binary.run(["run", spec, "--workers", "2", "--out", "out"], in: dir).status == 0)
    let expected = try tables(out)
    let member = try #require(
      try journal(out).finishedRuns().first { $0.run.variant == "pool/pool" && $0.run.seed == 2 })
    let file = ArtifactStore(journalPath: out.appendingPathComponent("journal.sqlite").path).path(
      of: member.artifacts[0].reference.sha256)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    bytes[777] ^= 0x01
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    let verify = try Binary.run(["verify", out.path], in: dir)
    #expect(verify.status == 3 && verify.stdout.contains(file), "\(verify.stdout)")
    let before = try journal(out).maxAttemptID()
    let resumed = try Binary.run(["resume", out.path, "--workers", "2"], in: dir)
    #expect(resumed.status == 0 && resumed.stderr.contains("Damaged in the journal"), "\(resumed.stderr)")
    // Only the damaged member ran again: it made the same bytes, so its consumers stand.
    #expect(try journal(out).maxAttemptID() == before + 1)
    #expect(try tables(out) == expected)
    #expect(try Binary.run(["verify", out.path], in: dir).status == 0)
  }

  @Test func aProducerThatFailsForGood_leavesItsConsumersWaiting_andTheGraphStillEnds() throws {
    let dir = try makeScratchDirectory()
    let text = """
      name: blocked
      stages:
        pool:
          experiment: noop
          seeds: 0..<3
          fixed: {artifact_bytes: 10}
          variants: {ok: {}, poison: {fail: true}}
        use:
          experiment: noop-digest
          inputs: {data: {stage: pool, artifact: data, variant: poison}}
        fine:
          experiment: noop-digest
          inputs: {data: {stage: pool, artifact: data, variant: ok}}
      """
    let spec = try write(text, "graph.yaml", in: dir)
    let run = try Binary.run(["run", spec, "--workers", "2", "--out", "out", "--retries", "1"], in: dir)
    // Complete with failed runs: the poisoned members failed, their consumers never became runs.
    #expect(run.status == 3, "\(run.stderr)")
    #expect(run.stdout.contains("3 waiting for inputs that do not exist yet"), "\(run.stdout)")
    let out = dir.appendingPathComponent("out")
    let status = try Binary.run(["status", out.path], in: dir)
    #expect(status.stdout.contains("3 more runs of the graph wait for inputs"), "\(status.stdout)")
    #expect(try journal(out).counts().done == 6)
  }

  @Test func aWorkerWithNoneOfThePool_fetchesWhatItNeeds_andTheTablesEqualALocalRun() throws {
    let dir = try makeScratchDirectory()
    let spec = try write(graphFile(seconds: 0), "graph.yaml", in: dir)
    #expect(try Binary.run(["run", spec, "--workers", "2", "--out", "local"], in: dir).status == 0)
    let expected = try tables(dir.appendingPathComponent("local"))

    let port = try freeLoopbackPort()
    let coordinator = try Binary.Running(
      ["coordinator", spec, "--bind", "tcp://127.0.0.1:\(port)", "--out", "remote"], directory: dir)
    let cache = dir.appendingPathComponent("worker-cache").path
    let worker = try Binary.Running(
      [
        "worker", "--connect", "tcp://127.0.0.1:\(port)", "--slots", "2", "--artifact-cache", cache,
        "--give-up-after", "30", "--log-level", "info",
      ], directory: dir)
    let served = coordinator.wait(timeout: 120)
    let workerResult = worker.wait(timeout: 30)
    #expect(served.status == 0, "\(served.stderr)")
    #expect(try tables(dir.appendingPathComponent("remote")) == expected)
    // Five members for the tuning and meta runs, three tunings for the probes: all fetched.
    #expect(served.stderr.contains("MB of artifacts to workers"), "\(served.stderr)")
    let log = workerResult.stdout + workerResult.stderr
    #expect(log.contains("Fetched artifact") && log.contains("MB/s"), "\(log)")
    let cached = try FileManager.default.subpathsOfDirectory(atPath: cache).filter {
      SHA256.isDigestHex(($0 as NSString).lastPathComponent)
    }
    #expect(cached.count == 6 + 3, "\(cached)")
  }
}
