#if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
  import _Builtin_intrinsics.intel
#endif

/// Elementary functions built only from +, −, ×, ÷, √ and bit operations.
///
/// IEEE 754 rounds those exactly, so results do not depend on the host's libm (glibc, musl and
/// Darwin disagree in the last bit of `log` and `tanh`), and the SIMD forms vectorise.
public enum DeterministicMath {
  /// Natural logarithm of a positive, finite, normal `x`, accurate to about 1 ulp.
  ///
  /// Writes x = 2ᵉ·m with m in [√½, √2), then ln m = 2·atanh(f) with f = (m − 1)/(m + 1),
  /// |f| ≤ 0.1716, summing the odd series f + f³/3 + … to f²³/23 (the next term is below 2⁻⁶⁰),
  /// and adds e·ln 2 in two parts.
  public static func log(_ x: Double) -> Double {
    precondition(x > 0 && x.isFinite && x.isNormal, "log needs a positive normal number")
    var exponent = Int(x.exponent)
    var m = x.significand  // in [1, 2)
    if m > 1.4142135623730951 {
      m *= 0.5
      exponent += 1
    }
    let f = (m - 1) / (m + 1)
    let f2 = f * f
    var series = 1.0 / 23
    for k in stride(from: 21, through: 1, by: -2) { series = 1 / Double(k) + f2 * series }
    let lnM = 2 * f * series
    let e = Double(exponent)
    // ln 2 split so that e·ln2High is exact for |e| < 2^11.
    let ln2High = 0.693_147_180_369_123_816_49
    let ln2Low = 1.908_214_929_270_587_700_02e-10
    return e * ln2High + (lnM + e * ln2Low)
  }

  /// tanh of eight `Float`s at once, within about 2 ulp of the true value (tests check this
  /// against Foundation's `tanh`).
  ///
  /// With t = 2|x| clamped to 40 (beyond which tanh is 1 in `Float`):
  /// e^t − 1 = 2ᵏ(1 + p) − 1, where k = round(t/ln 2), r = t − k·ln 2 (Cody–Waite, two parts),
  /// |r| ≤ ln2/2, and p = e^r − 1 by its Taylor polynomial to r⁸ (truncation below 2⁻³⁰
  /// relative). Then tanh|x| = (e^t − 1)/(e^t − 1 + 2), which keeps full relative accuracy near 0
  /// because for k = 0 the numerator is p itself, and the sign of x is copied back.
  @inline(__always)
  public static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
    let signBits = bits & 0x8000_0000
    let magnitude = unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    let doubled = magnitude + magnitude
    // min(doubled, 40) lane-wise (a NaN stays NaN, as with `pointwiseMin`), without the generic call.
    let t = doubled.replacing(with: 40, where: doubled .> 40)
    // Adding 1.5·2²³ rounds t/ln2 to the nearest integer (ties to even) in the low mantissa bits.
    let magic: Float = 12_582_912
    let shifted = t * 1.442_695_04 + magic
    let k = shifted - magic
    let kBits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- magic.bitPattern
    let r = (t - k * 0.693_145_751_953_125) - k * 1.428_606_765_330_187_045e-6
    var p = r * (1 / 40320) + (1 / 5040)
    p = p * r + (1 / 720)
    p = p * r + (1 / 120)
    p = p * r + (1 / 24)
    p = p * r + (1 / 6)
    p = p * r + 0.5
    p = (p * r) * r + r
    let scale = unsafeBitCast((kBits &+ 127) &<< 23, to: SIMD8<Float>.self)
    let expm1 = scale * p + (scale - 1)
    let result = expm1 / (expm1 + 2)
    return unsafeBitCast(unsafeBitCast(result, to: SIMD8<UInt32>.self) | signBits, to: SIMD8<Float>.self)
  }

  /// √x of eight `Float`s, correctly rounded (IEEE 754), so bit-identical to `Float.squareRoot()`
  /// lane by lane.
  ///
  /// On Linux the standard library's `Float.squareRoot()` (and so `SIMD8.squareRoot()`) goes
  /// through C's `sqrtf` with errno semantics: each lane becomes a scalar `sqrtss` plus a compare
  /// and a branch to the library for negative input, which blocks vectorisation. On x86-64 this
  /// uses SSE's `sqrtps` (two instructions for eight lanes) instead; elsewhere the lane-wise form.
  @inline(__always)
  public static func squareRoot(_ x: SIMD8<Float>) -> SIMD8<Float> {
    #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
      return SIMD8(lowHalf: _mm_sqrt_ps(x.lowHalf), highHalf: _mm_sqrt_ps(x.highHalf))
    #else
      return x.squareRoot()
    #endif
  }

  /// tanh of one `Float`: lane 0 of the SIMD form, so scalar and vector results are identical.
  public static func tanh(_ x: Float) -> Float { tanh(SIMD8<Float>(repeating: x))[0] }

  /// The logistic sigmoid of eight `Float`s, σ(x) = ½(1 + tanh(x/2)), through ``tanh(_:)-(SIMD8<Float>)``
  /// so it inherits its host independence (x/2 is exact).
  @inline(__always)
  public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 0.5 * (1 + tanh(0.5 * x)) }

  /// σ(x) of one `Float`: lane 0 of the SIMD form.
  public static func sigmoid(_ x: Float) -> Float { sigmoid(SIMD8<Float>(repeating: x))[0] }

  /// tanh of a `Double`, within a few ulp, from +, −, ×, ÷ only (used by the `Double` reference
  /// network of the gradient checks and by the semi-linear task family).
  ///
  /// The `Float` recipe in `Double`: t = min(2|x|, 40) (beyond, tanh differs from 1 by less than
  /// 1e-17, below half an ulp), k = round(t/ln 2), r = t − k·ln 2 in two parts (|r| ≤ ln2/2),
  /// e^r − 1 by its Taylor polynomial to r¹⁴ (truncation below 2⁻⁵⁵ relative), then
  /// tanh|x| = (e^t − 1)/(e^t − 1 + 2) with the sign copied back.
  public static func tanh(_ x: Double) -> Double {
    let magnitude = Swift.abs(x)
    let t = Swift.min(magnitude + magnitude, 40)
    let k = (t * 1.442_695_040_888_963_4).rounded(.toNearestOrEven)
    let r = (t - k * 0.693_147_180_369_123_816_49) - k * 1.908_214_929_270_587_700_02e-10
    var p = 1.0 / 87_178_291_200  // 1/14!
    var factorial = 87_178_291_200.0
    for n in stride(from: 13, through: 2, by: -1) {
      factorial /= Double(n + 1)
      p = p * r + 1 / factorial
    }
    p = (p * r) * r + r
    let scale = Double(sign: .plus, exponent: Int(k), significand: 1)
    let expm1 = scale * p + (scale - 1)
    let result = expm1 / (expm1 + 2)
    return x < 0 ? -result : result
  }

  /// σ(x) = ½(1 + tanh(x/2)) of a `Double`.
  public static func sigmoid(_ x: Double) -> Double { 0.5 * (1 + tanh(0.5 * x)) }
}
