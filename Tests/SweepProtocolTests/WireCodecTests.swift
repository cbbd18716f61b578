import SweepModel
import Testing

@testable import SweepProtocol

// MARK: - Round trips

@Test func roundTrip_everyMessageKind_decodesToTheSameMessage() throws {
  for message in MessageSamples.all {
    let frames = WireCodec.encode(message)
    #expect(try WireCodec.decode(frames) == message)
  }
}

@Test func roundTrip_everyMessageKind_usesItsOwnKindByte_andTheRightFrameCount() {
  var kinds = Set<UInt8>()
  for message in MessageSamples.all {
    let frames = WireCodec.encode(message)
    #expect(Array(frames[0].prefix(4)) == Array("MSWP".utf8))
    #expect(frames[0][4] == 9 && frames[0][5] == 0)  // version 9, little-endian
    kinds.insert(frames[0][6])
    switch message {
    case .result(let result): #expect(frames.count == (result.log.isEmpty ? 2 : 3))
    case .segment(let segment): #expect(frames.count == (segment.log.isEmpty ? 2 : 3))
    case .failure(let failure), .refusal(let failure): #expect(frames.count == (failure.log.isEmpty ? 1 : 2))
    case .artifactChunk, .shardResult, .epochLease: #expect(frames.count == 2)
    case .epochReport(let report): #expect(frames.count == (report.state == nil ? 1 : 2))
    case .lease(let lease): #expect(frames.count == (lease.checkpoint == nil ? 1 : 2))
    case .shardLease(let lease): #expect(frames.count == (lease.replica == nil ? 1 : 2))
    default: #expect(frames.count == 1)
    }
  }
  #expect(kinds.count == 24)
}

@Test func encode_isDeterministic_whateverTheDictionaryInsertionOrder() {
  var forward: Parameters = [:]
  var backward: Parameters = [:]
  let names = (0..<50).map { "p\($0)" }
  for name in names { forward[name] = .int(name.count) }
  for name in names.reversed() { backward[name] = .int(name.count) }
  let a = WireCodec.encode(
    .lease(.init(attempt: 1, key: MessageSamples.key, experiment: "g", parameters: forward, seed: 1)))
  let b = WireCodec.encode(
    .lease(.init(attempt: 1, key: MessageSamples.key, experiment: "g", parameters: backward, seed: 1)))
  #expect(a == b)
}

@Test func roundTrip_everyParameterValueType_keepsTypeAndBits() throws {
  let nanWithPayload = Double(bitPattern: 0x7FF8_0000_DEAD_BEEF)
  var parameters = MessageSamples.parameters
  parameters["nan"] = .double(nanWithPayload)
  let lease = WireMessage.Lease(
    attempt: 1, key: MessageSamples.key, experiment: "geoff", parameters: parameters, seed: 3)
  guard case .lease(let decoded) = try WireCodec.decode(WireCodec.encode(.lease(lease))) else {
    Issue.record("not a lease")
    return
  }
  #expect(decoded.parameters.count == parameters.count)
  for (name, value) in parameters {
    switch (value, decoded.parameters[name]) {
    case (.double(let a), .double(let b)?): #expect(a.bitPattern == b.bitPattern, "\(name)")
    case (let a, let b?): #expect(a == b, "\(name)")
    case (_, nil): Issue.record("\(name) missing")
    }
  }
  // An integral double stays a double and an int stays an int.
  #expect(decoded.parameters["examples_per_task"] == .int(5000))
  #expect(
    decoded.parameters["negative_zero"].map {
      if case .double(let x) = $0 { x.sign == .minus } else { false }
    } == true)
}

@Test func roundTrip_outcomeWithNaNAndInfinities_preservesEveryBit() throws {
  let specials: [Double] = [
    .nan, -.nan, .signalingNaN, Double(bitPattern: 0x7FF0_0000_0000_0001),
    Double(bitPattern: 0xFFF8_1234_5678_9ABC),
    .infinity, -.infinity, -0.0, 0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .ulpOfOne,
  ]
  let outcome = Outcome(
    metrics: specials.enumerated().map { Metric("m\($0.offset)", $0.element) },
    series: [Series(name: "s", xStart: .nan, xStep: -.infinity, values: specials)])
  let result = WireMessage.RunResult(attempt: 5, key: MessageSamples.key, outcome: outcome, seconds: .nan)
  guard case .result(let decoded) = try WireCodec.decode(WireCodec.encode(.result(result))) else {
    Issue.record("not a result")
    return
  }
  #expect(decoded.outcome.metrics.map(\.value.bitPattern) == specials.map(\.bitPattern))
  #expect(decoded.outcome.metrics.map(\.name) == outcome.metrics.map(\.name))
  #expect(decoded.outcome.series[0].values.map(\.bitPattern) == specials.map(\.bitPattern))
  #expect(decoded.outcome.series[0].xStart.bitPattern == Double.nan.bitPattern)
  #expect(decoded.outcome.series[0].xStep == -.infinity)
  #expect(decoded.seconds.bitPattern == Double.nan.bitPattern)
}

