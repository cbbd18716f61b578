import SweepModel

/// Caps that decoding enforces (`WireError.Code.oversized`) and encoding clips to, so that every
/// encoded message decodes.
public enum WireLimits {
  /// The longest string (names, reasons, error texts), in UTF-8 bytes.
  public static let maxStringBytes = 1 << 20
  /// The most parameters one lease carries.
  public static let maxParameters = 4096
  /// The most scalar metrics in one outcome.
  public static let maxMetrics = 1 << 20
  /// The most series in one outcome.
  public static let maxSeries = 1 << 16
  /// The most points in one series (2 GiB of Float64; the socket's byte limit binds first).
  public static let maxSeriesValues = 1 << 28
  /// The largest checkpoint of a chained run a lease or segment report carries, in bytes (256 MiB).
  public static let maxCheckpointBytes = 256 << 20
  /// The most artifacts in one outcome.
  public static let maxArtifacts = Artifact.maxPerOutcome
  /// The largest artifact in one outcome, in bytes (256 MiB; the socket's byte limit binds first
  /// for the sum).
  public static let maxArtifactBytes = Artifact.maxBytes
  /// The length of a hello's session bytes.
  public static let sessionBytes = 16
  /// The most bytes one artifact chunk carries (16 MiB); a fetch asks for 1 MiB at a time.
  public static let maxChunkBytes = 16 << 20
  /// The longest log a report carries: what a user's program printed besides its results.
  public static let maxLogBytes = 256 << 10
  /// The most members of an epoch's group.
  public static let maxPeers = 4096
  /// The length of an epoch's secret (the key of its peer gradients' HMAC).
  public static let peerSecretBytes = 32
}

/// Encodes and decodes ``WireMessage`` to and from ZeroMQ frames.
///
/// Frame 0, the header: `"MSWP"`, the protocol version (UInt16 LE), the kind (UInt8), then the
/// kind's small fields. Integers are little-endian, doubles are their IEEE 754 bit patterns, strings
/// are a UInt32 byte count plus UTF-8, run keys are the 32 raw bytes of their hex digest, and
/// parameters are a UInt32 count plus (name, type tag, value) entries in ascending UTF-8 byte order
/// of name. Frame 1 of `.result`: the outcome (metrics: count + (name, Float64); series:
/// count + (name, xStart, xStep, count, Float64 values); artifacts: count + (name, UInt32 length,
/// bytes), names valid and unique (``Artifact/isValidName(_:)``)). Frame 1 of `.segment`, and of a `.lease`
/// whose header says it has one: the checkpoint's raw bytes; of a `.shardLease` whose header says
/// it has one, the replica's; of a `.shardResult`, the shard gradient's.
///
/// Encoding is deterministic and canonical: decoding accepts only what encoding produces, so
/// `encode(decode(frames)) == frames` for every input that decodes.
public enum WireCodec {
  /// Bumped on every incompatible change of the wire format (see CHANGELOG.md).
  public static let protocolVersion: UInt16 = 9

  /// The first four bytes of every header frame.
  public static let magic: [UInt8] = Array("MSWP".utf8)

  /// The message kinds: worker-to-coordinator in 0x0_, coordinator-to-worker in 0x1_.
  enum Kind: UInt8 {
    case hello = 0x01
    case heartbeat = 0x02
    case result = 0x03
    case failure = 0x04
    case goodbye = 0x05
    case segment = 0x06
    case statusRequest = 0x07
    case draining = 0x08
    case refusal = 0x09
    case artifactRequest = 0x0A
    case shardResult = 0x0B
    case shardFailure = 0x0C
    case epochReport = 0x0D
    case welcome = 0x11
    case reject = 0x12
    case lease = 0x13
    case shutdown = 0x14
    case ack = 0x15
    case status = 0x16
    case artifactChunk = 0x17
    case artifactMissing = 0x18
    case shardLease = 0x19
    case epochLease = 0x1A
    case epochCancel = 0x1B
  }

  /// Parameter value type tags.
  enum Tag: UInt8 {
    case int = 0
    case double = 1
    case string = 2
    case bool = 3
  }

  static let headerSize = 7
  static let runKeySize = 32

  // MARK: Encoding

