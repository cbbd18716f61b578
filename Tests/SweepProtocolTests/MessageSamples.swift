import SweepModel

@testable import SweepProtocol

/// Hand-picked and generated messages for the codec tests.
enum MessageSamples {
  static let key = RunKey(experiment: "geoff", parameters: ["eta": .double(0.5)], seed: 7)
  static let unicode = "crossprop-η0.5 🧪 日本語 e\u{301} \u{0}nul \"quoted\" \\ \n"

  static let parameters: Parameters = [
    "algorithm": .string("crossprop"),
    "eta": .double(0.5),
    "examples_per_task": .int(5000),
    "replay": .bool(true),
    "off": .bool(false),
    "min": .int(Int.min),
    "max": .int(Int.max),
    "negative_zero": .double(-0.0),
    "infinity": .double(.infinity),
    "tiny": .double(.leastNonzeroMagnitude),
    "ünïcödé-näme": .string(unicode),
    "": .string(""),
  ]

  static let outcome = Outcome(
    metrics: [Metric("error_task1", 0.125), Metric("u_drift", -3.5e-300), Metric("η", 1)],
    series: [
      Series(name: "error", xStart: 100, xStep: 100, values: [0.5, 0.25, 0.125]),
      Series(name: "empty", xStart: 0, xStep: 1, values: []),
    ],
    artifacts: [
      Artifact(name: "network.weights", bytes: [0, 1, 2, 255]), Artifact(name: "empty_1-a", bytes: []),
    ])

