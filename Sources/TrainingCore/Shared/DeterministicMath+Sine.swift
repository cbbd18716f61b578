extension DeterministicMath {
  /// sin(2πt) for a finite `t` counted in turns, within a few ulp, from +, −, ×, ⌊⌋ only.
  ///
  /// Turns reduce exactly: r = t − ⌊t⌋ in [0, 1), n = round(4r) and f = r − n/4 in [−1/8, 1/8]
  /// are exact in `Double`, so no π enters the reduction. With x = 2πf (|x| ≤ π/4), sin(2πt) is
  /// sin x, cos x, −sin x or −cos x for n mod 4 = 0, 1, 2, 3, each by its Taylor series to x¹⁵ or
  /// x¹⁶ (truncation below 10⁻¹⁶ there).
  public static func sinTurns(_ t: Double) -> Double {
    let r = t - t.rounded(.down)
    let n = (4 * r).rounded(.toNearestOrAwayFromZero)
    let x = (r - n / 4) * (2 * Double.pi)
    let x2 = x * x
    let sine =
      x
      * (1 - x2 / 6
        * (1 - x2 / 20
          * (1 - x2 / 42 * (1 - x2 / 72 * (1 - x2 / 110 * (1 - x2 / 156 * (1 - x2 / 210)))))))
    let cosine =
      1 - x2 / 2
      * (1 - x2 / 12
        * (1 - x2 / 30
          * (1 - x2 / 56 * (1 - x2 / 90 * (1 - x2 / 132 * (1 - x2 / 182 * (1 - x2 / 240)))))))
    switch Int(n) & 3 {
    case 0: return sine
    case 1: return cosine
    case 2: return -sine
    default: return -cosine
    }
  }

  /// cos(2πt) for a finite `t` counted in turns: ``sinTurns(_:)`` a quarter turn on.
  public static func cosTurns(_ t: Double) -> Double { sinTurns(t + 0.25) }
}
