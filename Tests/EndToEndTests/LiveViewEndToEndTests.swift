import Foundation
import Testing

/// `metasweep run` with local workers speaks CURVE with keys made for the run, so the live view it
/// names must carry a key the coordinator allows.
@Suite struct LiveViewEndToEndTests {
  @Test func runsLiveViewCommand_answers_andItsKeysLeaveWithTheRun() throws {
    let dir = try makeScratchDirectory()
    let spec = dir.appendingPathComponent("slow.yaml").path
    try """
    name: live
    experiment: noop
    seeds: 0..<6
    fixed: {seconds: 0.5}
    variants: {a: {}}
    """.write(toFile: spec, atomically: true, encoding: .utf8)
    let run = try Binary.Running(["run", spec, "--workers", "2", "--out", "out"], directory: dir)
    let live = dir.appendingPathComponent("out/.live")
    #expect(waitUntil(timeout: 60) { FileManager.default.fileExists(atPath: live.path + "/endpoint") })
    // The folder and the secret are the owner's alone.
    let folderMode = try FileManager.default.attributesOfItem(atPath: live.path)[.posixPermissions] as? Int
    let keyMode =
      try FileManager.default.attributesOfItem(atPath: live.path + "/status.key")[.posixPermissions] as? Int
    #expect(folderMode == 0o700 && keyMode == 0o600)
    // `status DIR` names the command, and the command gets the coordinator's answer.
    let status = try Binary.run(["status", "out"], in: dir)
    let line = try #require(
      status.stdout.split(separator: "\n").first { $0.hasPrefix("live view (workers, rate, ETA): ") },
      "\(status.stdout)")
    let arguments = Array(line.split(separator: " ").map(String.init).drop { $0 != "metasweep" }.dropFirst())
    #expect(arguments.first == "status" && arguments.contains("--curve-key"))
    let answer = try Binary.run(arguments, in: dir)
    #expect(answer.status == 0 && answer.stdout.contains("workers"), "\(answer.stdout)\(answer.stderr)")
    // A plain --connect without the key gets no answer: the live view is not open to anyone.
    let endpoint = try String(contentsOfFile: live.path + "/endpoint", encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let plain = try Binary.run(["status", "--connect", endpoint, "--timeout", "1"], in: dir)
    #expect(plain.status != 0)
    let result = run.wait()
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("Live view: metasweep status --connect \(endpoint) --curve-key "))
    #expect(!FileManager.default.fileExists(atPath: live.path), "the run's keys outlive it")
  }
}
