import ArgumentParser
import Foundation
import TrainingCore

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
    version: "metasweep, sources \(BuildCommit.sources), build \(BuildInfo.buildID) (\(BuildInfo.toolchain))",
    subcommands: [
      RunCommand.self, ResumeCommand.self, ReportCommand.self, StatusCommand.self, ServeCommand.self,
      LogsCommand.self,
      RunOneCommand.self,
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
    HostCPU.relaunchWithFasterBLASIfNeeded()
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
      guard let flags = flags() else { return nil }
      return ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"].filter { !flags.contains($0) }
    #else
      return nil
    #endif
  }

  /// The CPU's feature flags from /proc/cpuinfo, or nil if it cannot tell.
  static func flags() -> Set<String>? {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
    return OpenBLASCore.cpuFlags(cpuinfo: text)
  }

  /// Starts this process again, same arguments and environment plus `OPENBLAS_CORETYPE`, when
  /// OpenBLAS chose a kernel older than the CPU (``OpenBLASCore``). Does nothing when the variable
  /// is already set (by the user, or by the first start), or if the new start fails.
  static func relaunchWithFasterBLASIfNeeded() {
    guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, let flags = flags(),
      let core = OpenBLASCore.preferredCore(detected: OpenBLASCore.detected, cpuFlags: flags)
    else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    let arguments = CommandLine.unsafeArgv
    execv("/proc/self/exe", arguments)
  }
}
