import Coordinator
import Foundation
import SweepModel
import SweepProtocol
import Testing
import ZeroMQ

/// The coordinator's ROUTER must never drop a message to a worker that is slow to read: a ROUTER
/// drops silently at its send high-water mark, and a lost lease stalls a sweep for good.
@Test func coordinatorRouter_queuesEveryMessageForAWorkerThatIsSlowToRead() throws {
  let context = try ZMQContext()
  let router = try CoordinatorShell.makeRouter(context: context, settings: CoordinatorShell.Settings())
  let endpoint = try router.bind("tcp://127.0.0.1:0")
  let worker = try Socket(.dealer, context: context)
  try worker.connect(endpoint)
  try worker.send(frames: WireCodec.encode(.heartbeat))
  #expect(try router.poll(timeout: .seconds(10)).contains(.readable))
  let identity = try #require(try router.receiveMultipart(wait: false)).first!

  // Far more than libzmq's default high-water marks (1000 each side) and the loopback TCP buffers
  // hold, while the worker reads nothing.
  let count = 100_000
  let key = RunKey(hex: String(repeating: "c", count: 64))
  for attempt in 1...count {
    let lease = WireMessage.lease(
      WireMessage.Lease(attempt: UInt64(attempt), key: key, experiment: "noop", parameters: [:], seed: 0))
    #expect(try router.send(frames: [identity] + WireCodec.encode(lease), wait: false))
  }
  var received: [UInt64] = []
  while received.count < count, try worker.poll(timeout: .seconds(10)).contains(.readable) {
    while let frames = try worker.receiveMultipart(wait: false) {
      if case .lease(let lease) = try WireCodec.decode(frames) { received.append(lease.attempt) }
    }
  }
  #expect(received == Array(1...UInt64(count)))
}
