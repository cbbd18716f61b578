import Testing

@testable import ZeroMQ

/// Polls `socket` until a message arrives or `timeout` passes; never sleeps.
private func receive(
  _ socket: Socket, timeout: Duration = .seconds(10), maxFrames: Int = 64, maxBytes: Int = 64 << 20
) throws -> [[UInt8]]? {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if let frames = try socket.receiveMultipart(maxFrames: maxFrames, maxBytes: maxBytes, wait: false) {
      return frames
    }
    _ = try socket.poll(.readable, timeout: deadline - ContinuousClock.now)
  }
  return nil
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A ROUTER on an ephemeral loopback port and a DEALER with routing id `worker-1` connected to it.
private func makePair(_ context: ZMQContext) throws -> (router: Socket, dealer: Socket, endpoint: String) {
  let router = try Socket(.router, context: context)
  try router.set(.linger(milliseconds: 0), .routerMandatory(true))
  let endpoint = try router.bind("tcp://127.0.0.1:0")
  let dealer = try Socket(.dealer, context: context)
  try dealer.set(
    .linger(milliseconds: 0), .routingID(bytes("worker-1")), .heartbeatInterval(milliseconds: 250),
    .heartbeatTimeout(milliseconds: 1000), .heartbeatTTL(milliseconds: 1000),
    .receiveTimeout(milliseconds: -1),
    .sendHighWaterMark(1000), .receiveHighWaterMark(1000), .immediate(false), .maxMessageSize(bytes: -1))
  try dealer.connect(endpoint)
  return (router, dealer, endpoint)
}

@Test func version_isLibzmq4_withCurve() {
  #expect(ZeroMQ.version >= ZeroMQ.Version(major: 4, minor: 0, patch: 0))
  #expect(ZeroMQ.version.description.split(separator: ".").count == 3)
  #expect(ZeroMQ.hasCurve)
}

@Test func bind_ephemeralPort_returnsTheActualEndpoint() throws {
  let context = try ZMQContext()
  let socket = try Socket(.pull, context: context)
  let endpoint = try socket.bind("tcp://127.0.0.1:0")
  #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
  let port = Int(endpoint.split(separator: ":").last ?? "") ?? 0
  #expect(port > 0 && port < 65536)
  let wildcard = try socket.bind("tcp://*:*")
  #expect(wildcard.hasPrefix("tcp://0.0.0.0:") && wildcard != "tcp://0.0.0.0:0")
  try socket.unbind(wildcard)
}

@Test func routerAndDealer_roundTripMultipartMessages_withIdentityFrames() throws {
  let context = try ZMQContext()
  let (router, dealer, _) = try makePair(context)

  try dealer.send(frames: [bytes("hello"), [], [0, 1, 2, 255]])
  let request = try #require(try receive(router))
  #expect(request == [bytes("worker-1"), bytes("hello"), [], [0, 1, 2, 255]])

  // The ROUTER addresses its reply with the identity frame it received.
  let big = [UInt8](repeating: 7, count: 300_000)
  #expect(try router.send(frames: [request[0], bytes("reply"), big]))
  let reply = try #require(try receive(dealer))
  #expect(reply == [bytes("reply"), big])

  // Many messages in a row keep their order and their frame boundaries.
  for index in 0..<100 { try dealer.send(frames: [[UInt8(index)], bytes("n")]) }
  for index in 0..<100 {
    let frames = try #require(try receive(router))
    #expect(frames == [bytes("worker-1"), [UInt8(index)], bytes("n")])
  }
}

@Test func routerMandatory_unknownIdentity_throwsHostUnreachable() throws {
  let context = try ZMQContext()
  let (router, _, _) = try makePair(context)
  #expect {
    try router.send(frames: [bytes("nobody"), bytes("x")])
  } throws: { error in
    (error as? ZMQError)?.code == .hostUnreachable
  }
}

@Test func poll_whenQuiet_timesOutWithNoEvent() throws {
  let context = try ZMQContext()
  let (router, dealer, _) = try makePair(context)
  let poller = Poller()
  let routerIndex = poller.register(router)
  let dealerIndex = poller.register(dealer)
  #expect(try poller.poll(timeout: .milliseconds(50)) == 0)
  #expect(!poller.isReadable(routerIndex) && !poller.isReadable(dealerIndex))
  #expect(try router.receiveMultipart(wait: false) == nil)
  #expect(try router.poll(timeout: .zero) == [])

  // And it does report the socket that has a message.
  try dealer.send(frames: [bytes("ping")])
  #expect(try poller.poll(timeout: .seconds(10)) == 1)
  #expect(poller.isReadable(routerIndex) && !poller.isReadable(dealerIndex))
}

