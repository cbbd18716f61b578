import Testing

@testable import SweepModel

@Test func sha256_matchesFIPSVectors() {
  #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  #expect(
    SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
      == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
}

@Test func runKey_isIndependentOfInsertionOrder_andSensitiveToEveryField() {
  let a: Parameters = ["b": .int(1), "a": .double(0.5), "c": .string("x")]
  var b: Parameters = [:]
  b["c"] = .string("x")
  b["a"] = .double(0.5)
  b["b"] = .int(1)
  #expect(
    RunKey(experiment: "geoff", parameters: a, seed: 3) == RunKey(experiment: "geoff", parameters: b, seed: 3)
  )
  #expect(
    RunKey(experiment: "geoff", parameters: a, seed: 3) != RunKey(experiment: "geoff", parameters: a, seed: 4)
  )
  #expect(
    RunKey(experiment: "geoff", parameters: a, seed: 3) != RunKey(experiment: "geof", parameters: a, seed: 3))
  #expect(
    RunKey.canonicalText(experiment: "geoff", parameters: a, seed: 3)
      == #"{"experiment":"geoff","parameters":{"a":0.5,"b":1,"c":"x"},"seed":3}"#)
  // Escapes per RFC 8259; other text is kept as it is.
  #expect(CanonicalJSON.quote("a\"b\\c\nd\u{1}é\t") == #""a\"b\\c\nd\u0001é\t""#)
  #expect(CanonicalJSON.quote("plain words") == #""plain words""#)
  #expect(CanonicalJSON.object(["b": "1", "a": "[]"]) == #"{"a":[],"b":1}"#)
  // An integral double and an int are different values.
  #expect(ParameterValue.double(1).canonicalJSON == "1.0")
}

@Test func runSpec_readBackWithItsStoredKey_returnsIt_untilAKeyFieldChanges() {
  let parameters: Parameters = ["eta": .double(0.5)]
  let fresh = RunSpec(ordinal: 3, experiment: "geoff", variant: "a", parameters: parameters, seed: 7)
  // A stand-in key shows which one `key` returns: the stored one, not a new hash.
  let stored = RunKey(hex: String(repeating: "ab", count: 32))
  var read = RunSpec(
    ordinal: 3, experiment: "geoff", variant: "a", parameters: parameters, seed: 7, storedKey: stored)
  #expect(read.key == stored)
  #expect(read == fresh)  // the stored key is a cache, not part of the run
  read.variant = "b"  // not part of the key
  #expect(read.key == stored)
  read.variant = "a"
  read.seed = 8
  #expect(read.key == RunKey(experiment: "geoff", parameters: parameters, seed: 8))
  var other = RunSpec(
    ordinal: 3, experiment: "geoff", variant: "a", parameters: parameters, seed: 7, storedKey: stored)
  other.parameters["eta"] = .double(0.25)
  #expect(other.key == RunKey(experiment: "geoff", parameters: ["eta": .double(0.25)], seed: 7))
  var renamed = RunSpec(
    ordinal: 3, experiment: "geoff", variant: "a", parameters: parameters, seed: 7, storedKey: stored)
  renamed.experiment = "noop"
  #expect(renamed.key == RunKey(experiment: "noop", parameters: parameters, seed: 7))
}

@Test func runKeys_withTheSameFirstBytes_areStillDistinct() {
  let head = String(repeating: "0", count: 16)
  let a = RunKey(hex: head + String(repeating: "a", count: 48))
  let b = RunKey(hex: head + String(repeating: "b", count: 48))
  #expect(a != b)
  #expect(Set([a, b, RunKey(hex: a.hex)]).count == 2)
  #expect(a.hashValue == RunKey(hex: a.hex).hashValue)
  #expect([a: 1, b: 2][RunKey(hex: b.hex)] == 2)
}

@Test func sha256_ofAMillionAs_andInPiecesAcrossBlocks_matchesOneShot() {
  let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
  #expect(
    SHA256.hexString(SHA256.digest(million))
      == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  let message = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) }
  for pieces in [[1, 63, 64, 65, 107], [55, 1, 8, 236], [64, 64, 64, 64, 44], [300]] {
    var state = SHA256.State()
    var start = 0
    for size in pieces {
      state.update(message[start..<start + size])
      start += size
    }
    #expect(state.finalize() == SHA256.digest(message), "pieces \(pieces)")
  }
  // A collection without contiguous storage goes through the same blocks.
  #expect(SHA256.digest(message.lazy.map { $0 }) == SHA256.digest(message))
}
