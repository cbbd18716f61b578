/// The Bayes-optimal learner of a Boolean function drawn uniformly from an allowed set: after each
/// observed (x, y) it keeps the functions consistent with the history, and predicts for input x the
/// posterior mean, the fraction of consistent functions with f(x) = 1.
///
/// Under squared error this is the best any learner can do (notes/meta-experiments.md §2.4); for all
/// 16 functions it predicts 0.5 for an unseen pattern and the remembered bit otherwise.
public struct BooleanBayesPredictor: Sendable, Equatable {
  /// Bit f is set while function number f is still consistent with every observation.
  public private(set) var consistent: UInt16
  private let allowed: UInt16

  /// A learner that has seen nothing, with a uniform prior over the functions in `allowedMask`.
  public init(allowedMask: UInt16 = 0xFFFF) {
    precondition(allowedMask != 0, "the prior needs at least one function")
    allowed = allowedMask
    consistent = allowedMask
  }

  /// The functions f whose bit for pattern p = 2·x₁ + x₂ is 1, as a mask over function numbers.
  static func functionsWithOne(atPattern p: Int) -> UInt16 {
    var mask: UInt16 = 0
    for f in 0..<16 where (f >> p) & 1 == 1 { mask |= 1 << UInt16(f) }
    return mask
  }

  /// The posterior mean of f(x₁, x₂) for inputs in {0, 1}.
  public func prediction(_ x1: Int, _ x2: Int) -> Double {
    Self.prediction(consistent: consistent, pattern: 2 * x1 + x2)
  }

  static func prediction(consistent: UInt16, pattern: Int) -> Double {
    Double((consistent & functionsWithOne(atPattern: pattern)).nonzeroBitCount)
      / Double(consistent.nonzeroBitCount)
  }

  /// Conditions on f(x₁, x₂) = y.
  public mutating func observe(_ x1: Int, _ x2: Int, _ y: Int) {
    let ones = Self.functionsWithOne(atPattern: 2 * x1 + x2)
    consistent &= y == 1 ? ones : ~ones
    precondition(consistent != 0, "observation impossible under the prior")
  }

  /// Forgets everything (a known function switch).
  public mutating func reset() { consistent = allowed }

  /// The exact expected squared error of this learner at cycles 1…`cycles` of one function, for a
  /// function uniform over `allowedMask` and inputs uniform over the four patterns.
  ///
  /// Cycle t's error depends only on the function and the set S of patterns seen in the first
  /// t − 1 cycles, so E[e_t²] = Σ_f (1/|A|) Σ_S P_{t−1}(S) Σ_x ¼·(pred(S, f, x) − f(x))², with
  /// P_n(S) the law of the distinct patterns among n uniform draws (a 16-state Markov chain:
  /// stay with probability |S|/4, add each unseen pattern with probability ¼). For all 16 functions
  /// this is ¼·0.75^(t−1).
  public static func expectedSquaredError(cycles: Int, allowedMask: UInt16 = 0xFFFF) -> [Double] {
    let functions = (0..<16).filter { allowedMask >> UInt16($0) & 1 == 1 }
    // errorGiven[S] = E_f Σ_x ¼·(pred − f(x))² for seen set S.
    var errorGiven = [Double](repeating: 0, count: 16)
    for seen in 0..<16 {
      var total = 0.0
      for f in functions {
        var consistent: UInt16 = 0
        for g in functions {
          var agrees = true
          for p in 0..<4 where (seen >> p) & 1 == 1 && ((f >> p) & 1) != ((g >> p) & 1) { agrees = false }
          if agrees { consistent |= 1 << UInt16(g) }
        }
        for p in 0..<4 {
          let e = prediction(consistent: consistent, pattern: p) - Double((f >> p) & 1)
          total += 0.25 * e * e
        }
      }
      errorGiven[seen] = total / Double(functions.count)
    }
    var law = [Double](repeating: 0, count: 16)
    law[0] = 1
    var out: [Double] = []
    out.reserveCapacity(cycles)
    for _ in 0..<cycles {
      var e = 0.0
      for seen in 0..<16 { e += law[seen] * errorGiven[seen] }
      out.append(e)
      var next = [Double](repeating: 0, count: 16)
      for seen in 0..<16 where law[seen] > 0 {
        for p in 0..<4 { next[seen | (1 << p)] += 0.25 * law[seen] }
      }
      law = next
    }
    return out
  }

  /// The exact expected MSE over a sequence of `length` cycles whose function is redrawn every
  /// `segmentLength` cycles, for the learner told of each switch (the oracle-reset bound; in
  /// episodic mode pass `segmentLength` = `length`). All 16 functions, episodic: (1 − 0.75^L)/L.
  public static func expectedMeanSquaredError(length: Int, segmentLength: Int, allowedMask: UInt16 = 0xFFFF)
    -> Double
  {
    let perCycle = expectedSquaredError(cycles: min(length, segmentLength), allowedMask: allowedMask)
    var sum = 0.0
    for t in 0..<length { sum += perCycle[t % segmentLength] }
    return sum / Double(length)
  }
}
