/// The mean difference between two variants' values of one metric, seed by seed, with its 95%
/// confidence interval: the paired comparison a claim such as "crossprop moves U less than
/// backprop" needs, since runs with the same seed share their initial weights and data order.
///
/// Only seeds where both values are finite count. The interval is mean ± t₀.₉₇₅,ₙ₋₁ · SE, Student's
/// t with n − 1 degrees of freedom (``studentTQuantile975(degreesOfFreedom:)``).
public struct PairedDifference: Sendable, Equatable {
  /// The differences (first − second), seed by seed.
  public let differences: Welford

  /// The differences `first[seed] − second[seed]` over the seeds both have.
  public init(_ first: [UInt64: Double], minus second: [UInt64: Double]) {
    differences = Welford(
      first.keys.sorted().compactMap { seed in second[seed].map { first[seed]! - $0 } })
  }

  /// Seeds compared.
  public var count: Int { differences.count }
  /// The mean difference.
  public var mean: Double { differences.mean }
  /// The standard error of the mean difference (NaN with fewer than two seeds).
  public var standardError: Double { differences.standardError }

  /// The 95% confidence interval of the mean difference (NaN ends with fewer than two seeds).
  public var interval: ClosedRange<Double>? {
    guard count >= 2, standardError.isFinite else { return nil }
    let half = Self.studentTQuantile975(degreesOfFreedom: count - 1) * standardError
    return (mean - half)...(mean + half)
  }

  /// What the interval says about "first − second < 0" (`expectNegative`) or "> 0".
  public enum Verdict: String, Sendable {
    /// The whole interval is on the claimed side.
    case holds
    /// The whole interval is on the other side.
    case contradicted = "does not hold"
    /// The interval contains 0 (or there are fewer than two seeds).
    case unresolved = "not resolved"
  }

  /// Whether the interval puts the difference on the side a claim expects.
  public func verdict(expectNegative: Bool) -> Verdict {
    guard let interval else { return .unresolved }
    if expectNegative ? interval.upperBound < 0 : interval.lowerBound > 0 { return .holds }
    if expectNegative ? interval.lowerBound > 0 : interval.upperBound < 0 { return .contradicted }
    return .unresolved
  }

  /// t₀.₉₇₅ of Student's t with `df` ≥ 1 degrees of freedom (``StudentT/quantile(_:degreesOfFreedom:)``).
  public static func studentTQuantile975(degreesOfFreedom df: Int) -> Double {
    precondition(df >= 1, "t needs at least one degree of freedom")
    return StudentT.quantile(0.975, degreesOfFreedom: Double(df))
  }
}
