import Foundation

/// `112.3 ± 5.3`: a mean and its standard error as every table of MetaSweep writes them. The
/// standard error keeps two significant digits and the mean is rounded to the same decimal place,
/// so the digits shown are the digits the data support, the same way in every table (the summary,
/// the comparisons, the paper tables).
///
/// - A standard error of 0 (every seed agreed) writes the mean to four significant digits `± 0`.
/// - Without a standard error (one seed, or none finite) the mean alone, to four significant digits.
/// - Where fixed notation would need more than six zeros after the point, or a standard error above
///   10⁶, both share one power of ten: `(4.66 ± 0.53)e-07`.
/// - `scale` multiplies both first (100 for percent).
public func meanWithError(_ mean: Double, _ standardError: Double, scale: Double = 1) -> String {
  let mean = mean * scale
  let se = standardError * scale
  guard mean.isFinite, se.isFinite, se >= 0 else { return ReportNumber.short(mean, significant: 4) }
  guard se > 0 else { return ReportNumber.short(mean, significant: 4) + " ± 0" }
  let place = errorPlace(se)
  guard fixedNotationFits(place) else {
    let exponent = Int(log10(max(abs(mean), se)).rounded(.down))
    let decimals = max(0, exponent - place)
    let unit = pow(10, Double(exponent))
    return "(" + String(format: "%.\(decimals)f", mean / unit) + " ± "
      + String(format: "%.\(decimals)f", se / unit) + ")e" + String(format: "%+03d", exponent)
  }
  return fixed(mean, place: place) + " ± " + fixed(se, place: place)
}

/// `x` rounded to the decimal place ``meanWithError(_:_:scale:)`` would give a mean with this
/// standard error (three significant digits where it would use a power of ten).
public func roundedLike(_ x: Double, error se: Double) -> String {
  guard x.isFinite, se.isFinite, se > 0 else { return ReportNumber.short(x, significant: 4) }
  let place = errorPlace(se)
  return fixedNotationFits(place) ? fixed(x, place: place) : ReportNumber.short(x, significant: 3)
}

/// `[low, high]`, each end rounded like a mean with standard error `se` (``roundedLike(_:error:)``):
/// how every table writes a 95% interval.
public func intervalText(_ interval: ClosedRange<Double>, error se: Double) -> String {
  "[\(roundedLike(interval.lowerBound, error: se)), \(roundedLike(interval.upperBound, error: se))]"
}

/// The power of ten of the second significant digit of `se` (> 0) once rounded: -1 for 5.31, 0 for
/// 12, -1 for 9.96 (which rounds to 10).
private func errorPlace(_ se: Double) -> Int {
  let place = Int(log10(se).rounded(.down)) - 1
  return (se / pow(10, Double(place))).rounded() >= 100 ? place + 1 : place
}

/// Whether fixed notation at `place` stays short: at most six zeros after the point, numbers below 10⁸.
private func fixedNotationFits(_ place: Int) -> Bool { place >= -7 && place <= 5 }

/// `x` rounded at 10^`place`: decimals below 0, whole tens or hundreds above; never "-0".
private func fixed(_ x: Double, place: Int) -> String {
  let step = pow(10, Double(place))
  var text = String(format: "%.\(max(0, -place))f", place > 0 ? (x / step).rounded() * step : x)
  if text.hasPrefix("-") && text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { text.removeFirst() }
  return text
}
