import Experiments
import Foundation
import SweepModel
import SweepProtocol
import Synchronization
import ZeroMQ

/// The worker's peer port: a PULL socket on which the members of its epochs' groups send it their
/// shard gradients, and a PUSH socket to each member it sent to, kept for the next epochs.
///
/// Used by one training thread at a time (a worker takes part in one epoch at a time): the lock
/// hands the sockets from thread to thread with the full memory barrier libzmq asks for.
final class PeerPort: @unchecked Sendable {
  private let lock = NSLock()
  private let pull: Socket
  private var pushes: [String: Socket] = [:]
  private let context: ZMQContext
  /// The TCP port the PULL socket is bound to.
  let port: UInt16

  /// Binds the PULL socket at `endpoint` (`tcp://HOST:0` picks a free port).
  init(bind endpoint: String, context: ZMQContext, maxMessageBytes: Int) throws {
    self.context = context
    pull = try Socket(.pull, context: context)
    try pull.set(.linger(milliseconds: 0), .maxMessageSize(bytes: Int64(maxMessageBytes)))
    let bound = try pull.bind(endpoint)
    guard let colon = bound.lastIndex(of: ":"), let port = UInt16(bound[bound.index(after: colon)...]),
      port != 0
    else {
      throw PeerPortError(endpoint: bound)
    }
    self.port = port
  }

  /// Runs `body` with the PULL socket and a PUSH socket to each of `endpoints`, holding the port.
  func withSockets<T>(to endpoints: [String], _ body: (Socket, [Socket]) throws -> T) throws -> T {
    lock.lock()
    defer { lock.unlock() }
    var outs: [Socket] = []
    for endpoint in endpoints {
      if let push = pushes[endpoint] {
        outs.append(push)
        continue
      }
      let push = try Socket(.push, context: context)
      // A member that left must not hold the context open, nor a full queue block the epoch.
      try push.set(.linger(milliseconds: 0), .sendHighWaterMark(0))
      try push.connect(endpoint)
      pushes[endpoint] = push
      outs.append(push)
    }
    return try body(pull, outs)
  }
}

/// A peer port bound to an endpoint that is not TCP with a port.
struct PeerPortError: Error, CustomStringConvertible {
  var endpoint: String
  var description: String { "the peer port must be a TCP endpoint (tcp://HOST:PORT), not \(endpoint)" }
}

/// The epochs a training thread must stop: set by the poll thread, read between rounds.
final class EpochCancels: Sendable {
  private let units = Mutex<Set<UInt64>>([])
  func cancel(_ unit: UInt64) { _ = units.withLock { $0.insert(unit) } }
  func isCancelled(_ unit: UInt64) -> Bool { units.withLock { $0.contains(unit) } }
  func forget(_ unit: UInt64) { _ = units.withLock { $0.remove(unit) } }
}

/// One member's part in an epoch of rounds (``WireMessage/EpochLease``), on a training thread.
enum EpochRunner {
  /// How long a member waits for the gradients of a round, at least, before it gives up on its
  /// group (it also waits at least four times its own compute of a round).
  static let minimumPatience: Duration = .seconds(10)
  /// The message of a report of an epoch the coordinator called off (never sent).
  static let calledOff = "called off by the coordinator"