  /// One message of every kind, plus edge cases.
  static var all: [WireMessage] {
    [
      .hello(
        .init(
          protocolVersion: WireCodec.protocolVersion, buildID: "3f2a9c", name: "node1:4242", slots: 2,
          session: Array(1...16), machine: "x86_64, AMD EPYC (family 25, model 1), OpenBLAS Zen",
          peerPort: 45_678)),
      .hello(
        .init(
          protocolVersion: .max, buildID: "", name: unicode, slots: .max,
          session: [UInt8](repeating: 0xFF, count: WireLimits.sessionBytes), machine: unicode)),
      .heartbeat,
      .result(.init(attempt: 1, key: key, outcome: outcome, seconds: 12.5)),
      .result(.init(attempt: .max, key: key, outcome: Outcome(), seconds: 0)),
      .result(
        .init(
          attempt: 2, key: key, outcome: outcome, seconds: 1,
          log: Array(("--- standard error ---\nepoch 1 " + unicode + "\n").utf8))),
      .failure(.init(attempt: 3, key: key, message: "Fatal error: index out of range " + unicode)),
      .failure(.init(attempt: 5, key: key, message: "exited with status 1", log: [0xFF, 0, 10])),
      .refusal(.init(attempt: 6, key: key, message: "differs", log: Array("x".utf8))),
      .refusal(.init(attempt: 4, key: key, message: "this host's copy of fashion-mnist differs " + unicode)),
      .goodbye(reason: "drained"),
      .goodbye(reason: ""),
      .welcome(.init(heartbeatIntervalMilliseconds: 250, peerTimeoutMilliseconds: 1000)),
      .reject(reason: "protocol v2 expected, got v1: rebuild the worker"),
      .lease(.init(attempt: 9, key: key, experiment: "geoff", parameters: parameters, seed: .max)),
      .lease(.init(attempt: 0, key: key, experiment: "", parameters: [:], seed: 0)),
      .lease(
        .init(
          attempt: 10, key: key, experiment: "lstm-metalearning", parameters: parameters, seed: 3,
          checkpoint: Array("MSLS".utf8) + [0, 255, 7], maxSteps: 1000)),
      .lease(
        .init(
          attempt: 11, key: key, experiment: "x", parameters: [:], seed: 1, checkpoint: [], maxSteps: .max)),
      .segment(
        .init(
          attempt: 12, key: key, checkpoint: [1, 2, 3, 0, 255], stepsDone: 7, totalSteps: 60, seconds: 0.25)),
      .segment(
        .init(attempt: .max, key: key, checkpoint: [], stepsDone: 0, totalSteps: 0, seconds: .infinity)),
      .segment(
        .init(
          attempt: 13, key: key, checkpoint: [9], stepsDone: 1, totalSteps: 2, seconds: 0.5,
          log: [UInt8](repeating: 65, count: WireLimits.maxLogBytes))),
      .shutdown,
      .ack(attempt: 17),
      .ack(attempt: .max),
      .statusRequest,
      .draining,
      .status(text: "crossprop-geoff: 3/240 done\nbackprop  ##>.." + unicode),
      .artifactRequest(.init(sha256: key.hex, offset: 0, length: 1 << 20)),
      .artifactRequest(.init(sha256: key.hex, offset: 5 << 20, length: 1)),
      .artifactChunk(.init(sha256: key.hex, offset: 0, totalBytes: 5, bytes: [1, 2, 3, 0, 255])),
      .artifactChunk(.init(sha256: key.hex, offset: 7, totalBytes: 7, bytes: [])),
      .artifactMissing(sha256: key.hex, reason: "the coordinator's copy is damaged: " + unicode),
      .shardLease(
        .init(
          unit: 1, key: key, step: 0, shard: 0, replicaSHA256: key.hex, replica: [1, 2, 3, 4],
          context: .init(experiment: "lstm-metalearning", parameters: parameters, seed: 3))),
      .shardLease(
        .init(
          unit: .max, key: key, step: .max, shard: .max, replicaSHA256: key.hex, replica: nil,
          context: .init(experiment: unicode, parameters: [:], seed: .max))),
      .shardLease(
        .init(unit: 2, key: key, step: 9, shard: 1, replicaSHA256: key.hex, replica: [], context: nil)),
      .shardLease(
        .init(unit: 3, key: key, step: 9, shard: 2, replicaSHA256: key.hex, replica: nil, context: nil)),
      .shardResult(
        .init(
          unit: 7, key: key, step: 3, shard: 2, replicaSHA256: key.hex, seconds: 0.25, gradient: [0, 255, 9])),
      .shardResult(
        .init(unit: 0, key: key, step: 0, shard: 0, replicaSHA256: key.hex, seconds: .infinity, gradient: [])),
      .shardFailure(.init(unit: 8, key: key, step: 4, shard: 1, reason: .replicaMissing, message: "")),
      .shardFailure(.init(unit: 9, key: key, step: 5, shard: 0, reason: .failed, message: unicode)),
      .epochLease(
        .init(
          unit: 4, epoch: 2, key: key,
          context: .init(experiment: "lstm-metalearning", parameters: parameters, seed: 3), fromStep: 8,
          toStep: 16, index: 1, peers: ["tcp://10.0.0.1:40000", "tcp://[::1]:40001", unicode],
          secret: Array(0..<32), stateSHA256: key.hex, state: [9, 8, 7])),
      .epochLease(
        .init(
          unit: .max, epoch: .max, key: key, context: .init(experiment: "", parameters: [:], seed: 0),
          fromStep: .max, toStep: 0, index: .max, peers: [], secret: [UInt8](repeating: 0xFF, count: 32),
          stateSHA256: key.hex, state: [])),
      .epochCancel(unit: 12),
      .epochReport(
        .init(
          unit: 4, key: key, status: .done, step: 16, stateSHA256: key.hex, computeSeconds: 0.5,
          waitSeconds: 0.125, message: "", state: [1, 2, 3])),
      .epochReport(
        .init(
          unit: 5, key: key, status: .done, step: 16, stateSHA256: key.hex, computeSeconds: .infinity,
          waitSeconds: -0.0, message: "", state: nil)),
      .epochReport(
        .init(
          unit: 6, key: key, status: .groupFault, step: 9, stateSHA256: String(repeating: "0", count: 64),
          computeSeconds: 0, waitSeconds: 10, message: unicode, state: nil)),
    ]
  }