  /// The frames of `message`. Strings and lists over ``WireLimits`` are clipped; a run key that is
  /// not 64 hex digits (never one made by `RunKey(experiment:parameters:seed:)`) encodes as zeros.
  public static func encode(_ message: WireMessage) -> [[UInt8]] {
    switch message {
    case .hello(let hello):
      var writer = header(
        .hello,
        fields: 2 + 4 + stringSize(hello.buildID) + 4 + stringSize(hello.name) + 4 + WireLimits.sessionBytes
          + 4
          + stringSize(hello.machine) + 2)
      writer.write(hello.protocolVersion)
      writer.write(string: hello.buildID, maxBytes: WireLimits.maxStringBytes)
      writer.write(string: hello.name, maxBytes: WireLimits.maxStringBytes)
      writer.write(hello.slots)
      // Exactly `sessionBytes`: a shorter session is padded with zeros, a longer one cut.
      let session = hello.session.prefix(WireLimits.sessionBytes)
      writer.write(contentsOf: Array(session))
      writer.write(contentsOf: [UInt8](repeating: 0, count: WireLimits.sessionBytes - session.count))
      writer.write(string: hello.machine, maxBytes: WireLimits.maxStringBytes)
      writer.write(hello.peerPort)
      return [writer.bytes]
    case .heartbeat:
      return [header(.heartbeat, fields: 0).bytes]
    case .result(let result):
      var writer = header(.result, fields: 8 + runKeySize + 8)
      writer.write(result.attempt)
      write(result.key, to: &writer)
      writer.write(result.seconds)
      return [writer.bytes, encode(result.outcome)] + logFrame(result.log)
    case .segment(let segment):
      var writer = header(.segment, fields: 8 + runKeySize + 8 + 8 + 8)
      writer.write(segment.attempt)
      write(segment.key, to: &writer)
      writer.write(segment.stepsDone)
      writer.write(segment.totalSteps)
      writer.write(segment.seconds)
      return [writer.bytes, clipped(segment.checkpoint)] + logFrame(segment.log)
    case .failure(let failure), .refusal(let failure):
      let kind: Kind = if case .failure = message { .failure } else { .refusal }
      var writer = header(kind, fields: 8 + runKeySize + 4 + stringSize(failure.message))
      writer.write(failure.attempt)
      write(failure.key, to: &writer)
      writer.write(string: failure.message, maxBytes: WireLimits.maxStringBytes)
      return [writer.bytes] + logFrame(failure.log)
    case .goodbye(let reason):
      var writer = header(.goodbye, fields: 4 + stringSize(reason))
      writer.write(string: reason, maxBytes: WireLimits.maxStringBytes)
      return [writer.bytes]
    case .welcome(let welcome):
      var writer = header(.welcome, fields: 8)
      writer.write(welcome.heartbeatIntervalMilliseconds)
      writer.write(welcome.peerTimeoutMilliseconds)
      return [writer.bytes]
    case .reject(let reason):
      var writer = header(.reject, fields: 4 + stringSize(reason))
      writer.write(string: reason, maxBytes: WireLimits.maxStringBytes)
      return [writer.bytes]
    case .lease(let lease):
      let names = sortedNames(lease.parameters)
      var writer = header(
        .lease,
        fields: 8 + runKeySize + 4 + stringSize(lease.experiment) + parametersSize(lease.parameters, names)
          + 8 + 8 + 1)
      writer.write(lease.attempt)
      write(lease.key, to: &writer)
      writer.write(string: lease.experiment, maxBytes: WireLimits.maxStringBytes)
      write(lease.parameters, names, to: &writer)
      writer.write(lease.seed)
      writer.write(lease.maxSteps)
      writer.write(UInt8(lease.checkpoint == nil ? 0 : 1))
      return lease.checkpoint.map { [writer.bytes, clipped($0)] } ?? [writer.bytes]
    case .shutdown:
      return [header(.shutdown, fields: 0).bytes]
    case .ack(let attempt):
      var writer = header(.ack, fields: 8)
      writer.write(attempt)
      return [writer.bytes]
    case .statusRequest:
      return [header(.statusRequest, fields: 0).bytes]
    case .draining:
      return [header(.draining, fields: 0).bytes]
    case .status(let text):
      var writer = header(.status, fields: 4 + stringSize(text))
      writer.write(string: text, maxBytes: WireLimits.maxStringBytes)
      return [writer.bytes]
    case .artifactRequest(let request):
      var writer = header(.artifactRequest, fields: runKeySize + 8 + 4)
      write(RunKey(hex: request.sha256), to: &writer)
      writer.write(request.offset)
      writer.write(request.length)
      return [writer.bytes]
    case .artifactChunk(let chunk):
      var writer = header(.artifactChunk, fields: runKeySize + 8 + 8)
      write(RunKey(hex: chunk.sha256), to: &writer)
      writer.write(chunk.offset)
      writer.write(chunk.totalBytes)
      // Sent as they are (no copy) unless longer than a chunk may be.
      let bytes =
        chunk.bytes.count <= WireLimits.maxChunkBytes
        ? chunk.bytes : Array(chunk.bytes.prefix(WireLimits.maxChunkBytes))
      return [writer.bytes, bytes]
    case .artifactMissing(let sha256, let reason):
      var writer = header(.artifactMissing, fields: runKeySize + 4 + stringSize(reason))
      write(RunKey(hex: sha256), to: &writer)
      writer.write(string: reason, maxBytes: WireLimits.maxStringBytes)
      return [writer.bytes]
    case .shardLease(let lease):
      let names = lease.context.map { sortedNames($0.parameters) } ?? []
      let contextSize =
        lease.context.map { 4 + stringSize($0.experiment) + parametersSize($0.parameters, names) + 8 } ?? 0
      var writer = header(.shardLease, fields: 8 + runKeySize + 8 + 4 + runKeySize + 1 + contextSize)
      writer.write(lease.unit)
      write(lease.key, to: &writer)
      writer.write(lease.step)
      writer.write(lease.shard)
      write(RunKey(hex: lease.replicaSHA256), to: &writer)
      // Bit 0: the replica is frame 1; bit 1: the run's context follows.
      writer.write(UInt8((lease.replica == nil ? 0 : 1) | (lease.context == nil ? 0 : 2)))
      if let context = lease.context {
        writer.write(string: context.experiment, maxBytes: WireLimits.maxStringBytes)
        write(context.parameters, names, to: &writer)
        writer.write(context.seed)
      }
      return lease.replica.map { [writer.bytes, clipped($0)] } ?? [writer.bytes]
    case .shardResult(let result):
      var writer = header(.shardResult, fields: 8 + runKeySize + 8 + 4 + runKeySize + 8)
      writer.write(result.unit)
      write(result.key, to: &writer)
      writer.write(result.step)
      writer.write(result.shard)
      write(RunKey(hex: result.replicaSHA256), to: &writer)
      writer.write(result.seconds)
      return [writer.bytes, clipped(result.gradient)]
    case .shardFailure(let failure):
      var writer = header(.shardFailure, fields: 8 + runKeySize + 8 + 4 + 1 + 4 + stringSize(failure.message))
      writer.write(failure.unit)
      write(failure.key, to: &writer)
      writer.write(failure.step)
      writer.write(failure.shard)
      writer.write(failure.reason.rawValue)
      writer.write(string: failure.message, maxBytes: WireLimits.maxStringBytes)
      return [writer.bytes]
    case .epochLease(let lease):
      let context = lease.context
      let names = sortedNames(context.parameters)
      let peers = Array(lease.peers.prefix(WireLimits.maxPeers))
      let peersSize = peers.reduce(4) { $0 + 4 + stringSize($1) }
      var writer = header(
        .epochLease,
        fields: 8 + 8 + runKeySize + 4 + stringSize(context.experiment)
          + parametersSize(context.parameters, names)
          + 8 + 8 + 8 + 4 + peersSize + WireLimits.peerSecretBytes + runKeySize)
      writer.write(lease.unit)
      writer.write(lease.epoch)
      write(lease.key, to: &writer)
      writer.write(string: context.experiment, maxBytes: WireLimits.maxStringBytes)
      write(context.parameters, names, to: &writer)
      writer.write(context.seed)
      writer.write(lease.fromStep)
      writer.write(lease.toStep)
      writer.write(lease.index)
      writer.write(UInt32(peers.count))
      for peer in peers { writer.write(string: peer, maxBytes: WireLimits.maxStringBytes) }
      // Exactly `peerSecretBytes`: a shorter secret is padded with zeros, a longer one cut.
      let secret = lease.secret.prefix(WireLimits.peerSecretBytes)
      writer.write(contentsOf: Array(secret))
      writer.write(contentsOf: [UInt8](repeating: 0, count: WireLimits.peerSecretBytes - secret.count))
      write(RunKey(hex: lease.stateSHA256), to: &writer)
      return [writer.bytes, clipped(lease.state)]
    case .epochCancel(let unit):
      var writer = header(.epochCancel, fields: 8)
      writer.write(unit)
      return [writer.bytes]
    case .epochReport(let report):
      var writer = header(
        .epochReport, fields: 8 + runKeySize + 1 + 8 + runKeySize + 8 + 8 + 4 + stringSize(report.message) + 1
      )
      writer.write(report.unit)
      write(report.key, to: &writer)
      writer.write(report.status.rawValue)
      writer.write(report.step)
      write(RunKey(hex: report.stateSHA256), to: &writer)
      writer.write(report.computeSeconds)
      writer.write(report.waitSeconds)
      writer.write(string: report.message, maxBytes: WireLimits.maxStringBytes)
      // Whether the meta-state is frame 1.
      writer.write(UInt8(report.state == nil ? 0 : 1))
      return report.state.map { [writer.bytes, clipped($0)] } ?? [writer.bytes]
    }
  }

