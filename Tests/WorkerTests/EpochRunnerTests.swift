import Experiments
import Foundation
import SweepModel
import SweepProtocol
import Synchronization
import Testing
import ZeroMQ

@testable import Worker

// Members of an epoch's group on real libzmq peer sockets over loopback, each on its own thread,
// computing with the training core; every test compares the meta-state reached with one process's.

/// A tiny lstm-metalearning run: 12 steps, batch 8 in 4 shards.
private let context = WireMessage.RunContext(
  experiment: "lstm-metalearning",
  parameters: ExperimentCatalogue.completed(
    [
      "family": .string("boolean"), "batch": .int(8), "steps": .int(12), "sequence_length_train": .int(8),
      "validation_every": .int(5), "validation_sequences": .int(4), "curve_bin": .int(3),
      "test_sequences": .int(2), "test_length": .int(8), "shards": .int(4),
    ], descriptor: LSTMMetaLearningExperiment.descriptor),
  seed: 3)

private let key = RunKey(experiment: context.experiment, parameters: context.parameters, seed: context.seed)
private let secret = (0..<32).map { UInt8($0) }

/// A meta-state's SHA-256 (short failure messages, where the bytes would fill a screen).
private func digest(_ state: [UInt8]?) -> String {
  state.map { SHA256.hexString(SHA256.digest($0)) } ?? "none"
}

/// The meta-state one process reaches after `steps` steps (0: the initial one).
private func singleProcessState(steps: Int) throws -> [UInt8] {
  var reduction = try ExperimentCatalogue.rounds.start(
    experiment: context.experiment, parameters: context.parameters, seed: context.seed, checkpoint: nil)
  var computer = try ExperimentCatalogue.makeShardComputer(
    experiment: context.experiment, parameters: context.parameters, seed: context.seed)
  for step in 0..<steps {
    let replica = reduction.replica
    try reduction.apply((0..<4).map { try computer.gradient(replica: replica, step: step, shard: $0) })
  }
  return reduction.checkpoint
}

private func leases(members: Int, ports: [PeerPort], from: Int = 0, to: Int = 12) throws -> [WireMessage
  .EpochLease]
{
  let state = try singleProcessState(steps: from)
  return (0..<members).map { index in
    WireMessage.EpochLease(
      unit: UInt64(10 + index), epoch: 5, key: key, context: context, fromStep: UInt64(from),
      toStep: UInt64(to),
      index: UInt32(index), peers: ports.map { "tcp://127.0.0.1:\($0.port)" }, secret: secret,
      stateSHA256: SHA256.hexString(SHA256.digest(state)), state: state)
  }
}

/// Runs each lease on a thread of its own, with its port; returns the reports in member order.
private func runGroup(
  _ leases: [WireMessage.EpochLease], ports: [PeerPort], cancels: EpochCancels = EpochCancels(),
  patience: Duration = .seconds(10)
) -> [WireMessage.EpochReport] {
  let reports = Mutex<[Int: WireMessage.EpochReport]>([:])
  let done = DispatchSemaphore(value: 0)
  for (index, lease) in leases.enumerated() {
    let port = ports[index]
    let thread = Thread {
      if case .epochReport(let report) = EpochRunner.run(
        lease, port: port, cancels: cancels, patience: patience)
      {
        reports.withLock { $0[index] = report }
      }
      done.signal()
    }
    thread.start()
  }
  for _ in leases { done.wait() }
  return reports.withLock { reports in leases.indices.compactMap { reports[$0] } }
}

private func ports(_ count: Int, context zmq: ZMQContext) throws -> [PeerPort] {
  try (0..<count).map { _ in
    try PeerPort(bind: "tcp://127.0.0.1:0", context: zmq, maxMessageBytes: 1 << 20)
  }
}

@Test(arguments: [1, 2, 3])
func aGroupOnRealPeerSockets_reachesTheSingleProcessMetaState(members: Int) throws {
  let zmq = try ZMQContext()
  let ports = try ports(members, context: zmq)
  let reports = runGroup(try leases(members: members, ports: ports), ports: ports)
  let expected = try singleProcessState(steps: 12)
  #expect(reports.count == members)
  #expect(reports.allSatisfy { $0.status == .done && $0.step == 12 }, "\(reports.map(\.message))")
  #expect(reports.allSatisfy { $0.stateSHA256 == SHA256.hexString(SHA256.digest(expected)) })
  #expect(digest(reports.first?.state) == digest(expected), "the first member sends the state")
  #expect(reports.dropFirst().allSatisfy { $0.state == nil })
}

