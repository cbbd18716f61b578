/// A family of functions f: [x₁, x₂] → y the LSTM meta-learns to learn (Younger, Hochreiter and
/// Conwell 2001, Table 1; notes/meta-experiments.md §2.1).
public enum FunctionFamily: String, Sendable, Equatable, CaseIterable {
  /// One of the 16 two-input Boolean functions, uniform; x ∈ {0, 1}² uniform; y = f(x) ∈ {0, 1}.
  case boolean
  /// y = ½(1 + tanh(w₁x₁ + w₂x₂ + w₃)), w ~ U[−1, 1]³; x ~ U[−1, 1]².
  case semilinear
  /// y = a x₁² + b x₂² + c x₁x₂ + d x₁ + e x₂ + f, a…f ~ U[−1, 1], x ~ U[−1, 1]², rescaled per
  /// function (PD `perFunction`) so its minimum and maximum over the 21×21 grid {−1, −0.9, …, 1}²
  /// map to 0.2 and 0.8.
  case quadratic

  /// Cycles-to-learn thresholds τ of the spec (§2.1): 0.1/0.2/0.3 for Boolean, 0.02/0.05/0.1 for
  /// the continuous families.
  public var learnedThresholds: [Double] { self == .boolean ? [0.1, 0.2, 0.3] : [0.02, 0.05, 0.1] }

  /// The threshold whose median cycles-to-learn is the headline: 0.2 (Boolean) or 0.05.
  public var headlineThreshold: Double { self == .boolean ? 0.2 : 0.05 }
}

/// How functions follow each other inside one sequence.
public enum SequenceMode: String, Sendable, Equatable, CaseIterable {
  /// One function per sequence; the network state is reset at its start.
  case episodic
  /// A new function every `segmentLength` cycles inside one long sequence, no state reset, and the
  /// fed-back target carries across the switch (paper Fig. 3).
  case stream
}

/// One drawn function of a family, evaluable at any input.
public enum DrawnFunction: Sendable, Equatable {
  /// Boolean function number `index`: bit 2·x₁ + x₂ of `index` is f(x₁, x₂) (so 6 is XOR, 9 XNOR,
  /// 1 is NOR, 8 is AND).
  case boolean(index: Int)
  /// ½(1 + tanh(w₁x₁ + w₂x₂ + w₃)).
  case semilinear(w1: Double, w2: Double, w3: Double)
  /// The rescaled quadratic 0.2 + 0.6·(q(x) − low)/(high − low), q with coefficients
  /// (a, b, c, d, e, f) and `low`, `high` its extremes on the grid (exactly 0.2 and 0.8 there).
  case quadratic(coefficients: [Double], low: Double, high: Double)

  /// XOR's number in the Boolean family.
  public static let xorIndex = 6
  /// XNOR's number in the Boolean family.
  public static let xnorIndex = 9
  /// The Boolean functions' names by number, for figures: `6 XOR`, `11 x₁→x₂` (false only at
  /// x₁ = 1, x₂ = 0).
  public static let booleanNames = [
    "0 FALSE", "1 NOR", "2 ¬x₁∧x₂", "3 ¬x₁", "4 x₁∧¬x₂", "5 ¬x₂", "6 XOR", "7 NAND", "8 AND", "9 XNOR",
    "10 x₂", "11 x₁→x₂", "12 x₁", "13 x₂→x₁", "14 OR", "15 TRUE",
  ]

  /// The target at input (x₁, x₂).
  public func callAsFunction(_ x1: Double, _ x2: Double) -> Double {
    switch self {
    case .boolean(let index):
      return Double((index >> (2 * Int(x1) + Int(x2))) & 1)
    case .semilinear(let w1, let w2, let w3):
      return DeterministicMath.sigmoid(2 * (w1 * x1 + w2 * x2 + w3))
    case .quadratic(let k, let low, let high):
      guard high > low else { return 0.5 }
      return 0.2 + 0.6 * ((Self.quadratic(k, x1, x2) - low) / (high - low))
    }
  }

  static func quadratic(_ k: [Double], _ x1: Double, _ x2: Double) -> Double {
    k[0] * x1 * x1 + k[1] * x2 * x2 + k[2] * x1 * x2 + k[3] * x1 + k[4] * x2 + k[5]
  }

  /// The grid point i of {−1, −0.9, …, 1} (i in 0...20), computed as (i − 10)/10 so it is exact
  /// to rounding.
  public static func gridPoint(_ i: Int) -> Double { Double(i - 10) / 10 }
}

/// The function family, the sequence layout and which Boolean functions may be drawn.
public struct SequenceSettings: Sendable, Equatable, Hashable {
  /// The family (boolean).
  public var family: FunctionFamily = .boolean
  /// Episodic or stream (episodic).
  public var mode: SequenceMode = .episodic
  /// Cycles per function in stream mode (64); ignored in episodic mode.
  public var segmentLength: Int = 64
  /// The Boolean functions that may be drawn, as a 16-bit mask (all 16); `boolean-B14` clears
  /// XOR and XNOR.
  public var booleanFunctionMask: UInt16 = 0xFFFF

  public init() {}

