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
      CoordinatorCommand.self, WorkerCommand.self, KeysCommand.self, AuditCommand.self,
    ])
}
