/// Settings of the GEOFF task generator (geoff-spec.md §1); defaults are the paper's.
public struct GeoffTaskSettings: Sendable, Equatable {
  /// m, the number of binary inputs the learner sees (20); the target adds a constant bias input.
  public var inputs: Int = 20
  /// n, the number of linear threshold units of the target (1000); a bias feature is added.
  public var features: Int = 1000
  /// β, the threshold fraction: θⱼ = β·(m+1) − Sⱼ (0.6).
  public var beta: Double = 0.6
  /// The fraction of the n+1 output weights redrawn at each task switch (0.5, so ⌊0.5·1001⌋ = 500).
  public var changeFraction: Double = 0.5
  /// The standard deviation of the Gaussian noise added to every target (1).
  public var noiseStandardDeviation: Double = 1
  /// Examples per stage, each with fresh inputs and noise (5000).
  public var examplesPerTask: Int = 5000
  /// Stages: 3 plays A, B, C; 4 to 6 continue with exact replays of stages 1, 2, 3 (6 = the
  /// authors' script).
  public var stages: Int = 3

  public init() {}

  /// The number of distinct tasks generated: stages beyond the third replay earlier data.
  public var distinctTasks: Int { min(stages, 3) }
  /// ⌊changeFraction·(n+1)⌋, the number of output weights redrawn at a switch.
  public var redrawnWeights: Int { Int((changeFraction * Double(features + 1)).rounded(.down)) }
}

/// The fixed part of the GEOFF target network: U\*, the thresholds, and the bias feature.
///
/// U\* is (m+1) × (n+1); its column n belongs to the bias feature, which is forced to 1. LTU j is on when x̃·U\*ⱼ > θⱼ with θⱼ = β(m+1) − Sⱼ (strict), Sⱼ the number of −1
/// entries of column j counting the bias row.
public struct GeoffTarget: Sendable, Equatable {
  /// m, the binary inputs.
  public let inputs: Int
  /// n, the LTUs (the bias feature is index n).
  public let features: Int
  /// U\*, row-major (m+1) × (n+1), entries ±1; row m is the bias input, column n the bias feature.
  public let inputWeights: [Int8]
  /// θⱼ for each LTU j < n.
  public let thresholds: [Double]
  /// For LTU j, the inputs i < m with U\*ᵢⱼ = +1 as a bit mask (bit i).
  private let positiveMasks: [UInt32]
  /// U\*ₘⱼ, the bias input's weight into LTU j.
  private let biasWeights: [Int]
  /// Chunks of 16 units (LTUs, the bias feature, and padding) in the packed layouts.
  private let featureChunks: Int
  /// Partial pre-activations in chunks of 16 `Int8`: for input group g (inputs 4g to 4g+3) and
  /// each 4-bit pattern p of those inputs, the sum of U\*'s rows of the inputs set in p (group 0
  /// also adds the bias row), `featureChunks` chunks per (g, p); padding is 0. A pre-activation
  /// is the sum of one entry per group (wrapping `Int8` sums are exact: |x̃·U\*ⱼ| ≤ 33).
  private let groupSums: [SIMD16<Int8>]
  /// ⌈m/4⌉, the number of input groups of `groupSums`.
  private let groups: Int
  /// ⌊θⱼ⌋ + 1 per unit (for an integer pre-activation a, a > θⱼ exactly when a ≥ ⌊θⱼ⌋ + 1).
  private let packedMinimum: [SIMD16<Int8>]

