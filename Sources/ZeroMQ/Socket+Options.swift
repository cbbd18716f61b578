import CZeroMQ

/// A socket option MetaSweep sets. Durations are in milliseconds as libzmq takes them.
public enum SocketOption: Sendable, Equatable {
  /// How long closing waits to flush unsent messages (`ZMQ_LINGER`; -1 forever, 0 drop; ours default 0).
  case linger(milliseconds: Int32)
  /// The identity a DEALER presents to a ROUTER (`ZMQ_ROUTING_ID`, 1–255 bytes, not starting with 0).
  case routingID([UInt8])
  /// Send a ZMTP PING this often (`ZMQ_HEARTBEAT_IVL`; 0 disables, the default).
  case heartbeatInterval(milliseconds: Int32)
  /// Drop the connection when no traffic follows a PING for this long (`ZMQ_HEARTBEAT_TIMEOUT`).
  case heartbeatTimeout(milliseconds: Int32)
  /// Ask the peer to drop us after this long without traffic (`ZMQ_HEARTBEAT_TTL`, 100 ms units).
  case heartbeatTTL(milliseconds: Int32)
  /// Disconnect a peer that sends a frame bigger than this (`ZMQ_MAXMSGSIZE`; -1 unlimited, the default).
  case maxMessageSize(bytes: Int64)
  /// Queue at most this many outgoing messages per peer (`ZMQ_SNDHWM`; 0 unlimited, default 1000).
  case sendHighWaterMark(Int32)
  /// Queue at most this many incoming messages per peer (`ZMQ_RCVHWM`; 0 unlimited, default 1000).
  case receiveHighWaterMark(Int32)
  /// Queue messages only to completed connections (`ZMQ_IMMEDIATE`; default false).
  case immediate(Bool)
  /// Make a ROUTER fail with `.hostUnreachable` for an unknown routing id instead of dropping
  /// the message silently (`ZMQ_ROUTER_MANDATORY`; default false).
  case routerMandatory(Bool)
  /// A blocking receive gives up after this long and returns nil (`ZMQ_RCVTIMEO`; -1 forever, the default).
  case receiveTimeout(milliseconds: Int32)
  /// A blocking send gives up after this long (`ZMQ_SNDTIMEO`; -1 forever, the default).
  case sendTimeout(milliseconds: Int32)
  /// Act as the CURVE server (`ZMQ_CURVE_SERVER`); needs `curveSecretKey`.
  case curveServer(Bool)
  /// This side's long-term CURVE public key, 32 bytes (`ZMQ_CURVE_PUBLICKEY`).
  case curvePublicKey([UInt8])
  /// This side's long-term CURVE secret key, 32 bytes (`ZMQ_CURVE_SECRETKEY`).
  case curveSecretKey([UInt8])
  /// The server's CURVE public key, 32 bytes, set on a client (`ZMQ_CURVE_SERVERKEY`).
  case curveServerKey([UInt8])
  /// The ZAP domain, so a ZAP handler can apply an allow-list (`ZMQ_ZAP_DOMAIN`).
  case zapDomain(String)

  var name: String {
    switch self {
    case .linger: "linger"
    case .routingID: "routing id"
    case .heartbeatInterval: "heartbeat interval"
    case .heartbeatTimeout: "heartbeat timeout"
    case .heartbeatTTL: "heartbeat TTL"
    case .maxMessageSize: "max message size"
    case .sendHighWaterMark: "send high-water mark"
    case .receiveHighWaterMark: "receive high-water mark"
    case .immediate: "immediate"
    case .routerMandatory: "router mandatory"
    case .receiveTimeout: "receive timeout"
    case .sendTimeout: "send timeout"
    case .curveServer: "CURVE server"
    case .curvePublicKey: "CURVE public key"
    case .curveSecretKey: "CURVE secret key"
    case .curveServerKey: "CURVE server key"
    case .zapDomain: "ZAP domain"
    }
  }
}

extension Socket {
  /// Sets each option in order; most must be set before `bind` or `connect` to take effect.
  public func set(_ options: SocketOption...) throws(ZMQError) {
    for option in options { try set(option) }
  }

  /// Sets one option.
  public func set(_ option: SocketOption) throws(ZMQError) {
    let rc: Int32
    switch option {
    case .linger(let value): rc = setInt32(ZMQ_LINGER, value)
    case .routingID(let bytes): rc = setBytes(ZMQ_ROUTING_ID, bytes)
    case .heartbeatInterval(let value): rc = setInt32(ZMQ_HEARTBEAT_IVL, value)
    case .heartbeatTimeout(let value): rc = setInt32(ZMQ_HEARTBEAT_TIMEOUT, value)
    case .heartbeatTTL(let value): rc = setInt32(ZMQ_HEARTBEAT_TTL, value)
    case .maxMessageSize(let value): rc = setInt64(ZMQ_MAXMSGSIZE, value)
    case .sendHighWaterMark(let value): rc = setInt32(ZMQ_SNDHWM, value)
    case .receiveHighWaterMark(let value): rc = setInt32(ZMQ_RCVHWM, value)
    case .immediate(let value): rc = setInt32(ZMQ_IMMEDIATE, value ? 1 : 0)
    case .routerMandatory(let value): rc = setInt32(ZMQ_ROUTER_MANDATORY, value ? 1 : 0)
    case .receiveTimeout(let value): rc = setInt32(ZMQ_RCVTIMEO, value)
    case .sendTimeout(let value): rc = setInt32(ZMQ_SNDTIMEO, value)
    case .curveServer(let value): rc = setInt32(ZMQ_CURVE_SERVER, value ? 1 : 0)
    case .curvePublicKey(let key): rc = setBytes(ZMQ_CURVE_PUBLICKEY, key)
    case .curveSecretKey(let key): rc = setBytes(ZMQ_CURVE_SECRETKEY, key)
    case .curveServerKey(let key): rc = setBytes(ZMQ_CURVE_SERVERKEY, key)
    case .zapDomain(let domain): rc = setBytes(ZMQ_ZAP_DOMAIN, Array(domain.utf8))
    }
    guard rc == 0 else { throw ZMQError.last("set the \(option.name) option of a \(kind) socket") }
  }

  private func setInt32(_ option: Int32, _ value: Int32) -> Int32 {
    var value = value
    return zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size)
  }

  private func setInt64(_ option: Int32, _ value: Int64) -> Int32 {
    var value = value
    return zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size)
  }

  private func setBytes(_ option: Int32, _ bytes: [UInt8]) -> Int32 {
    bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
  }
}
