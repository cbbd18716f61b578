import Testing

@testable import SweepModel

/// SplitMix64 (Steele, Lea and Flood 2014): a fixed, seedable stream so a failing case replays exactly.
private struct SplitMix64 {
  var state: UInt64

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A number in `0..<bound` (bound > 0), by multiply-shift so it does not depend on the standard library.
  mutating func below(_ bound: Int) -> Int {
    // Parenthesised: in Swift `>>` binds tighter than `&*`.
    Int(((next() >> 32) &* UInt64(bound)) >> 32)
  }
}

private let seedFile = """
  name: crossprop-geoff
  experiment: geoff
  description: |
    A file to mutate.
  seeds: 0..<5
  fixed: &base
    examples_per_task: 5000
    step_size: 0.0005
    label: "5000"
  variants:
    backprop: {algorithm: backprop}
    crossprop-eta0.5:
      <<: *base
      algorithm: crossprop
      eta: 5e-1
      replay: true
    defaults: {}
  metrics: [error_task1, u_drift_task1]
  curves:
    - error
  """

/// Characters that matter to YAML, plus a few ordinary and unusual ones.
private let alphabet: [Character] = Array(
  ":-[]{}#&*!|>'\"%@`,?~. \n\t\r0123456789aez<_\u{0}\u{1}\u{7F}\u{FEFF}é∞")

/// `text` with one random edit: delete, insert, replace, truncate, swap two lines or repeat one.
private func mutate(_ text: [Character], using random: inout SplitMix64) -> [Character] {
  var chars = text
  switch random.below(6) {
  case 0 where !chars.isEmpty:
    chars.remove(at: random.below(chars.count))
  case 1:
    chars.insert(alphabet[random.below(alphabet.count)], at: random.below(chars.count + 1))
  case 2 where !chars.isEmpty:
    chars[random.below(chars.count)] = alphabet[random.below(alphabet.count)]
  case 3:
    chars = Array(chars.prefix(random.below(chars.count + 1)))
  case 4, 5:
    var lines = String(chars).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard lines.count > 1 else { break }
    let i = random.below(lines.count)
    let j = random.below(lines.count)
    if random.below(2) == 0 { lines.swapAt(i, j) } else { lines.insert(lines[i], at: j) }
    chars = Array(lines.joined(separator: "\n"))
  default:
    break
  }
  return chars
}

@Test func seedFile_parses() throws {
  let spec = try SweepSpec.parse(yaml: seedFile, file: "fuzz.yaml")
  #expect(spec.variants.map(\.name) == ["backprop", "crossprop-eta0.5", "defaults"])
  #expect(spec.variants[1].parameters["examples_per_task"] == .int(5000))
}

@Test func mutatedFiles_parseOrThrowLocatedSpecErrors_neverTrap() {
  var random = SplitMix64(state: 0x5EED_2024)
  let original = Array(seedFile)
  var parsed = 0
  var rejected = 0
  for _ in 0..<4000 {
    var text = original
    for _ in 0...random.below(4) { text = mutate(text, using: &random) }
    let yaml = String(text)
    do {
      let spec = try SweepSpec.parse(yaml: yaml, file: "fuzz.yaml")
      parsed += 1
      // Whatever parsed still satisfies the invariants the rest of MetaSweep relies on.
      #expect(!spec.variants.isEmpty && !spec.seeds.isEmpty && !spec.name.isEmpty, "\(yaml)")
      #expect(Set(spec.seeds).count == spec.seeds.count, "\(yaml)")
      #expect(Set(spec.variants.map(\.name)).count == spec.variants.count, "\(yaml)")
      _ = spec.expand()
    } catch {
      rejected += 1
      #expect(!error.problems.isEmpty, "\(yaml)")
      for problem in error.problems {
        #expect(!problem.message.isEmpty, "\(yaml)")
        #expect(problem.file == "fuzz.yaml")
        if let location = problem.location {
          #expect(location.line >= 1 && location.column >= 1, "\(problem) for:\n\(yaml)")
        }
      }
      // In file order, as printed.
      let places = error.problems.map { ($0.location?.line ?? 0, $0.location?.column ?? 0) }
      #expect(zip(places, places.dropFirst()).allSatisfy { $0 <= $1 }, "\(error)")
    }
  }
  // Both outcomes must be exercised, or the mutations are too gentle or too harsh to mean anything.
  #expect(parsed > 100)
  #expect(rejected > 100)
}

@Test func pathologicalInputs_areSpecErrors() {
  let inputs = [
    String(repeating: "[", count: 500),
    String(repeating: "- ", count: 500) + "x",
    "name: &a [*a]",
    "? [a, b]\n: c\n",
    "name: \"unterminated",
    "%YAML 1.1\n---\nname: x\n",
    "\u{FEFF}name: demo\n",
    "name: demo\n\0\n",
    String(repeating: "a: 1\n", count: 3),
  ]
  for yaml in inputs {
    #expect(throws: SpecProblems.self, "\(yaml.prefix(40))") {
      try SweepSpec.parse(yaml: yaml, file: "odd.yaml")
    }
  }
}
