import ArgumentParser
import Coordinator
import Foundation
import Journal
import SweepModel
import SweepProtocol
import ZeroMQ

struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show a sweep's progress: from its journal (DIR) or live from its coordinator (--connect).",
    discussion: """
      Grid: # done, > running, x failed, . pending. Reading the journal is safe while the sweep runs.
        metasweep status results/crossprop-geoff
        metasweep status --connect tcp://head-node:5555      # adds workers, slots, rate and ETA
      """)

  @Argument(help: "The sweep's output folder (holding journal.sqlite).")
  var directory: String?

  @Option(help: "Ask a running coordinator instead, e.g. tcp://head-node:5555.")
  var connect: String?

  @Option(help: "CURVE (with --connect): a key file whose public key the coordinator allows.")
  var curveKey: String?

  @Option(help: "CURVE (with --connect): the coordinator's public key file.")
  var serverKey: String?

  @Option(help: "Seconds to wait for the coordinator's answer.")
  var timeout: Double = 5

  func validate() throws {
    guard (directory == nil) != (connect == nil) else {
      throw ValidationError("Give either a sweep folder or --connect ENDPOINT.")
    }
    guard (curveKey == nil) == (serverKey == nil) else {
      throw ValidationError("CURVE needs both --curve-key and --server-key.")
    }
  }

  func run() throws {
    try withErrorFunnel {
      if let connect {
        print(try Self.ask(connect, curve: curveKey.map { ($0, serverKey!) }, timeout: timeout))
        return
      }
      let directory = directory!
      let path = try SweepRunner.existingJournalPath(directory)
      let journal = try Journal(path: path, readOnly: true)
      let holder = ResultsFolderLock.holder(of: directory)
      print(
        SweepStatus.render(
          name: try journal.sweepInfo()?.name ?? directory, counts: try journal.counts(),
          states: try journal.runStates(),
          coordinator: holder.map { .running(holder: $0.description) } ?? .stopped))
      if holder != nil, let live = LiveViewKeys.command(directory: directory) {
        print("live view (workers, rate, ETA): \(live)")
      }
      for failed in try journal.failedRuns() {
        print(
          "failed: \(failed.run.variant) seed \(failed.run.seed) (run \(failed.run.key.short)) after "
            + "\(failed.failures) attempts: \(failed.error)")
      }
      if let failed = try journal.failedRuns().first {
        print("(each attempt's output: metasweep logs \(directory) \(failed.run.key.short))")
      }
      // A graph's runs whose inputs are not journaled yet are in no row: count them from its plan.
      if case .graph(let plan)? = try? SweepRunner.storedShape(in: directory).document {
        let waiting = plan.slots.count - (try journal.counts().total)
        if waiting > 0 { print("\(waiting) more runs of the graph wait for inputs that do not exist yet") }
      }
    }
  }

  /// Sends a status request to the coordinator at `endpoint` and returns its answer.
  static func ask(_ endpoint: String, curve: (key: String, server: String)?, timeout: Double) throws -> String
  {
    let context = try ZMQContext()
    let socket = try Socket(.dealer, context: context)
    if let curve {
      try socket.makeCurveClient(
        serverPublicKey: try CurveKeyFile.loadPublicKey(path: curve.server),
        clientKeyPair: try CurveKeyFile.loadKeyPair(path: curve.key))
    }
    try socket.connect(endpoint)
    try socket.send(frames: WireCodec.encode(.statusRequest))
    let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
    while ContinuousClock.now < deadline {
      guard try socket.poll(timeout: .milliseconds(100)).contains(.readable) else { continue }
      while let frames = try socket.receiveMultipart(wait: false) {
        // Heartbeats and other traffic are not for us; only the status answers.
        if case .status(let text) = try? WireCodec.decode(frames) { return text }
      }
    }
    throw StatusError(
      message: "No answer from a coordinator at \(endpoint) within \(timeout) s: is it running there?")
  }
}

/// A status request that got no answer.
struct StatusError: Error, UserFacingError {
  var message: String
  var userMessage: String { message }
  var exitCode: Int32 { 1 }
}