@Test func roundTrip_largeOutcome_keepsEveryMetricAndPoint() throws {
  let metrics = (0..<10_000).map { Metric("metric_\($0)", Double($0) * 0.5) }
  let series = (0..<8).map { s in
    Series(name: "curve\(s)", xStart: 100, xStep: 100, values: (0..<250_000).map { Double($0 ^ s) / 7 })
  }
  let message = WireMessage.result(
    .init(
      attempt: 42, key: MessageSamples.key, outcome: Outcome(metrics: metrics, series: series), seconds: 3600)
  )
  let frames = WireCodec.encode(message)
  #expect(
    frames[1].count == 8 + 10_000 * 12 + metrics.reduce(0) { $0 + $1.name.utf8.count } + 8
      * (4 + 6 + 20 + 8 * 250_000) + 4)  // + the artifact count, 0
  #expect(try WireCodec.decode(frames) == message)
}

@Test func roundTrip_unicodeStrings_areByteExact() throws {
  let strings = [MessageSamples.unicode, "é", "e\u{301}", "\u{10FFFF}", String(repeating: "🧪", count: 1000)]
  for string in strings {
    guard case .goodbye(let reason) = try WireCodec.decode(WireCodec.encode(.goodbye(reason: string))) else {
      Issue.record("not a goodbye")
      continue
    }
    #expect(Array(reason.utf8) == Array(string.utf8))
  }
}

@Test func encode_clipsOverlongStrings_atAScalarBoundary_soTheyStillDecode() throws {
  let long = String(repeating: "a", count: WireLimits.maxStringBytes - 1) + "🧪"
  guard case .reject(let reason) = try WireCodec.decode(WireCodec.encode(.reject(reason: long))) else {
    Issue.record("not a reject")
    return
  }
  #expect(reason.utf8.count == WireLimits.maxStringBytes - 1)
}

@Test func runKey_travelsAs32RawBytes() throws {
  let frames = WireCodec.encode(.failure(.init(attempt: 1, key: MessageSamples.key, message: "")))
  #expect(frames[0].count == 7 + 8 + 32 + 4)
  #expect(SHA256.hexString(Array(frames[0][15..<47])) == MessageSamples.key.hex)
}

// MARK: - Every error code from a crafted input

private func code(_ frames: [[UInt8]]) -> WireError.Code? {
  do {
    _ = try WireCodec.decode(frames)
    return nil
  } catch {
    return error.code
  }
}

private func header(_ kind: UInt8, _ fields: [UInt8] = []) -> [UInt8] {
  Array("MSWP".utf8) + [UInt8(WireCodec.protocolVersion & 0xFF), UInt8(WireCodec.protocolVersion >> 8), kind]
    + fields
}

private func le32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

@Test func decode_wrongMagic_isBadMagic() {
  #expect(code([Array("MSWQ".utf8) + [1, 0, 2]]) == .badMagic)
  #expect(code([[0x7B, 0x22]]) == .badMagic)  // `{"`: someone sent JSON
  #expect(
    code([
      WireCodec.encode(.result(.init(attempt: 1, key: MessageSamples.key, outcome: Outcome(), seconds: 1)))[1]
    ]) == .badMagic)
}

@Test func decode_otherVersion_isUnsupportedVersion_andSaysWhatToDo() {
  var frame = WireCodec.encode(.heartbeat)[0]
  frame[4] = 1
  do {
    _ = try WireCodec.decode([frame])
    Issue.record("decoded a v1 message")
  } catch {
    #expect(error.code == .unsupportedVersion)
    #expect(error.message.contains("v1") && error.message.contains("same metasweep build"))
  }
}

@Test func decode_unknownKind_isUnknownKind() {
  #expect(code([header(0)]) == .unknownKind)
  #expect(code([header(0xFF)]) == .unknownKind)
}

