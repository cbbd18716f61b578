import SweepModel

extension WireMessage {
  /// One worker's part in an epoch of rounds: rounds `fromStep ..< toStep` of a run, computed by a
  /// group of workers. Each member starts from the meta-state the lease carries (frame 1, checked
  /// against `stateSHA256`), computes the shards `s` with `s % peers.count == index` of every
  /// round, sends each gradient to every other member, and once it holds all of a round's shard
  /// gradients sums them in shard order and takes the optimiser step itself: every member holds
  /// the same meta-state after every round, with no message through the coordinator.
  public struct EpochLease: Sendable, Equatable {
    /// Issued by the coordinator for this member of this epoch only.
    public var unit: UInt64
    /// The epoch, the same for every member: the peer gradients of other epochs are ignored.
    public var epoch: UInt64
    public var key: RunKey
    public var context: RunContext
    public var fromStep: UInt64
    public var toStep: UInt64
    /// This member's place in `peers`.
    public var index: UInt32
    /// Every member's peer endpoint, in member order (this member's own included).
    public var peers: [String]
    /// The epoch's key for the peer gradients' HMAC-SHA256 (``WireLimits/peerSecretBytes``):
    /// a member takes a gradient only from someone the coordinator told the key.
    public var secret: [UInt8]
    /// The SHA-256 (hex) of `state`.
    public var stateSHA256: String
    /// The meta-state at `fromStep`, as a chained run's checkpoint (frame 1).
    public var state: [UInt8]
    public init(
      unit: UInt64, epoch: UInt64, key: RunKey, context: RunContext, fromStep: UInt64, toStep: UInt64,
      index: UInt32, peers: [String], secret: [UInt8], stateSHA256: String, state: [UInt8]
    ) {
      self.unit = unit
      self.epoch = epoch
      self.key = key
      self.context = context
      self.fromStep = fromStep
      self.toStep = toStep
      self.index = index
      self.peers = peers
      self.secret = secret
      self.stateSHA256 = stateSHA256
      self.state = state
    }
  }

  /// How one member's epoch ended.
  public struct EpochReport: Sendable, Equatable {
    public enum Status: UInt8, Sendable, Equatable {
      /// Every round is done: `stateSHA256` names the meta-state at `toStep` (the first member
      /// also sends it, frame 1).
      case done = 0
      /// The lease's meta-state did not hash to its SHA-256 (or did not fit the run): nothing ran.
      case stateMismatch = 1
      /// The computation threw; `message` says what. Counts as a failed attempt of the run.
      case failed = 2
      /// The group broke down: a member stayed silent or sent what could not be used.
      case groupFault = 3
    }
    public var unit: UInt64
    public var key: RunKey
    public var status: Status
    /// The step reached (`toStep` when done).
    public var step: UInt64
    /// The SHA-256 (hex) of the meta-state reached; all zeros when not done.
    public var stateSHA256: String
    /// Seconds spent computing shards, and waiting for other members' gradients.
    public var computeSeconds: Double
    public var waitSeconds: Double
    public var message: String
    /// The meta-state at `step` (frame 1), from the first member of a group that is done.
    public var state: [UInt8]?
    public init(
      unit: UInt64, key: RunKey, status: Status, step: UInt64, stateSHA256: String, computeSeconds: Double,
      waitSeconds: Double, message: String, state: [UInt8]?
    ) {
      self.unit = unit
      self.key = key
      self.status = status
      self.step = step
      self.stateSHA256 = stateSHA256
      self.computeSeconds = computeSeconds
      self.waitSeconds = waitSeconds
      self.message = message
      self.state = state
    }
  }
}

/// One shard gradient of a round, sent by a member of an epoch's group to each other member over
/// their peer sockets (never through the coordinator).
///
/// One frame: `"MSPG"`, ``WireCodec/protocolVersion`` (UInt16 LE), the epoch (UInt64), the step
/// (UInt64), the shard (UInt32), the sender's index (UInt32), the gradient's byte count (UInt32)
/// and bytes, then the HMAC-SHA256 of everything before it under the epoch's secret. A message
/// that does not parse, names another epoch, or fails the HMAC is dropped, never trusted.
public struct PeerGradient: Sendable, Equatable {
  public var epoch: UInt64
  public var step: UInt64
  public var shard: UInt32
  public var sender: UInt32
  public var gradient: [UInt8]
  public init(epoch: UInt64, step: UInt64, shard: UInt32, sender: UInt32, gradient: [UInt8]) {
    self.epoch = epoch
    self.step = step
    self.shard = shard
    self.sender = sender
    self.gradient = gradient
  }

  static let magic: [UInt8] = Array("MSPG".utf8)
  static let headerSize = 4 + 2 + 8 + 8 + 4 + 4 + 4
  static let macSize = 32

  /// The message's one frame, authenticated with `secret`.
  public func encoded(secret: [UInt8]) -> [UInt8] {
    var writer = ByteWriter(capacity: Self.headerSize + gradient.count + Self.macSize)
    writer.write(contentsOf: Self.magic)
    writer.write(WireCodec.protocolVersion)
    writer.write(epoch)
    writer.write(step)
    writer.write(shard)
    writer.write(sender)
    writer.write(UInt32(clamping: gradient.count))
    writer.write(contentsOf: gradient)
    writer.write(contentsOf: SHA256.authenticationCode(writer.bytes, key: secret))
    return writer.bytes
  }

  /// The gradient in `frame` if it is one of `epoch`, authenticated with `secret`; nil for
  /// anything else (never traps).
  public static func decode(_ frame: [UInt8], epoch: UInt64, secret: [UInt8]) -> PeerGradient? {
    guard frame.count >= headerSize + macSize, frame.starts(with: magic) else { return nil }
    var reader = ByteReader(frame)
    do {
      _ = try reader.readBytes(magic.count, "peer magic")
      guard try reader.readUInt16("peer version") == WireCodec.protocolVersion,
        try reader.readUInt64("peer epoch") == epoch
      else { return nil }
      let step = try reader.readUInt64("peer step")
      let shard = try reader.readUInt32("peer shard")
      let sender = try reader.readUInt32("peer sender")
      let count = Int(try reader.readUInt32("peer count"))
      guard frame.count == headerSize + count + macSize else { return nil }
      let body = frame[..<(headerSize + count)]
      guard SHA256.isValidAuthenticationCode(frame[(headerSize + count)...], for: body, key: secret) else {
        return nil
      }
      return PeerGradient(
        epoch: epoch, step: step, shard: shard, sender: sender,
        gradient: Array(frame[headerSize..<(headerSize + count)]))
    } catch {
      return nil
    }
  }
}
