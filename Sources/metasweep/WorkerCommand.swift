import ArgumentParser
import Foundation
import Worker
import ZeroMQ

struct WorkerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "worker", abstract: "Run experiments leased by a coordinator.")

  @Option(help: "The coordinator's endpoint, e.g. tcp://head-node:5555.")
  var connect: String

  @Option(help: "Runs at once (default: one per core).")
  var slots: Int = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "A name for logs (default: host:pid).")
  var name: String?

  @Option(help: .hidden)
  var parentPid: Int32?

  /// Seconds between greetings of a coordinator that does not answer (tests shorten it).
  @Option(help: .hidden)
  var helloInterval: Double = 1

  @Option(
    help:
      "On SIGTERM: handback (leave at once; running runs go to other workers) or finish (finish and report them first)."
  )
  var onStop: String = "handback"

  @Option(
    help:
      "Exit (code 4) after this many seconds without an answer from a coordinator (default: wait forever).")
  var giveUpAfter: Double?

  @Option(help: "CURVE: this worker's key file (from `metasweep keys generate`).")
  var curveKey: String?

  @Option(help: "CURVE: the coordinator's public key file (its .pub).")
  var serverKey: String?

  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    guard slots >= 1 && slots <= 1024 else { throw ValidationError("--slots must be in 1...1024.") }
    guard ["handback", "finish"].contains(onStop) else {
      throw ValidationError("--on-stop must be handback or finish, got '\(onStop)'.")
    }
    guard (curveKey == nil) == (serverKey == nil) else {
      throw ValidationError(
        "CURVE needs both --curve-key (this worker's key) and --server-key (the coordinator's .pub).")
    }
  }

  func run() throws {
    let logger = logging.bootstrap(label: "metasweep.worker")
    SignalTrap.install()
    let code = try withErrorFunnel {
      var settings = WorkerShell.Settings(endpoint: connect)
      settings.session.name = name ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
      settings.session.slots = UInt32(slots)
      settings.session.buildID = BuildInfo.buildID
      settings.parentPID = parentPid
      settings.finishOnStop = onStop == "finish"
      settings.session.giveUpAfter = giveUpAfter.map { .milliseconds(Int64($0 * 1000)) }
      settings.session.helloInterval = .microseconds(Int64(max(helloInterval, 0.000_1) * 1_000_000))
      if let curveKey, let serverKey {
        settings.curve = (
          try CurveKeyFile.loadKeyPair(path: curveKey), try CurveKeyFile.loadPublicKey(path: serverKey)
        )
      }
      logger.info("Connecting", metadata: ["endpoint": "\(connect)", "curve": "\(settings.curve != nil)"])
      let shell = WorkerShell(settings: settings, context: try ZMQContext(), logger: logger)
      return try shell.run { SignalTrap.isTriggered }
    }
    // Training threads may still be inside a run: leave without waiting for them.
    Foundation.exit(code)
  }
}