@Test func receive_oversizedMessages_areDroppedAndCounted_andTheSocketKeepsWorking() throws {
  let context = try ZMQContext()
  let (router, dealer, _) = try makePair(context)

  try dealer.send(frames: [[UInt8](repeating: 1, count: 1 << 20)])  // too many bytes
  try dealer.send(frames: (0..<100).map { [UInt8($0)] })  // too many frames
  try dealer.send(frames: [bytes("small")])

  let frames = try #require(try receive(router, maxFrames: 8, maxBytes: 4096))
  #expect(frames == [bytes("worker-1"), bytes("small")])
  #expect(router.droppedMessageCount == 2)

  // The connection survives: a reply goes out and another request comes in.
  try router.send(frames: [frames[0], bytes("still here")])
  #expect(try receive(dealer) == [bytes("still here")])
  try dealer.send(frames: [bytes("again")])
  #expect(try receive(router, maxFrames: 8, maxBytes: 4096) == [bytes("worker-1"), bytes("again")])
}

@Test func maxMessageSize_dropsAnOversizedPeerMessage_andTheSocketKeepsWorking() throws {
  let context = try ZMQContext()
  let router = try Socket(.router, context: context)
  try router.set(.maxMessageSize(bytes: 1024))
  let endpoint = try router.bind("tcp://127.0.0.1:0")
  let dealer = try Socket(.dealer, context: context)
  try dealer.set(.routingID(bytes("w")))
  try dealer.connect(endpoint)

  try dealer.send(frames: [[UInt8](repeating: 0, count: 4096)])
  // libzmq drops the offending connection; the dealer reconnects and later messages get through.
  let deadline = ContinuousClock.now + .seconds(20)
  var received: [[UInt8]]? = nil
  while received == nil && ContinuousClock.now < deadline {
    try dealer.send(frames: [bytes("ok")])
    received = try receive(router, timeout: .milliseconds(200))
  }
  #expect(received == [bytes("w"), bytes("ok")])
}

@Test func bind_sameAddressTwice_throwsAddressInUse_withAReadableMessage() throws {
  let context = try ZMQContext()
  let first = try Socket(.router, context: context)
  let endpoint = try first.bind("tcp://127.0.0.1:0")
  let second = try Socket(.router, context: context)
  do {
    try second.bind(endpoint)
    Issue.record("bound \(endpoint) twice")
  } catch {
    #expect(error.code == .addressInUse)
    #expect(error.message.contains("Cannot bind \(endpoint): address in use"))
    #expect(error.message.contains("--port"))
  }
}

@Test func connect_badEndpoint_throwsInvalidEndpoint_withTheExpectedForm() throws {
  let context = try ZMQContext()
  let socket = try Socket(.dealer, context: context)
  for endpoint in ["nonsense", "tcp://", "carrierpigeon://host:1"] {
    do {
      try socket.connect(endpoint)
      Issue.record("connected to \(endpoint)")
    } catch {
      #expect(error.code == .invalidEndpoint, "\(endpoint): \(error)")
      #expect(
        error.message.contains("Cannot connect \(endpoint)") && error.message.contains("tcp://HOST:PORT"))
    }
  }
}

@Test func receiveTimeout_returnsNil_insteadOfBlockingForever() throws {
  let context = try ZMQContext()
  let socket = try Socket(.pull, context: context)
  try socket.set(.receiveTimeout(milliseconds: 20))
  _ = try socket.bind("inproc://timeout-test")
  #expect(try socket.receiveMultipart() == nil)
}

@Test func contextShutdown_makesABlockedPollReturnTerminated() throws {
  let context = try ZMQContext()
  let socket = try Socket(.pull, context: context)
  _ = try socket.bind("inproc://shutdown-test")
  context.shutdown()
  do {
    _ = try socket.receiveMultipart()
    Issue.record("received after shutdown")
  } catch {
    #expect(error.code == .terminated)
  }
}

@Test func pollTimeout_roundsUpToWholeMilliseconds() {
  #expect(Poller.milliseconds(nil) == -1)
  #expect(Poller.milliseconds(.zero) == 0)
  #expect(Poller.milliseconds(.microseconds(1)) == 1)
  #expect(Poller.milliseconds(.milliseconds(250)) == 250)
  #expect(Poller.milliseconds(.seconds(-3)) == 0)
  #expect(Poller.milliseconds(.seconds(Int64.max / 2)) == Int(Int32.max))
}
