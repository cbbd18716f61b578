import Foundation
import Journal
import Testing

/// Issue 17.1 through the binary: a grid and `--set` overrides run, are recorded where resume and
/// the manifest see them, and a bad override stops the sweep before anything is written.
@Suite struct GridEndToEndTests {
  @Test func aGridWithOverrides_runs_resumesAsRun_andTheManifestListsTheOverrides() throws {
    let dir = try makeScratchDirectory()
    let spec = dir.appendingPathComponent("grid.yaml").path
    try """
    name: grid-e2e
    experiment: noop
    seeds: 0..<10
    fixed: {seconds: 0}
    grid:
      value: [1, 2]
      artifact_bytes: [0, 8]
    """.write(toFile: spec, atomically: true, encoding: .utf8)
    let run = try Binary.run(
      ["run", spec, "--workers", "2", "--set", "seeds=0..<3", "--set", "grid.value=[1, 5]"], in: dir)
    #expect(run.status == 0, "\(run.stderr)")
    let out = dir.appendingPathComponent("results/grid-e2e")
    // The first line says where the results go, as an absolute path; no worker log is left empty.
    let first = run.stderr.split(separator: "\n").first ?? ""
    #expect(first.contains("Sweep grid-e2e → \(out.standardizedFileURL.path): 12 runs"), "\(run.stderr)")
    // The second names the address `status --connect` reads the live view from.
    let lines = run.stderr.split(separator: "\n")
    #expect(
      lines.count > 1 && lines[1].contains("metasweep status --connect tcp://127.0.0.1:"), "\(run.stderr)")
    let logs =
      (try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("logs").path)) ?? []
    for log in logs {
      let size = try FileManager.default.attributesOfItem(
        atPath: out.appendingPathComponent("logs/\(log)").path)[.size]
      #expect((size as? Int ?? 0) > 0, "\(log) is empty")
    }
    let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
    for name in ["value=1 artifact_bytes=0", "value=1 artifact_bytes=8", "value=5 artifact_bytes=0"] {
      #expect(summary.contains("| \(name) | "), "\(summary)")
    }
    #expect(summary.contains("| value=5 artifact_bytes=8 | 5 ± 0 (n=3)"), "\(summary)")
    let manifest = try String(contentsOf: out.appendingPathComponent("MANIFEST.json"), encoding: .utf8)
    #expect(manifest.contains(#""overrides": ["seeds=0..<3", "grid.value=[1, 5]"]"#), "\(manifest)")
    // Resume reads the sweep as it ran (overrides included) from the journal: nothing to do.
    let resumed = try Binary.run(["resume", out.path, "--workers", "1"], in: dir)
    #expect(
      resumed.status == 0 && resumed.stderr.contains("12 runs, 12 already done, 0 to run"),
      "\(resumed.stderr)")
    // Widening the seeds from the command line reuses the twelve runs.
    let widened = try Binary.run(
      ["run", spec, "--workers", "2", "--set", "seeds=0..<4", "--set", "grid.value=[1, 5]"], in: dir)
    #expect(widened.stderr.contains("16 runs, 12 already done, 4 to run"), "\(widened.stderr)")
  }

  @Test func version_andManifest_nameTheSourcesCommit_fromAnyFolder() throws {
    // What the binary embedded at build time, from git in this repository: the last commit that
    // changed Sources/ or Package.swift, -dirty with changes there.
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path
    func git(_ arguments: [String]) throws -> String {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = ["git", "-C", root] + arguments
      let pipe = Pipe()
      process.standardOutput = pipe
      try process.run()
      let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let head = try git(["log", "-1", "--format=%H", "--", "Sources", "Package.swift"])
    #expect(head.count == 40, "\(head)")
    let dirty = try !git(["status", "--porcelain", "--", "Sources", "Package.swift"]).isEmpty
    let expected = head + (dirty ? "-dirty" : "")

    // The scratch folder is outside the repository: git there knows nothing of it.
    let dir = try makeScratchDirectory()
    let version = try Binary.run(["--version"], in: dir)
    #expect(version.status == 0, "\(version.stderr)")
    #expect(version.stdout.hasPrefix("metasweep, sources \(expected), build "), "\(version.stdout)")
    let spec = dir.appendingPathComponent("s.yaml").path
    try "name: commit\nexperiment: noop\nseeds: 1\nvariants: {a: {}}\n".write(
      toFile: spec, atomically: true, encoding: .utf8)
    let run = try Binary.run(["run", spec, "--workers", "1"], in: dir)
    #expect(run.status == 0, "\(run.stderr)")
    let manifest = try String(
      contentsOf: dir.appendingPathComponent("results/commit/MANIFEST.json"), encoding: .utf8)
    #expect(manifest.contains("\"commit\": \"\(expected)\""), "\(manifest)")
  }

  #if arch(x86_64)
    /// OpenBLAS's kernel is part of a machine type: forcing another one (`OPENBLAS_CORETYPE`, two
    /// kernels every x86-64 CPU runs) makes a worker of another machine type on this host.
    @Test func manifest_namesTheMachineTypesThatComputedTheRuns_andTheReportSaysWhenTheyDiffer() throws {
      let dir = try makeScratchDirectory()
      let spec = dir.appendingPathComponent("s.yaml").path
      func run(seeds: Int, kernel: String) throws -> Binary.Result {
        try "name: machines\nexperiment: noop\nseeds: \(seeds)\nvariants: {a: {}}\n".write(
          toFile: spec, atomically: true, encoding: .utf8)
        let run = try Binary.run(
          ["run", spec, "--workers", "1"], in: dir, environment: ["OPENBLAS_CORETYPE": kernel])
        #expect(run.status == 0, "\(run.stderr)")
        return run
      }
      func machines() throws -> [String: Int] {
        let data = try Data(contentsOf: dir.appendingPathComponent("results/machines/MANIFEST.json"))
        let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return try #require(manifest?["machines"] as? [String: Int])
      }
      let first = try run(seeds: 2, kernel: "Prescott")
      #expect(!first.stdout.contains("machine types"), "\(first.stdout)")
      let one = try machines()
      #expect(one.count == 1 && one.values.first == 2, "\(one)")
      #expect(one.keys.first?.hasSuffix(", OpenBLAS Prescott") == true, "\(one)")
      // Two more seeds, computed by a worker with another kernel; the first two stay as they were.
      let second = try run(seeds: 4, kernel: "Nehalem")
      let two = try machines()
      #expect(two.values.sorted() == [2, 2], "\(two)")
      #expect(two.keys.contains { $0.hasSuffix(", OpenBLAS Nehalem") }, "\(two)")
      #expect(
        second.stdout.contains("Computed on 2 machine types; a run can differ in its last bits"),
        "\(second.stdout)")
    }
  #endif

  @Test func aBadOverride_exits2_namingIt_andWritesNothing() throws {
    let dir = try makeScratchDirectory()
    let spec = dir.appendingPathComponent("s.yaml").path
    try "name: bad-set\nexperiment: noop\nseeds: 2\nvariants: {a: {}}\n".write(
      toFile: spec, atomically: true, encoding: .utf8)
    let run = try Binary.run(["run", spec, "--workers", "1", "--set", "fixed.seconds=-1"], in: dir)
    #expect(run.status == 2)
    #expect(run.stderr.contains("--set fixed.seconds=-1: fixed.seconds: "), "\(run.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("results").path))
  }
}