  /// The Boolean function numbers allowed by ``booleanFunctionMask``, ascending.
  public var allowedBooleanFunctions: [Int] { (0..<16).filter { booleanFunctionMask >> UInt16($0) & 1 == 1 } }
}

/// One sequence: cycle-major inputs (x₁_t, x₂_t, y_{t−1}) with y₀ = 0.5, targets y_t, and the
/// function of each segment.
public struct MetaSequence: Sendable, Equatable {
  /// 3·length values: x₁, x₂ and the previous target of each cycle.
  public var inputs: [Float]
  /// The target y_t of each cycle (never an input at cycle t).
  public var targets: [Float]
  /// The function of each segment, in order (one in episodic mode).
  public var functions: [DrawnFunction]
  /// Cycles per segment (the whole length in episodic mode).
  public var segmentLength: Int

  /// Cycles in the sequence.
  public var length: Int { targets.count }

  /// Draws the sequence of `length` cycles from `random`: per segment, first the function, then per
  /// cycle x₁ and x₂ (Boolean: one fair bit each; continuous: 2u − 1 of one `uniformDouble` each).
  public init(settings: SequenceSettings, length: Int, random: inout RandomStream) {
    precondition(length >= 1, "a sequence needs at least one cycle")
    let segment = settings.mode == .episodic ? length : max(1, settings.segmentLength)
    var inputs = [Float](repeating: 0, count: 3 * length)
    var targets = [Float](repeating: 0, count: length)
    var functions: [DrawnFunction] = []
    var function = DrawnFunction.boolean(index: 0)
    var previous: Float = 0.5
    for t in 0..<length {
      if t % segment == 0 {
        function = Self.draw(settings, &random)
        functions.append(function)
      }
      let x1: Double
      let x2: Double
      if settings.family == .boolean {
        let bits = random.fairBits(count: 2)
        x1 = Double(bits >> 1)
        x2 = Double(bits & 1)
      } else {
        x1 = 2 * random.uniformDouble() - 1
        x2 = 2 * random.uniformDouble() - 1
      }
      let y = Float(function(x1, x2))
      inputs[3 * t] = Float(x1)
      inputs[3 * t + 1] = Float(x2)
      inputs[3 * t + 2] = previous
      targets[t] = y
      previous = y
    }
    self.inputs = inputs
    self.targets = targets
    self.functions = functions
    self.segmentLength = segment
  }

  /// Sequence `index` of training step `step`, from the stream (`seed`, "seq", [step, index]): any
  /// step's batch is reproducible without drawing the others.
  public static func training(settings: SequenceSettings, length: Int, seed: UInt64, step: Int, index: Int)
    -> MetaSequence
  {
    var random = RandomStream(rootSeed: seed, stream: "seq", indices: [UInt64(step), UInt64(index)])
    return MetaSequence(settings: settings, length: length, random: &random)
  }

  /// Test sequence `index`, from the stream (`seed`, "test", [index]).
  public static func test(settings: SequenceSettings, length: Int, seed: UInt64, index: Int) -> MetaSequence {
    var random = RandomStream(rootSeed: seed, stream: "test", indices: [UInt64(index)])
    return MetaSequence(settings: settings, length: length, random: &random)
  }

  /// Validation sequence `index`, from the stream (`seed`, "validation", [index]).
  public static func validation(settings: SequenceSettings, length: Int, seed: UInt64, index: Int)
    -> MetaSequence
  {
    var random = RandomStream(rootSeed: seed, stream: "validation", indices: [UInt64(index)])
    return MetaSequence(settings: settings, length: length, random: &random)
  }

  /// One function of the family: Boolean uniform over the allowed numbers (``RandomStream/uniformInt(below:)``);
  /// semi-linear w₁, w₂, w₃ each 2u − 1; quadratic a…f each 2u − 1, then rescaled by its grid
  /// minimum and maximum (a constant function, which has probability 0, maps to 0.5).
  public static func draw(_ settings: SequenceSettings, _ random: inout RandomStream) -> DrawnFunction {
    switch settings.family {
    case .boolean:
      let allowed = settings.allowedBooleanFunctions
      return .boolean(index: allowed[random.uniformInt(below: allowed.count)])
    case .semilinear:
      let w1 = 2 * random.uniformDouble() - 1
      let w2 = 2 * random.uniformDouble() - 1
      let w3 = 2 * random.uniformDouble() - 1
      return .semilinear(w1: w1, w2: w2, w3: w3)
    case .quadratic:
      let k = (0..<6).map { _ in 2 * random.uniformDouble() - 1 }
      var low = Double.infinity
      var high = -Double.infinity
      for i in 0...20 {
        for j in 0...20 {
          let q = DrawnFunction.quadratic(k, DrawnFunction.gridPoint(i), DrawnFunction.gridPoint(j))
          low = min(low, q)
          high = max(high, q)
        }
      }
      return .quadratic(coefficients: k, low: low, high: high)
    }
  }

  /// Calls `body` with the inputs and targets as buffers.
  public func withUnsafeBuffers<R>(_ body: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>) -> R) -> R
  {
    inputs.withUnsafeBufferPointer { x in targets.withUnsafeBufferPointer { y in body(x, y) } }
  }
}
