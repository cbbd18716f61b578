import CZeroMQ

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// One ZAP answer: who asked, from where, with which key, and whether they got in.
///
/// Everything here is safe to log: the key is the peer's *public* key. Texts that came off the
/// request (domain, mechanism, address) are cut to 100 printable ASCII characters first.
public struct ZAPDecision: Sendable, Hashable, CustomStringConvertible {
  /// How a request was answered.
  public enum Outcome: Sendable, Hashable {
    /// A CURVE client whose key is in the allow-list, in our domain (status 200).
    case accepted
    /// A well-formed request refused: unknown key, another mechanism, or another domain (status 400).
    case denied
    /// A request that does not follow ZAP 1.0 (status 500); only a bug or a hostile in-process
    /// socket sends these, never a remote peer.
    case malformed
  }

  public var outcome: Outcome
  /// The ZAP status code sent back: "200", "400" or "500".
  public var statusCode: String
  /// The status text sent back ("OK", "Unknown public key", ...).
  public var reason: String
  /// The peer's IP address as libzmq reports it (`127.0.0.1`, `10.0.0.7`); empty if unknown.
  public var address: String
  /// The peer's CURVE public key in Z85, when the request carried a 32-byte key.
  public var publicKey: String?
  /// The allow-list name the peer was admitted as (and its ZAP User-Id); nil unless accepted.
  public var name: String?
  /// The security mechanism the peer used ("CURVE", "NULL", "PLAIN").
  public var mechanism: String
  /// The ZAP domain of the socket the peer connected to.
  public var domain: String

  /// Whether the peer got in.
  public var isAccepted: Bool { outcome == .accepted }

  /// One line for a log: `accepted worker-a from 10.0.0.7 (key …)` or
  /// `denied 10.0.0.9 (key …): Unknown public key`.
  public var description: String {
    let key = publicKey.map { " (key \($0))" } ?? ""
    let peer = address.isEmpty ? "an unknown address" : address
    switch outcome {
    case .accepted: return "accepted \(name ?? "?") from \(peer)\(key)"
    case .denied: return "denied \(peer)\(key): \(reason)"
    case .malformed: return "answered a malformed ZAP request from \(peer) with \(statusCode): \(reason)"
    }
  }
}

/// The coordinator's ZAP handler: admits a CURVE client only if its public key is in an
/// ``AllowList``, and tells libzmq the client's allow-list name as its User-Id.
///
/// libzmq asks the handler bound at ``endpoint`` in the server socket's *own context* about every
/// incoming CURVE handshake. So:
/// 1. create the authenticator **before** the server socket binds, in the same ``ZMQContext``;
/// 2. register ``socket`` with the poll loop's ``Poller`` and call ``handlePending()`` whenever it
///    is readable (a client waits in its handshake until it is answered);
/// 3. keep the authenticator alive as long as the server socket, and close the server first.
///    **libzmq 4.3 fails open**: with no handler bound, CURVE admits every client that knows the
///    server's public key.
///
/// ```swift
/// let zap = try ZAPAuthenticator(context: context, allowList: try AllowList.load(directory: allowDir))
/// let router = try Socket(.router, context: context)
/// try router.makeCurveServer(keyPair: serverKeys, authenticator: zap)
/// try router.bind("tcp://*:5555")
/// let zapIndex = poller.register(zap.socket)
/// // in the loop:
/// if poller.isReadable(zapIndex) {
///   for decision in try zap.handlePending() where !decision.isAccepted { logger.warning("\(decision)") }
/// }
/// ```
///
/// Not `Sendable`: it owns a socket, which belongs to the poll thread.
public final class ZAPAuthenticator {
  /// The endpoint libzmq sends ZAP requests to (RFC 27).
  public static let endpoint = "inproc://zeromq.zap.01"
  /// The ZAP domain MetaSweep's CURVE server sockets use.
  public static let defaultDomain = "metasweep"

  /// The REP socket bound to ``endpoint``; register it with the poll loop's ``Poller``.
  public let socket: Socket
  /// The ZAP domain this handler answers for; requests for any other domain are denied.
  public let domain: String
  /// The keys let in. Replace it to reload the folder (say on SIGHUP); new handshakes see the
  /// new list, established connections stay.
  public var allowList: AllowList