  /// Computes `lease`'s part of its epoch and returns its report.
  static func run(
    _ lease: WireMessage.EpochLease, port: PeerPort?, cancels: EpochCancels,
    patience: Duration = minimumPatience
  ) -> WireMessage {
    defer { cancels.forget(lease.unit) }
    var computeSeconds = 0.0
    var waitSeconds = 0.0
    func report(
      _ status: WireMessage.EpochReport.Status, step: UInt64, _ message: String, sha256: String = "",
      state: [UInt8]? = nil
    ) -> WireMessage {
      .epochReport(
        WireMessage.EpochReport(
          unit: lease.unit, key: lease.key, status: status, step: step, stateSHA256: sha256,
          computeSeconds: computeSeconds, waitSeconds: waitSeconds, message: message, state: state))
    }
    let digest = SHA256.hexString(SHA256.digest(lease.state))
    guard digest == lease.stateSHA256 else {
      return report(
        .stateMismatch, step: lease.fromStep,
        "the meta-state hashes to \(digest.prefix(12)), not \(lease.stateSHA256.prefix(12))")
    }
    let members = lease.peers.count
    let me = Int(lease.index)
    let context = lease.context
    guard members >= 1, me < members, lease.fromStep <= lease.toStep,
      let plan = ExperimentCatalogue.rounds.plan(
        experiment: context.experiment, parameters: context.parameters),
      members <= plan.shards, lease.toStep <= UInt64(plan.steps)
    else {
      return report(.failed, step: lease.fromStep, "an epoch lease that does not fit its run")
    }
    var reduction: any RoundsReduction
    var computer: any ShardComputer
    do {
      reduction = try ExperimentCatalogue.rounds.start(
        experiment: context.experiment, parameters: context.parameters, seed: context.seed,
        checkpoint: lease.state)
      computer = try ExperimentCatalogue.makeShardComputer(
        experiment: context.experiment, parameters: context.parameters, seed: context.seed)
    } catch {
      return report(.failed, step: lease.fromStep, "\(error)")
    }
    guard reduction.step == Int(lease.fromStep) else {
      return report(
        .stateMismatch, step: lease.fromStep,
        "the meta-state is at step \(reduction.step), not \(lease.fromStep)")
    }
    let shards = plan.shards
    let mine = Array(stride(from: me, to: shards, by: members))
    let others = lease.peers.indices.filter { $0 != me }.map { lease.peers[$0] }
    let clock = ContinuousClock()

    /// One round: this member's shards, then the others' (over the peer port), then the step.
    /// Returns nil when done, or the report that ends the epoch.
    func round(
      _ step: Int, pull: Socket?, outs: [Socket], early: inout [Int: [UInt8]]
    ) throws -> WireMessage? {
      if cancels.isCancelled(lease.unit) {
        return report(.groupFault, step: UInt64(step), calledOff)
      }
      let replica = reduction.replica
      var gradients = [[UInt8]?](repeating: nil, count: shards)
      let computeStart = clock.now
      for shard in mine {
        let gradient = try computer.gradient(replica: replica, step: step, shard: shard)
        gradients[shard] = gradient
        if !outs.isEmpty {
          let frame = PeerGradient(
            epoch: lease.epoch, step: UInt64(step), shard: UInt32(shard), sender: lease.index,
            gradient: gradient
          ).encoded(secret: lease.secret)
          for out in outs { _ = try? out.send(frames: [frame], wait: false) }
        }
      }
      let computed = (clock.now - computeStart)
      computeSeconds += computed.inSeconds
      if let pull, members > 1 {
        for (shard, gradient) in early { gradients[shard] = gradient }
        early = [:]
        var missing = gradients.lazy.filter { $0 == nil }.count
        let waitStart = clock.now
        let waitLimit = max(patience, computed * 4)
        var lastProgress = waitStart
        while missing > 0 {
          if try pull.poll(.readable, timeout: .milliseconds(20)).isEmpty {
            if cancels.isCancelled(lease.unit) {
              return report(.groupFault, step: UInt64(step), calledOff)
            }
            if clock.now - lastProgress > waitLimit {
              let absent = gradients.indices.filter { gradients[$0] == nil }
              return report(
                .groupFault, step: UInt64(step),
                "no gradient of shards \(absent) of round \(step) came from the group in \(waitLimit)")
            }
            continue
          }
          while missing > 0,
            let frames = try pull.receiveMultipart(
              maxFrames: 1, maxBytes: WireLimits.maxCheckpointBytes + 64, wait: false)
          {
            guard frames.count == 1,
              let message = PeerGradient.decode(frames[0], epoch: lease.epoch, secret: lease.secret),
              Int(message.sender) < members, Int(message.sender) != me, Int(message.shard) < shards,
              Int(message.shard) % members == Int(message.sender)
            else { continue }  // another epoch's, forged, or malformed: never used
            let shard = Int(message.shard)
            if message.step == UInt64(step), gradients[shard] == nil {
              gradients[shard] = message.gradient
              missing -= 1
              lastProgress = clock.now
            } else if message.step == UInt64(step) + 1 {
              early[shard] = message.gradient  // a member already in the next round
            }
          }
        }
        waitSeconds += (clock.now - waitStart).inSeconds
      }
      do {
        try reduction.apply(gradients.map { $0! })
      } catch {
        return report(
          .groupFault, step: UInt64(step), "a shard gradient of round \(step) does not fit: \(error)")
      }
      return nil
    }

    do {
      var early: [Int: [UInt8]] = [:]
      let ended: WireMessage? =
        if members == 1 {
          try {
            for step in Int(lease.fromStep)..<Int(lease.toStep) {
              if let ended = try round(step, pull: nil, outs: [], early: &early) { return ended }
            }
            return nil
          }()
        } else {
          try port.map { port in
            try port.withSockets(to: others) { pull, outs in
              for step in Int(lease.fromStep)..<Int(lease.toStep) {
                if let ended = try round(step, pull: pull, outs: outs, early: &early) { return ended }
              }
              return nil
            }
          } ?? report(.groupFault, step: lease.fromStep, "this worker has no peer port")
        }
      if let ended { return ended }
    } catch {
      return report(.failed, step: UInt64(reduction.step), "\(error)")
    }
    let state = reduction.checkpoint
    return report(
      .done, step: lease.toStep, "", sha256: SHA256.hexString(SHA256.digest(state)),
      state: me == 0 ? state : nil)
  }
}