@Test func decode_shortInput_isTruncated() {
  #expect(code([]) == .truncated)
  #expect(code([[]]) == .truncated)
  #expect(code([Array("MSW".utf8)]) == .truncated)
  #expect(code([Array("MSWP".utf8) + [1]]) == .truncated)
  #expect(code([header(0x11, [250, 0, 0, 0, 232, 3, 0])]) == .truncated)  // welcome, 1 byte short
  let result = WireCodec.encode(
    .result(.init(attempt: 1, key: MessageSamples.key, outcome: MessageSamples.outcome, seconds: 1)))
  #expect(code([result[0]]) == .truncated)  // outcome frame missing
  #expect(code([result[0], Array(result[1].dropLast())]) == .truncated)
  #expect(code([header(0x05, le32(10) + Array("abc".utf8))]) == .truncated)  // string shorter than its length
}

@Test func decode_hugeCountsAndLengths_areOversized_withoutAllocating() {
  #expect(code([header(0x05, le32(.max))]) == .oversized)
  #expect(code([header(0x12, le32(UInt32(WireLimits.maxStringBytes + 1)))]) == .oversized)
  let lease = WireCodec.encode(
    .lease(.init(attempt: 1, key: MessageSamples.key, experiment: "g", parameters: [:], seed: 1)))[0]
  var tooMany = lease
  tooMany.replaceSubrange(7 + 8 + 32 + 5..<7 + 8 + 32 + 9, with: le32(UInt32(WireLimits.maxParameters + 1)))
  #expect(code([tooMany]) == .oversized)
  let result = WireCodec.encode(
    .result(.init(attempt: 1, key: MessageSamples.key, outcome: Outcome(), seconds: 1)))
  #expect(code([result[0], le32(.max) + le32(0)]) == .oversized)
  #expect(code([result[0], le32(0) + le32(.max)]) == .oversized)
}

@Test func decode_hugeCountBelowTheCap_isTruncated_notAnAllocation() {
  let result = WireCodec.encode(
    .result(.init(attempt: 1, key: MessageSamples.key, outcome: Outcome(), seconds: 1)))
  #expect(code([result[0], le32(UInt32(WireLimits.maxMetrics)) + le32(0)]) == .truncated)
  let series =
    le32(0) + le32(1) + le32(1) + Array("s".utf8) + [UInt8](repeating: 0, count: 16)
    + le32(UInt32(WireLimits.maxSeriesValues))
  #expect(code([result[0], series]) == .truncated)
}

@Test func decode_leftoversAndInvalidContent_areMalformed() {
  let heartbeat = WireCodec.encode(.heartbeat)[0]
  #expect(code([heartbeat + [0]]) == .malformed)  // trailing byte
  #expect(code([heartbeat, []]) == .malformed)  // extra frame
  let result = WireCodec.encode(
    .result(.init(attempt: 1, key: MessageSamples.key, outcome: Outcome(), seconds: 1)))
  #expect(code(result + [[1], [1]]) == .malformed)  // a log frame is the only one that may follow
  #expect(code([result[0], result[1] + [0]]) == .malformed)  // trailing byte in the outcome
  #expect(code([header(0x05, le32(2) + [0xC3, 0x28])]) == .malformed)  // invalid UTF-8

  func lease(_ entries: [UInt8], count: UInt32) -> [[UInt8]] {
    [
      header(
        0x13,
        [UInt8](repeating: 0, count: 8 + 32) + le32(1) + Array("g".utf8) + le32(count) + entries
          + [UInt8](repeating: 0, count: 8 + 8 + 1))
    ]
  }
  let b = le32(1) + Array("b".utf8)
  let a = le32(1) + Array("a".utf8)
  #expect(code(lease(a + [3, 1] + b + [3, 0], count: 2)) == nil)  // well-formed control
  #expect(code(lease(b + [3, 1] + a + [3, 0], count: 2)) == .malformed)  // unsorted
  #expect(code(lease(a + [3, 1] + a + [3, 0], count: 2)) == .malformed)  // duplicate
  #expect(code(lease(a + [3, 2], count: 1)) == .malformed)  // bool byte 2
  #expect(code(lease(a + [9, 0], count: 1)) == .malformed)  // unknown type tag
  // Different bytes, equal Strings (precomposed vs decomposed é): a duplicate too.
  let composed = le32(2) + Array("é".utf8)
  let decomposed = le32(3) + Array("e\u{301}".utf8)
  #expect(code(lease(decomposed + [3, 1] + composed + [3, 0], count: 2)) == .malformed)
}

// MARK: - Chained runs