  /// Binds a ZAP handler for `domain` at ``endpoint`` in `context`, admitting `allowList`.
  ///
  /// Throws ``ZMQError/Code/addressInUse`` when the context already has a ZAP handler.
  public init(context: ZMQContext, allowList: AllowList, domain: String = ZAPAuthenticator.defaultDomain)
    throws(ZMQError)
  {
    socket = try Socket(.rep, context: context)
    try socket.set(.linger(milliseconds: 0))
    self.domain = domain
    self.allowList = allowList
    do {
      try socket.bind(Self.endpoint)
    } catch  where error.code == .addressInUse {
      throw ZMQError(
        code: .addressInUse,
        message:
          "Cannot start a ZAP handler: this ZeroMQ context already has one. Create one ZAPAuthenticator per context.",
        errno: error.errno)
    }
  }

  /// Answers every ZAP request waiting on ``socket`` without blocking, and returns one decision
  /// per request, in order. A malformed request is answered with status 500 and reported as
  /// ``ZAPDecision/Outcome/malformed``; it never throws for bad input.
  ///
  /// Throws only when the socket fails, e.g. ``ZMQError/Code/terminated`` after
  /// ``ZMQContext/shutdown()``: then leave the loop.
  public func handlePending() throws(ZMQError) -> [ZAPDecision] {
    var decisions: [ZAPDecision] = []
    while true {
      let request: [[UInt8]]
      do {
        guard let received = try socket.receiveMultipart(maxFrames: 16, maxBytes: 16 * 1024, wait: false)
        else {
          return decisions
        }
        request = received
      } catch  where error.errno == EFSM {
        // The socket dropped an oversized request, and a REP socket must reply before it may
        // receive again; the request id is lost, so the reply carries an empty one.
        let (reply, decision) = Self.malformed(requestID: [], address: "", "oversized ZAP request")
        try socket.send(frames: reply)
        decisions.append(decision)
        continue
      }
      let (reply, decision) = Self.answer(request, allowList: allowList, domain: domain)
      try socket.send(frames: reply)
      decisions.append(decision)
    }
  }

  /// The reply to the ZAP request `request` (frames after the envelope) and the decision it
  /// stands for. Pure, so it can be tested without sockets.
  static func answer(_ request: [[UInt8]], allowList: AllowList, domain: String) -> (
    reply: [[UInt8]], decision: ZAPDecision
  ) {
    // version, request id, domain, address, routing id, mechanism, then the credentials.
    guard request.count >= 6 else {
      let requestID = request.count >= 2 ? request[1] : []
      return malformed(requestID: requestID, address: "", "expected at least 6 frames, got \(request.count)")
    }
    let requestID = request[1]
    let address = text(request[3])
    guard request[0] == Array("1.0".utf8) else {
      return malformed(requestID: requestID, address: address, "unsupported ZAP version")
    }
    var decision = ZAPDecision(
      outcome: .denied, statusCode: "400", reason: "", address: address, publicKey: nil, name: nil,
      mechanism: text(request[5]), domain: text(request[2]))
    guard request[5] == Array("CURVE".utf8) else {
      decision.reason = "Only CURVE is accepted"
      return (reply(requestID, decision), decision)
    }
    guard request.count == 7, request[6].count == 32 else {
      return malformed(
        requestID: requestID, address: address, "a CURVE request has 7 frames and a 32-byte key")
    }
    decision.publicKey = try? Z85.encode(request[6])
    guard request[2] == Array(domain.utf8) else {
      decision.reason = "Unknown ZAP domain"
      return (reply(requestID, decision), decision)
    }
    guard let name = allowList.name(for: request[6]) else {
      decision.reason = "Unknown public key"
      return (reply(requestID, decision), decision)
    }
    decision.outcome = .accepted
    decision.statusCode = "200"
    decision.reason = "OK"
    decision.name = name
    return (reply(requestID, decision), decision)
  }

  private static func malformed(requestID: [UInt8], address: String, _ reason: String) -> (
    reply: [[UInt8]], decision: ZAPDecision
  ) {
    let decision = ZAPDecision(
      outcome: .malformed, statusCode: "500", reason: "Malformed ZAP request: \(reason)", address: address,
      publicKey: nil, name: nil, mechanism: "", domain: "")
    return (reply(requestID, decision), decision)
  }

  /// The six reply frames: version, request id, status code, status text, user id, metadata.
  private static func reply(_ requestID: [UInt8], _ decision: ZAPDecision) -> [[UInt8]] {
    [
      Array("1.0".utf8), requestID, Array(decision.statusCode.utf8), Array(decision.reason.utf8),
      Array((decision.name ?? "").utf8), [],
    ]
  }

  /// A frame as log-safe text: printable ASCII only, at most 100 characters.
  private static func text(_ frame: [UInt8]) -> String {
    String(
      decoding: frame.prefix(100).map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
  }
}

/// The handler owns a socket, so it stays on the poll thread.
@available(*, unavailable)
extension ZAPAuthenticator: Sendable {}