@Test func forgedMalformedAndStaleMessagesOnAPeerPort_areDropped_andTheBitsAreUnchanged() throws {
  let zmq = try ZMQContext()
  let ports = try ports(2, context: zmq)
  let group = try leases(members: 2, ports: ports)
  // A stranger floods member 0's port before and while the group runs: garbage, a gradient under
  // another secret (which would change the sum if it were taken), one of another epoch, and the
  // right epoch and secret for a shard member 0 computes itself.
  let stranger = try Socket(.push, context: zmq)
  try stranger.set(.linger(milliseconds: 0))
  try stranger.connect("tcp://127.0.0.1:\(ports[0].port)")
  let bogus = [UInt8](repeating: 0x7F, count: 3132)
  var frames: [[UInt8]] = [[], Array("MSPG".utf8), [UInt8](repeating: 1, count: 500)]
  for step in 0..<12 {
    frames.append(
      PeerGradient(epoch: 5, step: UInt64(step), shard: 1, sender: 1, gradient: bogus).encoded(
        secret: [UInt8](repeating: 9, count: 32)))
    frames.append(
      PeerGradient(epoch: 4, step: UInt64(step), shard: 1, sender: 1, gradient: bogus).encoded(secret: secret)
    )
    frames.append(
      PeerGradient(epoch: 5, step: UInt64(step), shard: 0, sender: 1, gradient: bogus).encoded(secret: secret)
    )
  }
  for frame in frames { _ = try stranger.send(frames: [frame]) }
  _ = try stranger.send(frames: [[1, 2], [3]])  // two frames
  let reports = runGroup(group, ports: ports)
  let expected = try singleProcessState(steps: 12)
  #expect(reports.count == 2)
  #expect(reports.allSatisfy { $0.status == .done }, "\(reports.map(\.message))")
  #expect(digest(reports.first?.state) == digest(expected))
}

@Test func aSilentMember_endsTheEpochAsAGroupFault_andACancelEndsItAtOnce() throws {
  let zmq = try ZMQContext()
  let ports = try ports(2, context: zmq)
  let group = try leases(members: 2, ports: ports)
  // Member 1 never runs: member 0 gives up on it after the patience.
  let start = ContinuousClock.now
  let silent = runGroup([group[0]], ports: [ports[0]], patience: .milliseconds(300))
  #expect(silent.first?.status == .groupFault)
  #expect(silent.first?.message.contains("no gradient of shards [1, 3] of round 0") == true, "\(silent)")
  #expect(ContinuousClock.now - start < .seconds(5))
  // Called off by the coordinator while waiting: it stops within a poll, long before the patience.
  let cancels = EpochCancels()
  var lease = group[0]
  lease.unit = 99
  let cancelling = Thread {
    Thread.sleep(forTimeInterval: 0.2)
    cancels.cancel(99)
  }
  cancelling.start()
  let cancelStart = ContinuousClock.now
  let cancelled = runGroup([lease], ports: [ports[0]], cancels: cancels, patience: .seconds(30))
  #expect(cancelled.first?.status == .groupFault)
  #expect(cancelled.first?.message == EpochRunner.calledOff)
  #expect(ContinuousClock.now - cancelStart < .seconds(5))
}

@Test func aDamagedMetaState_isAStateMismatch_andNothingRuns() throws {
  let zmq = try ZMQContext()
  let ports = try ports(1, context: zmq)
  var lease = try leases(members: 1, ports: ports)[0]
  lease.state[lease.state.count / 2] ^= 1
  let reports = runGroup([lease], ports: ports)
  #expect(reports.first?.status == .stateMismatch)
  #expect(reports.first?.message.contains("hashes to") == true)
  #expect(reports.first?.computeSeconds == 0)
}

@Test func anEpochFromTheMiddleOfTheRun_goesOnFromItsState() throws {
  let zmq = try ZMQContext()
  let ports = try ports(2, context: zmq)
  let reports = runGroup(try leases(members: 2, ports: ports, from: 5, to: 9), ports: ports)
  #expect(digest(reports.first?.state) == digest(try singleProcessState(steps: 9)))
}