  /// The encoded size of `parameters` (whose names, sorted, are `names`).
  private static func parametersSize(_ parameters: Parameters, _ names: [String]) -> Int {
    var size = 4
    for name in names { size += 4 + stringSize(name) + 1 + valueSize(parameters[name]) }
    return size
  }

  /// A count, then each (name, tagged value) in `names`' order.
  private static func write(_ parameters: Parameters, _ names: [String], to writer: inout ByteWriter) {
    writer.write(UInt32(truncatingIfNeeded: names.count))
    for name in names {
      writer.write(string: name, maxBytes: WireLimits.maxStringBytes)
      write(parameters[name], to: &writer)
    }
  }

  /// The outcome blob of frame 1.
  static func encode(_ outcome: Outcome) -> [UInt8] {
    let metrics = outcome.metrics.prefix(WireLimits.maxMetrics)
    let series = outcome.series.prefix(WireLimits.maxSeries)
    var size = 8
    for metric in metrics { size += 4 + stringSize(metric.name) + 8 }
    for curve in series {
      size += 4 + stringSize(curve.name) + 8 + 8 + 4 + 8 * min(curve.values.count, WireLimits.maxSeriesValues)
    }
    size += 4
    for artifact in outcome.artifacts.prefix(WireLimits.maxArtifacts) {
      size += 4 + stringSize(artifact.name) + 4 + min(artifact.bytes.count, WireLimits.maxArtifactBytes)
    }
    var writer = ByteWriter(capacity: size)
    writer.write(UInt32(truncatingIfNeeded: metrics.count))
    for metric in metrics {
      writer.write(string: metric.name, maxBytes: WireLimits.maxStringBytes)
      writer.write(metric.value)
    }
    writer.write(UInt32(truncatingIfNeeded: series.count))
    for curve in series {
      writer.write(string: curve.name, maxBytes: WireLimits.maxStringBytes)
      writer.write(curve.xStart)
      writer.write(curve.xStep)
      if curve.values.count <= WireLimits.maxSeriesValues {
        writer.write(UInt32(truncatingIfNeeded: curve.values.count))
        writer.write(float64s: curve.values)
      } else {
        writer.write(UInt32(truncatingIfNeeded: WireLimits.maxSeriesValues))
        writer.write(float64s: Array(curve.values.prefix(WireLimits.maxSeriesValues)))
      }
    }
    let artifacts = outcome.artifacts.prefix(WireLimits.maxArtifacts)
    writer.write(UInt32(truncatingIfNeeded: artifacts.count))
    for artifact in artifacts {
      writer.write(string: artifact.name, maxBytes: WireLimits.maxStringBytes)
      let bytes = artifact.bytes.prefix(WireLimits.maxArtifactBytes)
      writer.write(UInt32(truncatingIfNeeded: bytes.count))
      writer.write(contentsOf: Array(bytes))
    }
    return writer.bytes
  }

