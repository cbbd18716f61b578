import SweepModel
import Testing

@testable import SweepProtocol

private let secret = (0..<32).map { UInt8($0 * 7 & 0xFF) }
private let sample = PeerGradient(
  epoch: 41, step: 1_000_003, shard: 5, sender: 1, gradient: Array(0..<200).map { UInt8($0) })

@Test func peerGradient_roundTrips_underItsEpochsSecret() {
  let frame = sample.encoded(secret: secret)
  #expect(frame.count == PeerGradient.headerSize + 200 + PeerGradient.macSize)
  #expect(PeerGradient.decode(frame, epoch: 41, secret: secret) == sample)
  let empty = PeerGradient(epoch: 0, step: 0, shard: 0, sender: 0, gradient: [])
  #expect(PeerGradient.decode(empty.encoded(secret: secret), epoch: 0, secret: secret) == empty)
}

@Test func peerGradient_ofAnotherEpoch_orUnderAnotherSecret_isDropped() {
  let frame = sample.encoded(secret: secret)
  #expect(PeerGradient.decode(frame, epoch: 42, secret: secret) == nil)
  var other = secret
  other[31] ^= 1
  #expect(PeerGradient.decode(frame, epoch: 41, secret: other) == nil)
  #expect(PeerGradient.decode(sample.encoded(secret: other), epoch: 41, secret: secret) == nil)
}

@Test func peerGradient_withAnyByteChanged_orCut_orExtended_isDropped() {
  let frame = sample.encoded(secret: secret)
  for index in frame.indices {
    var forged = frame
    forged[index] ^= 0x20
    #expect(PeerGradient.decode(forged, epoch: 41, secret: secret) == nil, "byte \(index)")
  }
  for length in [0, 3, 4, PeerGradient.headerSize, frame.count - 1] {
    #expect(PeerGradient.decode(Array(frame.prefix(length)), epoch: 41, secret: secret) == nil)
  }
  #expect(PeerGradient.decode(frame + [0], epoch: 41, secret: secret) == nil)
}

@Test func peerGradient_decodesRandomBytesWithoutTrapping() {
  var rng = SplitMix64(seed: 0x9E37)
  let frame = sample.encoded(secret: secret)
  for _ in 0..<20_000 {
    var bytes: [UInt8]
    if rng.chance(1, in: 2) {
      bytes = frame
      for _ in 0..<(1 + rng.below(4)) {
        bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
      }
      if rng.chance(1, in: 4) { bytes = Array(bytes.prefix(rng.below(bytes.count))) }
    } else {
      bytes = (0..<rng.below(300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      if rng.chance(1, in: 2) { bytes.replaceSubrange(0..<min(4, bytes.count), with: Array("MSPG".utf8)) }
    }
    // Only the untouched frame (a change that happened to write the same byte) may decode.
    if let decoded = PeerGradient.decode(bytes, epoch: 41, secret: secret) {
      #expect(bytes == frame && decoded == sample)
    }
  }
}
