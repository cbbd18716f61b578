/// SplitMix64 (Steele, Lea and Flood 2014): a 64-bit counter passed through a bijective mixer.
///
/// Used only to expand seeds into xoshiro state and to derive named streams; every output is a
/// fixed function of the seed, so seeding is identical on every platform and Swift version.
public struct SplitMix64: Sendable {
  /// The counter; advanced by the golden-ratio increment on every call.
  public private(set) var state: UInt64

  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    return Self.mix(state)
  }

  /// The SplitMix64 output function: a bijection of `z` with good avalanche.
  public static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// A seeded xoshiro256** generator (Blackman and Vigna 2018) with samplers written from raw bits.
///
/// A run never touches `SystemRandomNumberGenerator` or the standard library's
/// `random(in:using:)`, whose algorithms may change between Swift versions: every sampler here is a
/// documented function of the 64-bit outputs, so a (root seed, stream name) pair fixes every bit.
public struct RandomStream: Sendable {
  private var s0: UInt64
  private var s1: UInt64
  private var s2: UInt64
  private var s3: UInt64

  /// A generator whose 256-bit state is four consecutive SplitMix64 outputs from `seed`
  /// (never all zero, since SplitMix64 is a bijection of distinct counters).
  public init(seed: UInt64) {
    var expander = SplitMix64(seed: seed)
    s0 = expander.next()
    s1 = expander.next()
    s2 = expander.next()
    s3 = expander.next()
  }

  /// The stream called `name` of the run with root seed `rootSeed` (for example "task", "init").
  ///
  /// The stream seed is `mix(mix(rootSeed) ^ fnv1a64(name))`: distinct names give unrelated
  /// generators for one root seed, and adding a stream never shifts the numbers of another.
  public init(rootSeed: UInt64, stream name: String) {
    self.init(seed: SplitMix64.mix(SplitMix64.mix(rootSeed) ^ Self.fnv1a64(name)))
  }

  /// The stream called `name`, indexed by `indices` (for example `("seq", [step, b])`), of the run
  /// with root seed `rootSeed`: a counter-based draw, so any (step, b) is reproducible alone.
  ///
  /// Starts from the named stream's seed s = `mix(mix(rootSeed) ^ fnv1a64(name))` and folds each
  /// index in as s ← `mix(s ^ mix(index &+ 0x9E37_79B9_7F4A_7C15))`; with no indices it is the
  /// plain named stream. Distinct index tuples of one length give unrelated generators.
  public init(rootSeed: UInt64, stream name: String, indices: [UInt64]) {
    var seed = SplitMix64.mix(SplitMix64.mix(rootSeed) ^ Self.fnv1a64(name))
    for index in indices { seed = SplitMix64.mix(seed ^ SplitMix64.mix(index &+ 0x9E37_79B9_7F4A_7C15)) }
    self.init(seed: seed)
  }

  /// FNV-1a, 64-bit, over the UTF-8 bytes of `text`: a fixed, platform-independent string hash.
  public static func fnv1a64(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash &*= 0x0000_0100_0000_01B3
    }
    return hash
  }

  /// The next 64 random bits: xoshiro256**, `rotl(s1 * 5, 7) * 9`, then the linear state step.
  public mutating func next() -> UInt64 {
    let result = rotateLeft(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotateLeft(s3, 45)
    return result
  }

  @inline(__always) private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  // MARK: - Samplers

  /// A uniform `Double` in [0, 1): the top 53 bits of one output times 2⁻⁵³ (every value is a
  /// multiple of 2⁻⁵³, each equally likely).
  public mutating func uniformDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// A uniform `Float` in [0, 1): the top 24 bits of one output times 2⁻²⁴.
  public mutating func uniformFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

  /// `true` with probability `p`: `uniformDouble() < p` (so p = 0 is never and p = 1 is always).
  public mutating func bernoulli(_ p: Double) -> Bool { uniformDouble() < p }

  /// `count` (≤ 64) independent fair bits, the top `count` bits of one output, in the low bits of
  /// the result; bit `i` is 1 with probability ½.
  public mutating func fairBits(count: Int) -> UInt64 {
    precondition(count >= 1 && count <= 64, "fairBits needs 1...64 bits")
    return next() >> UInt64(64 - count)
  }

  /// A uniform integer in `0..<n` without modulo bias (Lemire 2019, "Fast random integer
  /// generation in an interval"): take the high word of `next() * n`, rejecting the few outputs
  /// whose low word falls below `2⁶⁴ mod n`.
  public mutating func uniformInt(below n: Int) -> Int {
    precondition(n > 0, "uniformInt(below:) needs a positive bound")
    let bound = UInt64(n)
    var product = next().multipliedFullWidth(by: bound)
    if product.low < bound {
      let threshold = (0 &- bound) % bound
      while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
    }
    return Int(product.high)
  }

  /// A standard normal `Double` by Marsaglia's polar method.
  ///
  /// Draw u, v uniform in (−1, 1) from `2·uniformDouble() − 1` until s = u² + v² lies in (0, 1);
  /// return u·√(−2 ln s / s). The second normal v·√(…) is discarded so the generator carries no
  /// hidden spare; ln is ``DeterministicMath/log(_:)``, so the value does not depend on the host's
  /// libm (square root is IEEE correctly rounded).
  public mutating func normal() -> Double {
    while true {
      let u = 2 * uniformDouble() - 1
      let v = 2 * uniformDouble() - 1
      let s = u * u + v * v
      if s > 0 && s < 1 { return u * (-2 * DeterministicMath.log(s) / s).squareRoot() }
    }
  }

  /// A normal `Double` with the given mean and standard deviation: `mean + sd · normal()`.
  public mutating func normal(mean: Double, standardDeviation: Double) -> Double {
    mean + standardDeviation * normal()
  }

  /// Shuffles `values` in place by Fisher–Yates (Durstenfeld): for i from count−1 down to 1, swap
  /// element i with a uniform index in 0...i drawn by ``uniformInt(below:)``.
  public mutating func shuffle<T>(_ values: inout [T]) {
    guard values.count > 1 else { return }
    for i in stride(from: values.count - 1, through: 1, by: -1) {
      let j = uniformInt(below: i + 1)
      if i != j { values.swapAt(i, j) }
    }
  }

  /// `count` distinct integers of 0 ..< `n`, ascending: the first `count` of a ``shuffle(_:)`` of
  /// 0 ..< `n`, sorted.
  public mutating func choose(_ count: Int, below n: Int) -> [Int] {
    precondition(0 <= count && count <= n)
    var all = Array(0..<n)
    shuffle(&all)
    return all.prefix(count).sorted()
  }
}