  /// A checkpoint no longer than ``WireLimits/maxCheckpointBytes`` (a longer one is cut, and its
  /// own checksum then refuses it).
  private static func clipped(_ checkpoint: [UInt8]) -> [UInt8] {
    checkpoint.count <= WireLimits.maxCheckpointBytes
      ? checkpoint : Array(checkpoint.prefix(WireLimits.maxCheckpointBytes))
  }

  /// A report's log as its last frame: none when empty, cut at ``WireLimits/maxLogBytes``.
  private static func logFrame(_ log: [UInt8]) -> [[UInt8]] {
    log.isEmpty ? [] : [Array(log.prefix(WireLimits.maxLogBytes))]
  }

  private static func header(_ kind: Kind, fields: Int) -> ByteWriter {
    var writer = ByteWriter(capacity: headerSize + fields)
    writer.write(contentsOf: magic)
    writer.write(protocolVersion)
    writer.write(kind.rawValue)
    return writer
  }

  /// An upper bound of the encoded size of `string`'s bytes (O(1) for native strings).
  private static func stringSize(_ string: String) -> Int {
    min(string.utf8.count, WireLimits.maxStringBytes)
  }

  private static func valueSize(_ value: ParameterValue?) -> Int {
    switch value {
    case .int, .double: 8
    case .string(let string): 4 + stringSize(string)
    case .bool: 1
    case nil: 0
    }
  }

  /// Parameter names in ascending UTF-8 byte order, never dictionary order, at most the cap.
  private static func sortedNames(_ parameters: Parameters) -> [String] {
    let names = parameters.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    return names.count <= WireLimits.maxParameters ? names : Array(names.prefix(WireLimits.maxParameters))
  }

  private static func write(_ value: ParameterValue?, to writer: inout ByteWriter) {
    switch value {
    case .int(let n):
      writer.write(Tag.int.rawValue)
      writer.write(Int64(n))
    case .double(let x):
      writer.write(Tag.double.rawValue)
      writer.write(x)
    case .string(let s):
      writer.write(Tag.string.rawValue)
      writer.write(string: s, maxBytes: WireLimits.maxStringBytes)
    case .bool(let b):
      writer.write(Tag.bool.rawValue)
      writer.write(UInt8(b ? 1 : 0))
    case nil:
      // Unreachable: names come from the dictionary's own keys.
      writer.write(Tag.bool.rawValue)
      writer.write(UInt8(0))
    }
  }

  private static func write(_ key: RunKey, to writer: inout ByteWriter) {
    var raw = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    withUnsafeMutableBytes(of: &raw) { out in
      var hex = key.hex
      hex.withUTF8 { digits in
        guard digits.count == 2 * runKeySize else { return }
        for index in 0..<runKeySize {
          guard let high = nibble(digits[2 * index]), let low = nibble(digits[2 * index + 1]) else {
            out.initializeMemory(as: UInt8.self, repeating: 0)
            return
          }
          out[index] = high << 4 | low
        }
      }
    }
    withUnsafeBytes(of: raw) { writer.write(raw: $0) }
  }

  @inline(__always)
  private static func nibble(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
  }

  // MARK: Decoding

