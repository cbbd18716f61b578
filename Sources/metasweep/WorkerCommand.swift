import ArgumentParser
import Foundation
import SweepProtocol
import Worker
import ZeroMQ

/// CURVE keys a worker may take from its environment instead of files: how `metasweep run` hands
/// its local workers the keys it made for the run.
enum WorkerKeyEnvironment {
  /// This worker's secret key, 40 Z85 characters.
  static let secretKey = "METASWEEP_CURVE_SECRET_KEY"
  /// The coordinator's public key, 40 Z85 characters.
  static let serverKey = "METASWEEP_SERVER_PUBLIC_KEY"

  /// The key pair and server key from the environment (both or neither), removed from it so that
  /// nothing this process starts inherits them; nil when neither is set.
  static func take() throws -> (keyPair: CurveKeyPair, serverPublicKey: String)? {
    let environment = ProcessInfo.processInfo.environment
    let secret = environment[secretKey]
    let server = environment[serverKey]
    unsetenv(secretKey)
    unsetenv(serverKey)
    guard let secret, let server else {
      guard secret == nil && server == nil else {
        throw ValidationError("Set both \(secretKey) and \(serverKey), or neither.")
      }
      return nil
    }
    _ = try CurveKeyPair.decodeKey(server, role: "server public")
    return (try CurveKeyPair(secretKey: secret), server)
  }
}

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
    help: """
      Where this worker takes the shard gradients of the other workers of its groups, in runs in \
      rounds (tcp://HOST:0: a free port; 'none': it computes epochs of rounds only alone). The \
      coordinator hands the port out at the address it sees this worker at.
      """)
  var peerBind: String = "tcp://*:0"

  /// Fault injection for tests: damage every Nth replica of a round after it arrived.
  @Option(help: .hidden)
  var damageEveryNthReplica: Int?

  @Option(
    help:
      "On SIGTERM: handback (leave at once; running runs go to other workers) or finish (finish and report them first)."
  )
  var onStop: String = "handback"

  @Option(
    help:
      "Exit (code 4) after this many seconds without an answer from a coordinator (default: wait forever).")
  var giveUpAfter: Double?

  @Option(help: "Read run inputs from this artifact store on this disk before fetching them (local workers).")
  var localStore: String?

  @Option(help: "Where fetched artifacts are cached (default: $TMPDIR/metasweep-artifacts-UID).")
  var artifactCache: String?

  @Option(help: "The most bytes the artifact cache keeps, least recently used out first (default 4 GiB).")
  var artifactCacheBytes: Int = 4 << 30

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
      settings.session.machine = BuildInfo.machineType
      // Drawn once per process: the coordinator credits reports only to the process it leased to.
      var generator = SystemRandomNumberGenerator()
      settings.session.session = (0..<WireLimits.sessionBytes).map { _ in
        UInt8.random(in: .min ... .max, using: &generator)
      }
      settings.parentPID = parentPid
      settings.localStore = localStore
      if let artifactCache { settings.cacheFolder = artifactCache }
      settings.cacheBytes = max(artifactCacheBytes, 0)
      settings.finishOnStop = onStop == "finish"
      settings.damagesEveryNthReplica = damageEveryNthReplica
      settings.peerBind = peerBind == "none" ? nil : peerBind
      settings.session.giveUpAfter = giveUpAfter.map { .milliseconds(Int64($0 * 1000)) }
      settings.session.helloInterval = .microseconds(Int64(max(helloInterval, 0.000_1) * 1_000_000))
      if let curveKey, let serverKey {
        settings.curve = (
          try CurveKeyFile.loadKeyPair(path: curveKey), try CurveKeyFile.loadPublicKey(path: serverKey)
        )
      } else if let keys = try WorkerKeyEnvironment.take() {
        settings.curve = keys
      }
      logger.info("Connecting", metadata: ["endpoint": "\(connect)", "curve": "\(settings.curve != nil)"])
      let shell = WorkerShell(settings: settings, context: try ZMQContext(), logger: logger)
      return try shell.run { SignalTrap.isTriggered }
    }
    // Training threads may still be inside a run: leave without waiting for them.
    Foundation.exit(code)
  }
}
