/// Running mean and variance of a stream of numbers (Welford, 1962), stable in one pass.
///
/// After each value x: `n += 1; δ = x − mean; mean += δ / n; M2 += δ · (x − mean)`.
/// The sample variance is `M2 / (n − 1)` and the standard error of the mean `sd / √n`.
///
/// With fewer than two values the spread is unknown, so ``variance``, ``standardDeviation`` and
/// ``standardError`` are NaN (never a misleading 0); with none, ``mean`` is NaN too. Tables print such
/// a cell as the mean alone with its `n=1`, curves draw no band there, and the CSV writes `NaN`.
/// A value that is not finite (NaN or infinite: a diverged run, a metric that does not apply) does
/// not enter the mean or n; it is counted in ``nonFinite``, which every table shows beside n, so
/// divergence shows without hiding the runs that converged.
public struct Welford: Sendable, Equatable {
  /// How many finite values were added.
  public private(set) var count: Int = 0
  /// How many values were NaN or infinite (left out of the mean and of ``count``).
  public private(set) var nonFinite: Int = 0
  private var runningMean: Double = 0
  /// Sum of squared differences from the current mean.
  public private(set) var m2: Double = 0

  public init() {}

  public init<S: Sequence>(_ values: S) where S.Element == Double {
    for x in values { add(x) }
  }

  public mutating func add(_ x: Double) {
    guard x.isFinite else {
      nonFinite += 1
      return
    }
    count += 1
    let delta = x - runningMean
    runningMean += delta / Double(count)
    m2 += delta * (x - runningMean)
  }

  /// The mean of the values seen, or NaN when there were none.
  public var mean: Double { count == 0 ? .nan : runningMean }

  /// The sample variance (divisor n − 1), or NaN with fewer than two values.
  public var variance: Double { count < 2 ? .nan : m2 / Double(count - 1) }

  /// The sample standard deviation, or NaN with fewer than two values.
  public var standardDeviation: Double { variance.squareRoot() }

  /// The standard error of the mean, `sd / √n`, or NaN with fewer than two values.
  public var standardError: Double { count < 2 ? .nan : standardDeviation / Double(count).squareRoot() }

  /// Mean, standard error and n as one value.
  public var estimate: Estimate {
    Estimate(mean: mean, standardError: standardError, count: count, nonFinite: nonFinite)
  }
}

/// A mean over seeds with its standard error and the number of seeds it rests on.
public struct Estimate: Sendable, Equatable {
  /// The mean, NaN when ``count`` is 0.
  public var mean: Double
  /// Sample standard deviation (n − 1) over √n; NaN when ``count`` < 2.
  public var standardError: Double
  /// How many runs reported a finite value.
  public var count: Int
  /// How many runs reported NaN or an infinity (not in ``mean`` or ``count``).
  public var nonFinite: Int

  public init(mean: Double, standardError: Double, count: Int, nonFinite: Int = 0) {
    self.mean = mean
    self.standardError = standardError
    self.count = count
    self.nonFinite = nonFinite
  }

  public static func == (a: Estimate, b: Estimate) -> Bool {
    // NaN cells are equal when they are NaN in the same places: tables compare as data.
    a.count == b.count && a.nonFinite == b.nonFinite && a.mean.bitPattern == b.mean.bitPattern
      && a.standardError.bitPattern == b.standardError.bitPattern
  }
}