  // MARK: Random messages

  static func randomString(_ rng: inout SplitMix64) -> String {
    let pool: [Unicode.Scalar] = [
      "a", "z", "_", "0", " ", "\u{0}", "é", "η", "日", "🧪", "\u{301}", "\u{FFFF}",
    ]
    var string = ""
    for _ in 0..<rng.below(12) { string.unicodeScalars.append(pool[rng.below(pool.count)]) }
    return string
  }

  static func randomDouble(_ rng: inout SplitMix64) -> Double {
    switch rng.below(4) {
    case 0: Double(bitPattern: rng.next())  // any bits, NaN payloads included
    case 1: [0.0, -0.0, .infinity, -.infinity, .nan, .greatestFiniteMagnitude][rng.below(6)]
    default: Double(rng.below(1_000_000)) / 1000
    }
  }

  static func randomKey(_ rng: inout SplitMix64) -> RunKey {
    RunKey(experiment: "x", parameters: [:], seed: rng.next())
  }

  static func randomParameters(_ rng: inout SplitMix64) -> Parameters {
    var parameters: Parameters = [:]
    for _ in 0..<rng.below(6) {
      let value: ParameterValue =
        switch rng.below(4) {
        case 0: .int(Int(truncatingIfNeeded: rng.next()))
        case 1: .double(randomDouble(&rng))
        case 2: .string(randomString(&rng))
        default: .bool(rng.chance(1, in: 2))
        }
      parameters[randomString(&rng)] = value
    }
    return parameters
  }

  static func randomOutcome(_ rng: inout SplitMix64) -> Outcome {
    let metrics = (0..<rng.below(5)).map { _ in Metric(randomString(&rng), randomDouble(&rng)) }
    let series = (0..<rng.below(3)).map { _ in
      Series(
        name: randomString(&rng), xStart: randomDouble(&rng), xStep: randomDouble(&rng),
        values: (0..<rng.below(20)).map { _ in randomDouble(&rng) })
    }
    let artifacts = (0..<rng.below(3)).map { index in
      Artifact(name: "artifact-\(index).\(rng.below(1000))", bytes: randomBytes(&rng))
    }
    return Outcome(metrics: metrics, series: series, artifacts: artifacts)
  }