  /// Draws U\* from `random`: entries in row-major order, each +1 or −1 from one fair bit.
  public init(inputs: Int, features: Int, beta: Double, random: inout RandomStream) {
    precondition(inputs >= 1 && inputs <= 32, "GEOFF packs inputs into 32 bits")
    self.inputs = inputs
    self.features = features
    var weights = [Int8](repeating: 0, count: (inputs + 1) * (features + 1))
    for k in weights.indices { weights[k] = random.fairBits(count: 1) == 1 ? 1 : -1 }
    inputWeights = weights
    var thresholds = [Double](repeating: 0, count: features)
    var masks = [UInt32](repeating: 0, count: features)
    var bias = [Int](repeating: 0, count: features)
    for j in 0..<features {
      var negatives = 0
      for i in 0...inputs {
        let u = weights[i * (features + 1) + j]
        if u < 0 { negatives += 1 }
        if i < inputs && u > 0 { masks[j] |= 1 << UInt32(i) }
      }
      thresholds[j] = beta * Double(inputs + 1) - Double(negatives)
      bias[j] = Int(weights[inputs * (features + 1) + j])
    }
    self.thresholds = thresholds
    positiveMasks = masks
    biasWeights = bias
    let chunks = (features + 1 + 15) / 16
    featureChunks = chunks
    var rows = [SIMD16<Int8>](repeating: .zero, count: (inputs + 1) * chunks)
    for i in 0...inputs {
      for j in 0..<features { rows[i * chunks + j / 16][j % 16] = weights[i * (features + 1) + j] }
    }
    let groups = (inputs + 3) / 4
    self.groups = groups
    var sums = [SIMD16<Int8>](repeating: .zero, count: groups * 16 * chunks)
    for g in 0..<groups {
      for pattern in 0..<16 {
        let entry = (g * 16 + pattern) * chunks
        for c in 0..<chunks {
          var a = g == 0 ? rows[inputs * chunks + c] : SIMD16<Int8>.zero
          for b in 0..<4 where (pattern >> b) & 1 == 1 && 4 * g + b < inputs {
            a &+= rows[(4 * g + b) * chunks + c]
          }
          sums[entry + c] = a
        }
      }
    }
    groupSums = sums
    var minimum = [SIMD16<Int8>](repeating: SIMD16(repeating: 127), count: chunks)
    for j in 0..<features { minimum[j / 16][j % 16] = Int8(clamping: Int(thresholds[j].rounded(.down)) + 1) }
    minimum[features / 16][features % 16] = -128
    packedMinimum = minimum
  }

  /// x̃·U\*ⱼ for the input bits `x` (bit i is input i) and LTU j.
  @inline(__always)
  public func preactivation(_ x: UInt32, feature j: Int) -> Int {
    // Entries are ±1: the dot product is (#active with +1) − (#active with −1) + bias weight.
    let positive = (x & positiveMasks[j]).nonzeroBitCount
    return 2 * positive - x.nonzeroBitCount + biasWeights[j]
  }

  /// φ\*(x): n+1 features, LTU j on iff x̃·U\*ⱼ > θⱼ, and the bias feature (index n) always 1.
  public func features(of x: UInt32) -> [Bool] {
    var phi = (0..<features).map { Double(preactivation(x, feature: $0)) > thresholds[$0] }
    phi.append(true)
    return phi
  }

  /// φ\*(x)·W\* exactly, for output weights `outputWeights` (n+1 entries, the last the bias's).
  public func output(_ x: UInt32, outputWeights: [Int8]) -> Int {
    output(x, packedWeights: pack(outputWeights))
  }

  /// W\* in the chunked layout ``output(_:packedWeights:)`` reads, padding weights 0.
  public func pack(_ outputWeights: [Int8]) -> [SIMD16<Int8>] {
    precondition(outputWeights.count == features + 1)
    var packed = [SIMD16<Int8>](repeating: .zero, count: featureChunks)
    for j in 0...features { packed[j / 16][j % 16] = outputWeights[j] }
    return packed
  }