  /// The message in `frames`. Never traps: any input either decodes or throws ``WireError``.
  public static func decode(_ frames: [[UInt8]]) throws(WireError) -> WireMessage {
    guard let first = frames.first else {
      throw WireError(code: .truncated, message: "Truncated message: no frames.")
    }
    var reader = ByteReader(first)
    // A frame shorter than the magic but agreeing with it is truncated, not foreign.
    guard first.starts(with: magic) || magic.starts(with: first) else {
      throw WireError(
        code: .badMagic, message: "Not a MetaSweep message: frame 0 does not start with \"MSWP\".")
    }
    _ = try reader.readBytes(magic.count, "header magic")
    let version = try reader.readUInt16("header version")
    guard version == protocolVersion else {
      throw WireError(
        code: .unsupportedVersion,
        message:
          "The peer speaks MetaSweep wire protocol v\(version), this build speaks v\(protocolVersion). "
          + "Run the same metasweep build on the coordinator and every worker.")
    }
    let rawKind = try reader.readUInt8("header kind")
    guard let kind = Kind(rawValue: rawKind) else {
      throw WireError(code: .unknownKind, message: "Unknown message kind \(rawKind) in a v\(version) header.")
    }
    // A lease has a second frame exactly when its header says so (checked once that is read).
    let expectedFrames =
      switch kind {
      // A report's log, when it has one, is one frame more.
      case .result, .segment: frames.count == 3 ? 3 : 2
      case .failure, .refusal: frames.count == 2 ? 2 : 1
      case .artifactChunk, .shardResult, .epochLease: 2
      case .lease, .shardLease, .epochReport: min(max(frames.count, 1), 2)
      default: 1
      }
    guard frames.count >= expectedFrames else {
      throw WireError(
        code: .truncated,
        message: "Truncated message: a \(kind) needs \(expectedFrames) frames, got \(frames.count).")
    }
    guard frames.count == expectedFrames else {
      throw WireError(
        code: .malformed,
        message: "Malformed message: a \(kind) has \(expectedFrames) frames, got \(frames.count).")
    }

    let message: WireMessage
    switch kind {
    case .hello:
      let version = try reader.readUInt16("hello.protocolVersion")
      let buildID = try reader.readString("hello.buildID", maxBytes: WireLimits.maxStringBytes)
      let name = try reader.readString("hello.name", maxBytes: WireLimits.maxStringBytes)
      let slots = try reader.readUInt32("hello.slots")
      let session = Array(try reader.readBytes(WireLimits.sessionBytes, "hello.session"))
      let machine = try reader.readString("hello.machine", maxBytes: WireLimits.maxStringBytes)
      let peerPort = try reader.readUInt16("hello.peerPort")
      message = .hello(
        .init(
          protocolVersion: version, buildID: buildID, name: name, slots: slots, session: session,
          machine: machine, peerPort: peerPort))
    case .heartbeat:
      message = .heartbeat
    case .result:
      let attempt = try reader.readUInt64("result.attempt")
      let key = try readRunKey(&reader, "result.key")
      let seconds = try reader.readFloat64("result.seconds")
      let outcome = try decodeOutcome(frames[1])
      message = .result(
        .init(
          attempt: attempt, key: key, outcome: outcome, seconds: seconds,
          log: try log(frames.dropFirst(2).first, "result.log")))
    case .segment:
      let attempt = try reader.readUInt64("segment.attempt")
      let key = try readRunKey(&reader, "segment.key")
      let stepsDone = try reader.readUInt64("segment.stepsDone")
      let totalSteps = try reader.readUInt64("segment.totalSteps")
      let seconds = try reader.readFloat64("segment.seconds")
      guard stepsDone <= totalSteps, totalSteps <= UInt64(Int64.max) else {
        throw WireError(
          code: .malformed,
          message: "Malformed message: a segment reports \(stepsDone) of \(totalSteps) steps done.")
      }
      message = .segment(
        .init(
          attempt: attempt, key: key, checkpoint: try checkpoint(frames[1], "segment.checkpoint"),
          stepsDone: stepsDone, totalSteps: totalSteps, seconds: seconds,
          log: try log(frames.dropFirst(2).first, "segment.log")))
    case .failure:
      let attempt = try reader.readUInt64("failure.attempt")
      let key = try readRunKey(&reader, "failure.key")
      let text = try reader.readString("failure.message", maxBytes: WireLimits.maxStringBytes)
      message = .failure(
        .init(
          attempt: attempt, key: key, message: text, log: try log(frames.dropFirst().first, "failure.log")))
    case .refusal:
      let attempt = try reader.readUInt64("refusal.attempt")
      let key = try readRunKey(&reader, "refusal.key")
      let text = try reader.readString("refusal.message", maxBytes: WireLimits.maxStringBytes)
      message = .refusal(
        .init(
          attempt: attempt, key: key, message: text, log: try log(frames.dropFirst().first, "refusal.log")))
    case .goodbye:
      message = .goodbye(reason: try reader.readString("goodbye.reason", maxBytes: WireLimits.maxStringBytes))
    case .welcome:
      let interval = try reader.readUInt32("welcome.heartbeatIntervalMilliseconds")
      let timeout = try reader.readUInt32("welcome.peerTimeoutMilliseconds")
      message = .welcome(.init(heartbeatIntervalMilliseconds: interval, peerTimeoutMilliseconds: timeout))
    case .reject:
      message = .reject(reason: try reader.readString("reject.reason", maxBytes: WireLimits.maxStringBytes))
    case .lease:
      let attempt = try reader.readUInt64("lease.attempt")
      let key = try readRunKey(&reader, "lease.key")
      let experiment = try reader.readString("lease.experiment", maxBytes: WireLimits.maxStringBytes)
      let parameters = try readParameters(&reader)
      let seed = try reader.readUInt64("lease.seed")
      let maxSteps = try reader.readUInt64("lease.maxSteps")
      let hasCheckpoint: Bool
      switch try reader.readUInt8("lease.hasCheckpoint") {
      case 0: hasCheckpoint = false
      case 1: hasCheckpoint = true
      case let other:
        throw WireError(code: .malformed, message: "Malformed message: lease checkpoint flag \(other).")
      }
      let wanted = hasCheckpoint ? 2 : 1
      try expectFrames(frames, wanted, "lease")
      message = .lease(
        .init(
          attempt: attempt, key: key, experiment: experiment, parameters: parameters, seed: seed,
          checkpoint: hasCheckpoint ? try checkpoint(frames[1], "lease.checkpoint") : nil, maxSteps: maxSteps)
      )
    case .shutdown:
      message = .shutdown
    case .ack:
      message = .ack(attempt: try reader.readUInt64("ack.attempt"))
    case .statusRequest:
      message = .statusRequest
    case .draining:
      message = .draining
    case .status:
      message = .status(text: try reader.readString("status.text", maxBytes: WireLimits.maxStringBytes))
    case .artifactRequest:
      let sha256 = try readRunKey(&reader, "artifactRequest.sha256").hex
      let offset = try reader.readUInt64("artifactRequest.offset")
      let length = try reader.readUInt32("artifactRequest.length")
      guard length > 0, Int(length) <= WireLimits.maxChunkBytes, offset <= UInt64(WireLimits.maxArtifactBytes)
      else {
        throw WireError(
          code: .malformed,
          message: "Malformed message: an artifact request for \(length) bytes at \(offset).")
      }
      message = .artifactRequest(.init(sha256: sha256, offset: offset, length: length))
    case .artifactChunk:
      let sha256 = try readRunKey(&reader, "artifactChunk.sha256").hex
      let offset = try reader.readUInt64("artifactChunk.offset")
      let total = try reader.readUInt64("artifactChunk.totalBytes")
      let bytes = frames[1]
      guard bytes.count <= WireLimits.maxChunkBytes, total <= UInt64(WireLimits.maxArtifactBytes),
        offset <= total, UInt64(bytes.count) <= total - offset
      else {
        throw WireError(
          code: .malformed,
          message: "Malformed message: an artifact chunk of \(bytes.count) bytes at \(offset) of \(total).")
      }
      message = .artifactChunk(.init(sha256: sha256, offset: offset, totalBytes: total, bytes: bytes))
    case .artifactMissing:
      let sha256 = try readRunKey(&reader, "artifactMissing.sha256").hex
      let reason = try reader.readString("artifactMissing.reason", maxBytes: WireLimits.maxStringBytes)
      message = .artifactMissing(sha256: sha256, reason: reason)
    case .shardLease:
      let unit = try reader.readUInt64("shardLease.unit")
      let key = try readRunKey(&reader, "shardLease.key")
      let step = try reader.readUInt64("shardLease.step")
      let shard = try reader.readUInt32("shardLease.shard")
      let replicaSHA256 = try readRunKey(&reader, "shardLease.replicaSHA256").hex
      let flags = try reader.readUInt8("shardLease.flags")
      guard flags <= 3 else {
        throw WireError(code: .malformed, message: "Malformed message: shard lease flags \(flags).")
      }
      let hasReplica = flags & 1 != 0
      var context: WireMessage.RunContext?
      if flags & 2 != 0 {
        let experiment = try reader.readString("shardLease.experiment", maxBytes: WireLimits.maxStringBytes)
        let parameters = try readParameters(&reader)
        context = .init(
          experiment: experiment, parameters: parameters, seed: try reader.readUInt64("shardLease.seed"))
      }
      let wanted = hasReplica ? 2 : 1
      try expectFrames(frames, wanted, "shard lease")
      message = .shardLease(
        .init(
          unit: unit, key: key, step: step, shard: shard, replicaSHA256: replicaSHA256,
          replica: hasReplica ? try checkpoint(frames[1], "shardLease.replica") : nil, context: context))
    case .shardResult:
      let unit = try reader.readUInt64("shardResult.unit")
      let key = try readRunKey(&reader, "shardResult.key")
      let step = try reader.readUInt64("shardResult.step")
      let shard = try reader.readUInt32("shardResult.shard")
      let replicaSHA256 = try readRunKey(&reader, "shardResult.replicaSHA256").hex
      let seconds = try reader.readFloat64("shardResult.seconds")
      message = .shardResult(
        .init(
          unit: unit, key: key, step: step, shard: shard, replicaSHA256: replicaSHA256, seconds: seconds,
          gradient: try checkpoint(frames[1], "shardResult.gradient")))
    case .shardFailure:
      let unit = try reader.readUInt64("shardFailure.unit")
      let key = try readRunKey(&reader, "shardFailure.key")
      let step = try reader.readUInt64("shardFailure.step")
      let shard = try reader.readUInt32("shardFailure.shard")
      let rawReason = try reader.readUInt8("shardFailure.reason")
      guard let reason = WireMessage.ShardFailure.Reason(rawValue: rawReason) else {
        throw WireError(code: .malformed, message: "Malformed message: shard failure reason \(rawReason).")
      }
      let text = try reader.readString("shardFailure.message", maxBytes: WireLimits.maxStringBytes)
      message = .shardFailure(
        .init(unit: unit, key: key, step: step, shard: shard, reason: reason, message: text))
    case .epochLease:
      let unit = try reader.readUInt64("epochLease.unit")
      let epoch = try reader.readUInt64("epochLease.epoch")
      let key = try readRunKey(&reader, "epochLease.key")
      let experiment = try reader.readString("epochLease.experiment", maxBytes: WireLimits.maxStringBytes)
      let parameters = try readParameters(&reader)
      let seed = try reader.readUInt64("epochLease.seed")
      let fromStep = try reader.readUInt64("epochLease.fromStep")
      let toStep = try reader.readUInt64("epochLease.toStep")
      let index = try reader.readUInt32("epochLease.index")
      let count = try reader.readCount("epochLease.peers", max: WireLimits.maxPeers, minimumElementSize: 4)
      var peers: [String] = []
      for _ in 0..<count {
        peers.append(try reader.readString("epochLease.peer", maxBytes: WireLimits.maxStringBytes))
      }
      let secret = Array(try reader.readBytes(WireLimits.peerSecretBytes, "epochLease.secret"))
      let stateSHA256 = try readRunKey(&reader, "epochLease.stateSHA256").hex
      message = .epochLease(
        .init(
          unit: unit, epoch: epoch, key: key,
          context: .init(experiment: experiment, parameters: parameters, seed: seed), fromStep: fromStep,
          toStep: toStep, index: index, peers: peers, secret: secret, stateSHA256: stateSHA256,
          state: try checkpoint(frames[1], "epochLease.state")))
    case .epochCancel:
      message = .epochCancel(unit: try reader.readUInt64("epochCancel.unit"))
    case .epochReport:
      let unit = try reader.readUInt64("epochReport.unit")
      let key = try readRunKey(&reader, "epochReport.key")
      let rawStatus = try reader.readUInt8("epochReport.status")
      guard let status = WireMessage.EpochReport.Status(rawValue: rawStatus) else {
        throw WireError(code: .malformed, message: "Malformed message: epoch report status \(rawStatus).")
      }
      let step = try reader.readUInt64("epochReport.step")
      let stateSHA256 = try readRunKey(&reader, "epochReport.stateSHA256").hex
      let computeSeconds = try reader.readFloat64("epochReport.computeSeconds")
      let waitSeconds = try reader.readFloat64("epochReport.waitSeconds")
      let text = try reader.readString("epochReport.message", maxBytes: WireLimits.maxStringBytes)
      let flags = try reader.readUInt8("epochReport.flags")
      guard flags <= 1 else {
        throw WireError(code: .malformed, message: "Malformed message: epoch report flags \(flags).")
      }
      let wanted = Int(flags) + 1
      try expectFrames(frames, wanted, "epoch report")
      message = .epochReport(
        .init(
          unit: unit, key: key, status: status, step: step, stateSHA256: stateSHA256,
          computeSeconds: computeSeconds, waitSeconds: waitSeconds, message: text,
          state: flags == 1 ? try checkpoint(frames[1], "epochReport.state") : nil))
    }
    try reader.expectEnd("the header fields")
    return message
  }