  static func randomBytes(_ rng: inout SplitMix64) -> [UInt8] {
    (0..<rng.below(40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
  }

  static func randomSegment(_ rng: inout SplitMix64) -> WireMessage.SegmentReport {
    let total = rng.next() >> 1
    return .init(
      attempt: rng.next(), key: randomKey(&rng), checkpoint: randomBytes(&rng),
      stepsDone: total == 0 ? 0 : rng.next() % (total + 1), totalSteps: total, seconds: randomDouble(&rng),
      log: randomLog(&rng))
  }

  /// A report's log: empty half the time.
  static func randomLog(_ rng: inout SplitMix64) -> [UInt8] {
    rng.chance(1, in: 2) ? [] : [UInt8(truncatingIfNeeded: rng.next())] + randomBytes(&rng)
  }

  static func random(_ rng: inout SplitMix64) -> WireMessage {
    switch rng.below(24) {
    case 0:
      .hello(
        .init(
          protocolVersion: UInt16(truncatingIfNeeded: rng.next()), buildID: randomString(&rng),
          name: randomString(&rng), slots: UInt32(truncatingIfNeeded: rng.next()),
          session: (0..<WireLimits.sessionBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
          machine: randomString(&rng), peerPort: UInt16(truncatingIfNeeded: rng.next())))
    case 1: .heartbeat
    case 2:
      .result(
        .init(
          attempt: rng.next(), key: randomKey(&rng), outcome: randomOutcome(&rng),
          seconds: randomDouble(&rng),
          log: randomLog(&rng)))
    case 3:
      .failure(
        .init(attempt: rng.next(), key: randomKey(&rng), message: randomString(&rng), log: randomLog(&rng)))
    case 4: .goodbye(reason: randomString(&rng))
    case 5:
      .welcome(
        .init(
          heartbeatIntervalMilliseconds: UInt32(truncatingIfNeeded: rng.next()),
          peerTimeoutMilliseconds: UInt32(truncatingIfNeeded: rng.next())))
    case 6: .reject(reason: randomString(&rng))
    case 7:
      .lease(
        .init(
          attempt: rng.next(), key: randomKey(&rng), experiment: randomString(&rng),
          parameters: randomParameters(&rng), seed: rng.next(),
          checkpoint: rng.chance(1, in: 2) ? nil : randomBytes(&rng), maxSteps: rng.next()))
    case 8: .ack(attempt: rng.next())
    case 9:
      .segment(randomSegment(&rng))
    case 10: .statusRequest
    case 12: .draining
    case 11: .status(text: randomString(&rng))
    case 13:
      .refusal(
        .init(attempt: rng.next(), key: randomKey(&rng), message: randomString(&rng), log: randomLog(&rng)))
    case 15:
      .artifactRequest(
        .init(
          sha256: randomKey(&rng).hex, offset: rng.next() % UInt64(WireLimits.maxArtifactBytes),
          length: UInt32(1 + rng.below(WireLimits.maxChunkBytes))))
    case 16:
      {
        let bytes = randomBytes(&rng)
        let total = UInt64(bytes.count) + rng.next() % 1000
        return .artifactChunk(
          .init(
            sha256: randomKey(&rng).hex, offset: total - UInt64(bytes.count), totalBytes: total, bytes: bytes)
        )
      }()
    case 17: .artifactMissing(sha256: randomKey(&rng).hex, reason: randomString(&rng))
    case 18:
      .shardLease(
        .init(
          unit: rng.next(), key: randomKey(&rng), step: rng.next(),
          shard: UInt32(truncatingIfNeeded: rng.next()),
          replicaSHA256: randomKey(&rng).hex, replica: rng.chance(1, in: 2) ? nil : randomBytes(&rng),
          context: rng.chance(1, in: 2)
            ? nil
            : .init(experiment: randomString(&rng), parameters: randomParameters(&rng), seed: rng.next())))
    case 19:
      .shardResult(
        .init(
          unit: rng.next(), key: randomKey(&rng), step: rng.next(),
          shard: UInt32(truncatingIfNeeded: rng.next()),
          replicaSHA256: randomKey(&rng).hex, seconds: randomDouble(&rng), gradient: randomBytes(&rng)))
    case 20:
      .shardFailure(
        .init(
          unit: rng.next(), key: randomKey(&rng), step: rng.next(),
          shard: UInt32(truncatingIfNeeded: rng.next()),
          reason: rng.chance(1, in: 2) ? .replicaMissing : .failed, message: randomString(&rng)))
    case 21:
      .epochLease(
        .init(
          unit: rng.next(), epoch: rng.next(), key: randomKey(&rng),
          context: .init(
            experiment: randomString(&rng), parameters: randomParameters(&rng), seed: rng.next()),
          fromStep: rng.next(), toStep: rng.next(), index: UInt32(truncatingIfNeeded: rng.next()),
          peers: (0..<rng.below(5)).map { _ in randomString(&rng) },
          secret: (0..<WireLimits.peerSecretBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
          stateSHA256: randomKey(&rng).hex, state: randomBytes(&rng)))
    case 22: .epochCancel(unit: rng.next())
    case 23:
      .epochReport(
        .init(
          unit: rng.next(), key: randomKey(&rng),
          status: WireMessage.EpochReport.Status(rawValue: UInt8(rng.below(4)))!, step: rng.next(),
          stateSHA256: randomKey(&rng).hex, computeSeconds: randomDouble(&rng),
          waitSeconds: randomDouble(&rng),
          message: randomString(&rng), state: rng.chance(1, in: 2) ? nil : randomBytes(&rng)))
    default: .shutdown
    }
  }
}