@Test func lease_checkpointFlag_mustAgreeWithTheFrameCount() throws {
  let plain = WireCodec.encode(
    .lease(.init(attempt: 1, key: MessageSamples.key, experiment: "g", parameters: [:], seed: 1)))
  let chained = WireCodec.encode(
    .lease(
      .init(
        attempt: 1, key: MessageSamples.key, experiment: "g", parameters: [:], seed: 1, checkpoint: [9, 8],
        maxSteps: 7)))
  #expect(plain.count == 1 && chained.count == 2)
  #expect(chained[1] == [9, 8])
  #expect(code(plain + [[1]]) == .malformed)  // a checkpoint frame the header does not announce
  #expect(code([chained[0]]) == .truncated)  // an announced checkpoint frame missing
  var badFlag = chained[0]
  badFlag[badFlag.count - 1] = 2
  #expect(code([badFlag, chained[1]]) == .malformed)
  #expect(code(chained + [[]]) == .malformed)  // three frames
  guard case .lease(let lease) = try WireCodec.decode(chained) else {
    Issue.record("not a lease")
    return
  }
  #expect(lease.checkpoint == [9, 8] && lease.maxSteps == 7)
}

@Test func segment_needsItsCheckpointFrame_andAtMostTotalStepsDone() {
  let frames = WireCodec.encode(
    .segment(
      .init(attempt: 1, key: MessageSamples.key, checkpoint: [1], stepsDone: 3, totalSteps: 5, seconds: 1)))
  #expect(code(frames) == nil)
  #expect(code([frames[0]]) == .truncated)
  #expect(code(frames + [[]]) == .malformed)
  let tooMany = WireCodec.encode(
    .segment(
      .init(attempt: 1, key: MessageSamples.key, checkpoint: [1], stepsDone: 6, totalSteps: 5, seconds: 1)))
  #expect(code(tooMany) == .malformed)
  let huge = WireCodec.encode(
    .segment(
      .init(attempt: 1, key: MessageSamples.key, checkpoint: [], stepsDone: 0, totalSteps: .max, seconds: 1)))
  #expect(code(huge) == .malformed)
}

@Test func reportLogs_areAnOptionalLastFrame_clippedOnEncoding_andBoundedOnDecoding() throws {
  let key = MessageSamples.key
  let result = WireMessage.result(.init(attempt: 1, key: key, outcome: Outcome(), seconds: 1, log: [7]))
  let failure = WireMessage.failure(.init(attempt: 1, key: key, message: "m", log: [7]))
  for message in [result, failure] {
    let frames = WireCodec.encode(message)
    #expect(try WireCodec.decode(frames) == message)
    // An empty log frame is not what encoding makes; a frame after the log is one too many.
    #expect(code(Array(frames.dropLast()) + [[]]) == .malformed)
    #expect(code(frames + [[1]]) == .malformed)
    #expect(
      code(Array(frames.dropLast()) + [[UInt8](repeating: 1, count: WireLimits.maxLogBytes + 1)])
        == .oversized)
  }
  let long = WireMessage.failure(
    .init(attempt: 1, key: key, message: "m", log: [UInt8](repeating: 1, count: WireLimits.maxLogBytes + 9)))
  guard case .failure(let decoded) = try WireCodec.decode(WireCodec.encode(long)) else {
    Issue.record("not a failure")
    return
  }
  #expect(decoded.log.count == WireLimits.maxLogBytes)
}

@Test func outcomeArtifacts_travelIntact_andABadOrRepeatedNameIsMalformed() throws {
  let key = RunKey(hex: String(repeating: "ab", count: 32))
  let artifacts = [Artifact(name: "net", bytes: Array(0...255)), Artifact(name: "pool.member-3", bytes: [])]
  let message = WireMessage.result(
    .init(attempt: 7, key: key, outcome: Outcome(metrics: [Metric("m", 1)], artifacts: artifacts), seconds: 2)
  )
  let frames = WireCodec.encode(message)
  #expect(try WireCodec.decode(frames) == message)
  for bad in ["Net", ".hidden", "", String(repeating: "a", count: 65), "a/b"] {
    let forged = WireMessage.result(
      .init(attempt: 7, key: key, outcome: Outcome(artifacts: [Artifact(name: bad, bytes: [1])]), seconds: 2))
    #expect(throws: WireError.self, "artifact name '\(bad)'") {
      try WireCodec.decode(WireCodec.encode(forged))
    }
  }
  let repeated = WireMessage.result(
    .init(
      attempt: 7, key: key,
      outcome: Outcome(artifacts: [Artifact(name: "net", bytes: [1]), Artifact(name: "net", bytes: [2])]),
      seconds: 2))
  #expect(throws: WireError.self) { try WireCodec.decode(WireCodec.encode(repeated)) }
}