  /// A report's log frame (absent: empty). Encoding leaves an empty log out, so a present empty
  /// frame is not canonical.
  private static func log(_ frame: [UInt8]?, _ field: StaticString) throws(WireError) -> [UInt8] {
    guard let frame else { return [] }
    guard !frame.isEmpty else {
      throw WireError(code: .malformed, message: "Malformed message: \(field) is an empty frame.")
    }
    guard frame.count <= WireLimits.maxLogBytes else {
      throw WireError(
        code: .oversized,
        message: "Oversized message: \(field) has \(frame.count) bytes, more than \(WireLimits.maxLogBytes).")
    }
    return frame
  }

  /// Checks that a message whose header says how many frames it has (`wanted`) has that many.
  private static func expectFrames(_ frames: [[UInt8]], _ wanted: Int, _ what: String) throws(WireError) {
    guard frames.count == wanted else {
      throw WireError(
        code: frames.count < wanted ? .truncated : .malformed,
        message: "Malformed message: this \(what) has \(wanted) frames, got \(frames.count).")
    }
  }

  private static func checkpoint(_ frame: [UInt8], _ field: StaticString) throws(WireError) -> [UInt8] {
    guard frame.count <= WireLimits.maxCheckpointBytes else {
      throw WireError(
        code: .oversized,
        message:
          "Oversized message: \(field) has \(frame.count) bytes, more than \(WireLimits.maxCheckpointBytes).")
    }
    return frame
  }

