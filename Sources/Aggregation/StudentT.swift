import Foundation

/// Student's t distribution: the tail probabilities and quantiles paired comparisons need, to
/// about 1e-13 (checked against scipy.stats in the tests).
///
/// The distribution function comes from the regularized incomplete beta function,
/// P(|T| > t) = I_x(ν/2, 1/2) with x = ν / (ν + t²) (DLMF 8.17 and 26.7 of Abramowitz & Stegun),
/// evaluated by its continued fraction (DLMF 8.17.22) with the modified Lentz method; the quantile
/// inverts it by safeguarded Newton steps.
public enum StudentT {
  /// P(T ≤ t) with `degreesOfFreedom` ν > 0.
  public static func cdf(_ t: Double, degreesOfFreedom nu: Double) -> Double {
    precondition(nu > 0, "t needs positive degrees of freedom")
    if t.isNaN { return .nan }
    if t.isInfinite { return t > 0 ? 1 : 0 }
    let tail = upperTail(abs(t), nu)
    return t > 0 ? 1 - tail : tail
  }

  /// The two-sided p-value of `t`: P(|T| ≥ |t|), without cancellation for large |t|.
  public static func twoSidedP(_ t: Double, degreesOfFreedom nu: Double) -> Double {
    precondition(nu > 0, "t needs positive degrees of freedom")
    if t.isNaN { return .nan }
    if t.isInfinite { return 0 }
    return min(1, 2 * upperTail(abs(t), nu))
  }

  /// The density at `t`.
  public static func density(_ t: Double, degreesOfFreedom nu: Double) -> Double {
    let logNorm = lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * log(nu * Double.pi)
    return exp(logNorm - (nu + 1) / 2 * log1p(t * t / nu))
  }

  /// The `p`-quantile (0 < p < 1): the t with P(T ≤ t) = p.
  public static func quantile(_ p: Double, degreesOfFreedom nu: Double) -> Double {
    precondition(p > 0 && p < 1, "a quantile needs 0 < p < 1")
    if p == 0.5 { return 0 }
    // The quantile is odd in p − 1/2: solve in the upper half, where the tail is computed directly.
    if p < 0.5 { return -quantile(1 - p, degreesOfFreedom: nu) }
    let tail = 1 - p
    // Bracket: P(T > lo) > tail ≥ P(T > hi).
    var lo = 0.0
    var hi = 1.0
    while upperTail(hi, nu) > tail {
      lo = hi
      hi *= 2
      if hi > 1e300 { return .infinity }
    }
    var t = (lo + hi) / 2
    for _ in 0..<200 {
      let excess = upperTail(t, nu) - tail  // decreasing in t
      if excess > 0 { lo = t } else { hi = t }
      // Newton on the tail; a step that leaves the bracket is replaced by bisection.
      var next = t + excess / density(t, degreesOfFreedom: nu)
      if !(next > lo && next < hi) { next = (lo + hi) / 2 }
      if abs(next - t) <= 4 * Double.ulpOfOne * max(1, abs(t)) { return next }
      t = next
    }
    return t
  }

  /// P(T > t) for t ≥ 0: I_x(ν/2, 1/2) / 2 with x = ν / (ν + t²), and 1 − x = t² / (ν + t²) and
  /// both logarithms computed without forming x, so nothing cancels for large ν or small t.
  private static func upperTail(_ t: Double, _ nu: Double) -> Double {
    if t == 0 { return 0.5 }
    let ratio = t * t / nu
    let logX = -log1p(ratio)
    let logY = log(ratio) + logX
    return 0.5 * incompleteBeta(x: exp(logX), y: exp(logY), logX: logX, logY: logY, a: nu / 2, b: 0.5)
  }

  /// The regularized incomplete beta function I_x(a, b), a, b > 0, given x, y = 1 − x and their
  /// logarithms (0 < x < 1).
  static func incompleteBeta(x: Double, y: Double, logX: Double, logY: Double, a: Double, b: Double) -> Double
  {
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2); else use the symmetry
    // I_x(a, b) = 1 − I_{1−x}(b, a).
    if x > (a + 1) / (a + b + 2) {
      return 1 - incompleteBeta(x: y, y: x, logX: logY, logY: logX, a: b, b: a)
    }
    let logFront = a * logX + b * logY - logBeta(a, b)
    return exp(logFront) / a * continuedFraction(x, a: a, b: b)
  }

  /// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). With a large argument, ln Γ(big) − ln Γ(big +
  /// small) comes from Stirling's series written as a difference (DLMF 5.11.1), since the two
  /// logarithms are large and nearly equal (ν = 10⁵ would lose five digits).
  static func logBeta(_ a: Double, _ b: Double) -> Double {
    let (small, big) = (min(a, b), max(a, b))
    guard big >= 10 else { return lgamma(a) + lgamma(b) - lgamma(a + b) }
    let sum = big + small
    // (big − ½) ln big − (sum − ½) ln sum + small, without the cancellation.
    var ratio = -(big - 0.5) * log1p(small / big) - small * log(sum) + small
    // Σ B₂ₖ / (2k (2k − 1)) · (big^(1−2k) − sum^(1−2k)).
    let coefficients = [1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188]
    for (k, c) in coefficients.enumerated() {
      let power = Double(2 * k + 1)
      ratio += c * (pow(big, -power) - pow(sum, -power))
    }
    return lgamma(small) + ratio
  }

  /// 1 / (1 + d₁ / (1 + d₂ / (1 + ...))) of DLMF 8.17.22, by the modified Lentz method.
  private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
    let tiny = 1e-300
    var c = 1.0
    var d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var value = d
    for m in 1...10_000 {
      let m = Double(m)
      // The even step d_{2m}, then the odd step d_{2m+1}.
      for coefficient in [
        m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
        -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
      ] {
        d = 1 + coefficient * d
        if abs(d) < tiny { d = tiny }
        c = 1 + coefficient / c
        if abs(c) < tiny { c = tiny }
        d = 1 / d
        value *= d * c
      }
      if abs(d * c - 1) < 1e-16 { break }
    }
    return value
  }
}