  /// φ\*(x)·W\* for packed output weights: the pre-activations of all units are the bias row of
  /// U\* plus its active rows (summed four inputs at a time from `groupSums`), in 16-lane `Int8`
  /// chunks (|x̃·U\*ⱼ| ≤ 33 fits), compared with ⌊θⱼ⌋ + 1 (−128 for the bias feature, which
  /// always fires; 127 for padding, which never does).
  public func output(_ x: UInt32, packedWeights: [SIMD16<Int8>]) -> Int {
    let chunks = featureChunks
    let groups = self.groups
    // The fired weights, sign-extended to 16 bits: even lanes in `evenTotal`, odd in `oddTotal`.
    var evenTotal = SIMD8<Int16>.zero
    var oddTotal = SIMD8<Int16>.zero
    groupSums.withUnsafeBufferPointer { sums in
      packedMinimum.withUnsafeBufferPointer { minimum in
        packedWeights.withUnsafeBufferPointer { w in
          withUnsafeTemporaryAllocation(of: UnsafePointer<SIMD16<Int8>>.self, capacity: groups) { entries in
            for g in 0..<groups {
              let pattern = Int(truncatingIfNeeded: (x >> UInt32(4 * g)) & 15)
              entries[g] = sums.baseAddress! + (g * 16 + pattern) * chunks
            }
            let first = entries[0]
            for c in 0..<chunks {
              var a = first[c]
              for g in 1..<groups { a &+= entries[g][c] }
              let fired = SIMD16<Int8>.zero.replacing(with: w[c], where: a .>= minimum[c])
              // Widening by shifts (little-endian lanes): the generic widening is not inlined.
              let pairs = unsafeBitCast(fired, to: SIMD8<Int16>.self)
              evenTotal &+= (pairs &<< 8) &>> 8
              oddTotal &+= pairs &>> 8
            }
          }
        }
      }
    }
    // Wrapping sums mod 2¹⁶, in any grouping: the same Int16 as summing all sixteen lanes.
    return Int(evenTotal.wrappedSum() &+ oddTotal.wrappedSum())
  }
}

/// The examples of one stage: input bits and noisy targets.
public struct GeoffStageData: Sendable, Equatable {
  /// The m input bits of each example (bit i is input i); the learner sees only these.
  public var inputs: [UInt32]
  /// y\* = φ\*·W\* + noise, for each example.
  public var targets: [Double]
}

/// A full GEOFF problem: the target, the output weights of tasks A, B, C, and every stage's data.
public struct GeoffTask: Sendable, Equatable {
  public let settings: GeoffTaskSettings
  public let target: GeoffTarget
  /// W\* of each distinct task (A, B, C), n+1 entries in {−1, 0, +1}.
  public let outputWeights: [[Int8]]
  /// The data of each distinct task; stage s plays `taskData[s % 3]`.
  public let taskData: [GeoffStageData]

  /// Generates the problem from the run's "task" stream.
  ///
  /// Draw order: U\*; W\* of A (each uniform on {−1, 0, +1}); A's examples (per example the
  /// input bits, then the noise); then for B and C a Fisher–Yates shuffle of the n+1 indices, a
  /// redraw of the first ⌊f·(n+1)⌋ in shuffled order, and the task's examples.
  public init(settings: GeoffTaskSettings, random: inout RandomStream) {
    precondition(settings.stages >= 1 && settings.stages <= 6, "GEOFF has 1 to 6 stages")
    self.settings = settings
    let target = GeoffTarget(
      inputs: settings.inputs, features: settings.features, beta: settings.beta, random: &random)
    var weights = (0...settings.features).map { _ in Int8(random.uniformInt(below: 3) - 1) }
    var allWeights: [[Int8]] = []
    var data: [GeoffStageData] = []
    for task in 0..<settings.distinctTasks {
      if task > 0 {
        var order = Array(0...settings.features)
        random.shuffle(&order)
        for index in order.prefix(settings.redrawnWeights) {
          weights[index] = Int8(random.uniformInt(below: 3) - 1)
        }
      }
      allWeights.append(weights)
      let packed = target.pack(weights)
      var stage = GeoffStageData(inputs: [], targets: [])
      stage.inputs.reserveCapacity(settings.examplesPerTask)
      stage.targets.reserveCapacity(settings.examplesPerTask)
      for _ in 0..<settings.examplesPerTask {
        let x = UInt32(random.fairBits(count: settings.inputs))
        let noise = settings.noiseStandardDeviation * random.normal()
        stage.inputs.append(x)
        stage.targets.append(Double(target.output(x, packedWeights: packed)) + noise)
      }
      data.append(stage)
    }
    self.target = target
    outputWeights = allWeights
    taskData = data
  }

  /// The task with the run's "task" stream of root seed `seed`.
  public init(settings: GeoffTaskSettings, seed: UInt64) {
    var random = RandomStream(rootSeed: seed, stream: "task")
    self.init(settings: settings, random: &random)
  }

  /// The data played in 0-based stage `stage` (stages 3, 4, 5 replay 0, 1, 2 exactly).
  public func data(stage: Int) -> GeoffStageData { taskData[stage % 3] }
}