  private static func readRunKey(_ reader: inout ByteReader, _ field: StaticString) throws(WireError)
    -> RunKey
  {
    let raw = try reader.readBytes(runKeySize, field)
    let digits = Array("0123456789abcdef".utf8)
    let hex = String(unsafeUninitializedCapacity: 2 * runKeySize) { out in
      var index = 0
      for byte in raw {
        out[index] = digits[Int(byte >> 4)]
        out[index + 1] = digits[Int(byte & 15)]
        index += 2
      }
      return index
    }
    return RunKey(hex: hex)
  }

  private static func readParameters(_ reader: inout ByteReader) throws(WireError) -> Parameters {
    // Each entry takes at least a 4-byte name length, a tag and a 1-byte bool.
    let count = try reader.readCount(
      "lease.parameters count", max: WireLimits.maxParameters, minimumElementSize: 6)
    var parameters = Parameters(minimumCapacity: count)
    var previous: Range<Int>? = nil
    for _ in 0..<count {
      let nameRange = try reader.readLengthPrefixed(
        "lease.parameters name", maxBytes: WireLimits.maxStringBytes)
      if let previous {
        // Canonical order: strictly ascending bytes, which also rules out duplicates.
        guard reader.bytes[previous].lexicographicallyPrecedes(reader.bytes[nameRange]) else {
          throw WireError(
            code: .malformed, message: "Malformed message: lease parameters are not in ascending name order.")
        }
      }
      previous = nameRange
      let name = try reader.string(in: nameRange, "lease.parameters name")
      let rawTag = try reader.readUInt8("lease.parameters tag")
      let value: ParameterValue
      switch Tag(rawValue: rawTag) {
      case .int:
        guard let n = Int(exactly: try reader.readInt64("lease.parameters int")) else {
          throw WireError(
            code: .malformed, message: "Malformed message: parameter \(name) does not fit an Int.")
        }
        value = .int(n)
      case .double:
        value = .double(try reader.readFloat64("lease.parameters double"))
      case .string:
        value = .string(try reader.readString("lease.parameters string", maxBytes: WireLimits.maxStringBytes))
      case .bool:
        switch try reader.readUInt8("lease.parameters bool") {
        case 0: value = .bool(false)
        case 1: value = .bool(true)
        case let other:
          throw WireError(
            code: .malformed, message: "Malformed message: parameter \(name) has bool byte \(other).")
        }
      case nil:
        throw WireError(
          code: .malformed, message: "Malformed message: parameter \(name) has unknown type tag \(rawTag).")
      }
      // Distinct bytes can still be equal Strings (canonically equivalent Unicode): reject those too.
      guard parameters.updateValue(value, forKey: name) == nil else {
        throw WireError(code: .malformed, message: "Malformed message: parameter \(name) appears twice.")
      }
    }
    return parameters
  }

