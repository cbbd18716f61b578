import ArgumentParser
import Foundation

/// The `metasweep` command: sweeps of continual- and meta-learning experiments over ZeroMQ workers.
@main
struct MetaSweep: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "metasweep",
    abstract: "Run sweeps of continual- and meta-learning experiments on ZeroMQ workers.",
    discussion: """
      metasweep run results/crossprop-geoff/sweep.yaml --workers 2   # coordinator + 2 local workers
      metasweep resume results/crossprop-geoff                         # continue an interrupted sweep
      metasweep report results/crossprop-geoff                         # rebuild tables and figures
      """,
    subcommands: [
      RunCommand.self, ResumeCommand.self, ReportCommand.self, StatusCommand.self, RunOneCommand.self,
      ExperimentsCommand.self,
      CoordinatorCommand.self, WorkerCommand.self, KeysCommand.self, AuditCommand.self, VerifyCommand.self,
    ])

  /// Checks that this host can run the training core before any of it runs, then parses the
  /// command line as usual.
  static func main() {
    if let missing = HostCPU.missingFeatures(), !missing.isEmpty {
      FileHandle.standardError.write(
        Data(
          """
          metasweep: this binary's training core was built for x86-64-v3 (haswell), and this CPU lacks \
          \(missing.joined(separator: ", ")); rebuild with METASWEEP_TARGET_CPU=x86-64 swift build -c release

          """.utf8))
      Foundation.exit(2)
    }
    do {
      var command = try parseAsRoot(nil)
      try command.run()
    } catch {
      // A bad option is bad input: exit 2, as for a bad sweep file (ArgumentParser's own code is 64).
      if exitCode(for: error) == .validationFailure {
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        Foundation.exit(2)
      }
      exit(withError: error)
    }
  }
}

/// What the training core was compiled to require of the CPU (see `trainingCPU` in Package.swift).
enum HostCPU {
  /// The x86-64-v3 features this build needs and the host's /proc/cpuinfo does not list; nil when
  /// the build needs none or the host cannot tell.
  static func missingFeatures() -> [String]? {
    #if METASWEEP_REQUIRES_HASWELL
      guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
      else { return nil }
      let flags = Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
      return ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"].filter { !flags.contains($0) }
    #else
      return nil
    #endif
  }
}
