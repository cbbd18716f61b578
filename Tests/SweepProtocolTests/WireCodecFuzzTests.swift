import SweepModel
import Testing

@testable import SweepProtocol

/// One way to damage a message.
private enum Mutation: CaseIterable {
  case none, bitFlips, randomByte, truncate, extend, insert, swapFrames, dropFrame, addFrame, hugeLength,
    garbage,
    kindSwap
}

private func mutate(_ frames: [[UInt8]], _ mutation: Mutation, _ rng: inout SplitMix64) -> [[UInt8]] {
  var frames = frames
  // Garbage may have left no frame at all; every other mutation needs one.
  if frames.isEmpty && mutation != .garbage { return [rng.bytes(rng.below(16))] }
  let pick = frames.isEmpty ? 0 : rng.below(frames.count)
  switch mutation {
  case .none:
    break
  case .bitFlips:
    for _ in 0..<(1 + rng.below(8)) where !frames[pick].isEmpty {
      let index = rng.below(frames[pick].count)
      frames[pick][index] ^= 1 << UInt8(rng.below(8))
    }
  case .randomByte:
    if !frames[pick].isEmpty { frames[pick][rng.below(frames[pick].count)] = rng.byte() }
  case .truncate:
    frames[pick] = Array(frames[pick].prefix(rng.below(frames[pick].count + 1)))
  case .extend:
    frames[pick] += rng.bytes(1 + rng.below(16))
  case .insert:
    frames[pick].insert(contentsOf: rng.bytes(1 + rng.below(8)), at: rng.below(frames[pick].count + 1))
  case .swapFrames:
    frames.append(rng.bytes(rng.below(24)))
    frames.swapAt(0, frames.count - 1 - rng.below(frames.count - 1))
    if rng.chance(1, in: 2) { frames.reverse() }
  case .dropFrame:
    frames.remove(at: pick)
  case .addFrame:
    frames.insert(
      rng.chance(1, in: 2) ? frames[pick] : rng.bytes(rng.below(32)), at: rng.below(frames.count + 1))
  case .hugeLength:
    let lengths: [UInt32] = [
      .max, 0x8000_0000, 0x7FFF_FFFF, UInt32(WireLimits.maxStringBytes), 0x0001_0000, 0xFFFF,
    ]
    let value =
      rng.chance(1, in: 3) ? UInt32(truncatingIfNeeded: rng.next()) : lengths[rng.below(lengths.count)]
    if frames[pick].count >= 4 {
      let at = rng.below(frames[pick].count - 3)
      withUnsafeBytes(of: value.littleEndian) { frames[pick].replaceSubrange(at..<at + 4, with: $0) }
    }
  case .garbage:
    frames = (0..<rng.below(4)).map { _ in
      // Half the time behind a valid header prefix, so the body parsers see garbage too.
      (rng.chance(1, in: 2)
        ? Array("MSWP".utf8) + [
          UInt8(WireCodec.protocolVersion & 0xFF), UInt8(WireCodec.protocolVersion >> 8),
          [0x01, 0x02, 0x03, 0x04, 0x05, 0x11, 0x12, 0x13, 0x14][rng.below(9)],
        ]
        : [])
        + rng.bytes(rng.below(64))
    }
  case .kindSwap:
    if frames[0].count > 6 {
      frames[0][6] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x11, 0x12, 0x13, 0x14][rng.below(9)]
    }
  }
  return frames
}

@Test func fuzz_randomAndMutatedFrames_onlyDecodeOrThrowWireError_andDecodedMessagesReencodeExactly() {
  var rng = SplitMix64(seed: 0x4D53_5750_2025)
  let iterations = 120_000
  var decoded = 0
  var codes: [WireError.Code: Int] = [:]
  var notCanonical = 0
  var notStable = 0
  let mutations = Mutation.allCases
  for _ in 0..<iterations {
    let original = WireCodec.encode(MessageSamples.random(&rng))
    var frames = mutate(original, mutations[rng.below(mutations.count)], &rng)
    if rng.chance(1, in: 4) { frames = mutate(frames, mutations[rng.below(mutations.count)], &rng) }
    do {
      let message = try WireCodec.decode(frames)
      decoded += 1
      // Decoding accepts only canonical bytes, so re-encoding reproduces the input exactly...
      let reencoded = WireCodec.encode(message)
      if reencoded != frames { notCanonical += 1 }
      // ...and decodes again to the same bytes.
      if (try? WireCodec.decode(reencoded)).map(WireCodec.encode) != reencoded { notStable += 1 }
    } catch {
      codes[error.code, default: 0] += 1  // typed throws: nothing but WireError can arrive here
    }
  }
  #expect(notCanonical == 0)
  #expect(notStable == 0)
  #expect(decoded > iterations / 20)
  // Every failure mode was exercised.
  for code in [
    WireError.Code.badMagic, .unsupportedVersion, .unknownKind, .truncated, .oversized, .malformed,
  ] {
    #expect(codes[code, default: 0] > 0, "never produced \(code)")
  }
}

@Test func fuzz_validMessages_roundTripBitExactly() {
  var rng = SplitMix64(seed: 7)
  var mismatches = 0
  for _ in 0..<20_000 {
    let frames = WireCodec.encode(MessageSamples.random(&rng))
    guard let message = try? WireCodec.decode(frames), WireCodec.encode(message) == frames else {
      mismatches += 1
      continue
    }
  }
  #expect(mismatches == 0)
}