  private static func decodeOutcome(_ frame: [UInt8]) throws(WireError) -> Outcome {
    var reader = ByteReader(frame)
    // A metric takes at least a 4-byte name length and 8 bytes of value.
    let metricCount = try reader.readCount(
      "outcome.metrics count", max: WireLimits.maxMetrics, minimumElementSize: 12)
    var metrics: [Metric] = []
    metrics.reserveCapacity(metricCount)
    for _ in 0..<metricCount {
      let name = try reader.readString("outcome.metrics name", maxBytes: WireLimits.maxStringBytes)
      metrics.append(Metric(name, try reader.readFloat64("outcome.metrics value")))
    }
    // A series takes at least a name length, xStart, xStep and a value count.
    let seriesCount = try reader.readCount(
      "outcome.series count", max: WireLimits.maxSeries, minimumElementSize: 24)
    var series: [Series] = []
    series.reserveCapacity(seriesCount)
    for _ in 0..<seriesCount {
      let name = try reader.readString("outcome.series name", maxBytes: WireLimits.maxStringBytes)
      let xStart = try reader.readFloat64("outcome.series xStart")
      let xStep = try reader.readFloat64("outcome.series xStep")
      let count = try reader.readCount(
        "outcome.series values count", max: WireLimits.maxSeriesValues, minimumElementSize: 8)
      let values = try reader.readFloat64s(count, "outcome.series values")
      series.append(Series(name: name, xStart: xStart, xStep: xStep, values: values))
    }
    // An artifact takes at least a name length, one name byte and a byte count.
    let artifactCount = try reader.readCount(
      "outcome.artifacts count", max: WireLimits.maxArtifacts, minimumElementSize: 9)
    var artifacts: [Artifact] = []
    artifacts.reserveCapacity(artifactCount)
    for _ in 0..<artifactCount {
      let name = try reader.readString("outcome.artifacts name", maxBytes: 64)
      guard Artifact.isValidName(name), !artifacts.contains(where: { $0.name == name }) else {
        throw WireError(
          code: .malformed, message: "Malformed message: outcome.artifacts name is invalid or repeated.")
      }
      let range = try reader.readLengthPrefixed(
        "outcome.artifacts bytes", maxBytes: WireLimits.maxArtifactBytes)
      artifacts.append(Artifact(name: name, bytes: Array(reader.bytes[range])))
    }
    try reader.expectEnd("the outcome")
    return Outcome(metrics: metrics, series: series, artifacts: artifacts)
  }
}
